"""Colours by class name: the one place that picks them (logic only names classes)."""

from __future__ import annotations

# Values use prompt_toolkit's style syntax; output.py turns the same strings into
# ANSI for plain printing, so the terminal, the prompt and the toolbar agree.
STYLES: dict[str, str] = {
    "error": "ansired bold",
    "warning": "ansiyellow",
    "notice": "ansibrightblack",
    "ok": "ansigreen",
    "name": "ansicyan bold",
    "kind": "ansimagenta",
    "stdout": "",
    "stderr": "ansired",
    "event": "ansibrightblack",
    "event.name": "ansicyan",
    "header": "bold underline",
    "key": "ansibrightblack",
    "value": "",
    "match": "ansigreen bold",
    "command": "ansiblue bold",
    "option": "ansiyellow",
    "example": "ansigreen",
    "calls": "ansimagenta",
    "note": "ansicyan italic",  # a pitfall's lesson, said once as it happens
    "explain": "ansimagenta",  # explain's lines of Python: never wrapped (render.py)
    "hex.offset": "ansibrightblack",
    "hex.ascii": "ansicyan",
    "state.running": "ansigreen",
    "state.exited": "ansiyellow",
    "state.failed": "ansired",
    "state.closed": "ansibrightblack",
    "prompt": "ansicyan bold",
    "bottom-toolbar": "noreverse bg:ansiblack ansiwhite",
    "bottom-toolbar.name": "ansicyan bold",
    "bottom-toolbar.dim": "ansibrightblack",
    "psl.command": "ansiblue bold",
    "psl.name": "ansicyan",
    "psl.option": "ansiyellow",
    "psl.string": "ansigreen",
    "psl.number": "ansimagenta",
    "psl.comment": "ansibrightblack italic",
    "psl.punct": "bold",
    "psl.error": "ansired",  # where a command should be, a word that is none (yet)
}

_COLOURS = {
    "black": 30, "red": 31, "green": 32, "yellow": 33, "blue": 34, "magenta": 35,
    "cyan": 36, "gray": 37, "white": 37, "brightblack": 90, "brightred": 91,
    "brightgreen": 92, "brightyellow": 93, "brightblue": 94, "brightmagenta": 95,
    "brightcyan": 96, "brightwhite": 97,
}  # fmt: skip
_ATTRS = {"bold": 1, "italic": 3, "underline": 4, "reverse": 7}


def sgr(style: str) -> str:
    """The ANSI SGR parameters for a style string ('ansired bold' -> '31;1')."""
    codes: list[str] = []
    for word in style.split():
        if word in _ATTRS:
            codes.append(str(_ATTRS[word]))
        elif word.startswith("bg:ansi") and word[7:] in _COLOURS:
            codes.append(str(_COLOURS[word[7:]] + 10))
        elif word.startswith("ansi") and word[4:] in _COLOURS:
            codes.append(str(_COLOURS[word[4:]]))
    return ";".join(codes)
