"""A transcript's captures ({?NAME} in an expected line: a port a child chose, a token it
printed) in an exported script: the command's shown output is matched as replay matches
it, and each later use of the value is the script's own, not the session's."""

from __future__ import annotations

import re

from pslrepl.export.script import _STRING, indented, literal

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pslrepl.export.script import Script
    from pslrepl.invocation import CommandRecord


def patterns(lines: list[str]) -> list[tuple[str, dict[str, str]]]:
    """For the expected lines that capture: (the line as a regular expression, its
    capture groups -> their names), as replay matches them."""
    from pslrepl.transcript.matching import _placeholder_regex, captures

    found = []
    for line in lines:
        caught = {name for _, _, name, _ in captures(line)}
        if not caught:
            continue
        pattern, groups = _placeholder_regex(line, {})
        found.append((pattern, {g: n for g, n in groups.items() if n in caught}))
    return found


def bind(script: Script, record: CommandRecord, since: int) -> None:
    """The command's code (from ``since``) with what it prints kept, then matched: each
    capture is a variable of the script, bound from its own run."""
    found = record.values.get("captures") or []
    code = script.body[since:]
    del script.body[since:]
    script.imp("contextlib", "io", "re")
    script.add("# what it shows holds values later commands use (the transcript's captures)",
               "with contextlib.redirect_stdout(io.StringIO()) as said:", indented("\n".join(code)),
               'print(said.getvalue(), end="")')  # fmt: skip
    values = record.values.get("captured") or {}
    for pattern, groups in found:
        line = f"found = re.search({'^' + pattern + '$'!r}, said.getvalue(), re.MULTILINE)"
        if len(line) > 96:
            line = (f"found = re.search(\n    {literal('^' + pattern + '$', indent=4)},\n"
                    "    said.getvalue(),\n    re.MULTILINE,\n)")  # fmt: skip
        script.add(line)
        for group, name in groups.items():
            var = "captured_" + name.replace("-", "_")
            script.add(f"{var} = found.group({group!r})  # {{?{name}}}")
            if isinstance(values.get(name), str):
                script.captured[name] = (var, values[name])


def own_values(script: Script, since: int) -> None:
    """The lines from ``since`` with each captured value the session had written as the
    script's own: in a string an f-string part, in bytes its encoding, a number int()."""
    for var, value in script.captured.values():
        if len(value) < 3:
            continue  # too short to tell from other text
        for at in range(since, len(script.body)):
            line = script.body[at]
            if value in line and not line.lstrip().startswith("#"):
                script.body[at] = _rewritten(line, var, value)


def _rewritten(line: str, var: str, value: str) -> str:
    out, pos = [], 0
    for m in _STRING.finditer(line):
        out.append(_bare(line[pos : m.start()], var, value))
        prefix, body = m.group(1), m.group(2)
        if value not in body:
            out.append(m.group(0))
        elif "b" in prefix.lower():
            quote = body[0]
            parts = body[1:-1].split(value)
            pieces = [f"{prefix}{quote}{p}{quote}" if p else "" for p in parts]
            joined = f" + {var}.encode() + ".join(pieces)
            joined = joined.removeprefix(" + ").removesuffix(" + ")
            out.append(joined)  # (in a call's parentheses, as exporters write data)
        else:
            if "f" not in prefix.lower():
                body = body.replace("{", "{{").replace("}", "}}")
                prefix += "f"
            out.append(prefix + body.replace(value, "{" + var + "}"))
        pos = m.end()
    out.append(_bare(line[pos:], var, value))
    return "".join(out)


def _bare(code: str, var: str, value: str) -> str:
    """A number outside a string (a port in a tuple) as int() of the captured text."""
    if not value.isdigit():
        return code
    return re.sub(rf"(?<![\w.]){re.escape(value)}(?![\w.])", f"int({var})", code)
