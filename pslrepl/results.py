"""What a command hands back: plain data that render.py turns into styled lines."""

from __future__ import annotations

from dataclasses import dataclass, field

Fragment = tuple[str, str]  # (style class, text)
Line = list[Fragment]
Cell = str | Fragment


@dataclass(frozen=True)
class Text:
    """A message; several lines allowed. ``style`` is a class from style.py."""

    text: str
    style: str = ""


@dataclass(frozen=True)
class Styled:
    """One line made of differently styled pieces."""

    fragments: tuple[Fragment, ...]


@dataclass(frozen=True)
class Output:
    """Bytes a child or peer produced, shown per ``set display`` unless ``mode`` is given."""

    data: bytes
    stream: str = "stdout"
    mode: str | None = None
    highlight: tuple[int, int] | None = None


@dataclass(frozen=True)
class Table:
    """Rows under headers; a cell is text or (style, text)."""

    headers: tuple[str, ...]
    rows: list[list[Cell]] = field(default_factory=list)
    empty: str = "(none)"


@dataclass(frozen=True)
class Fields:
    """``key: value`` pairs, as ``info`` shows them."""

    pairs: list[tuple[str, str]]


Result = Text | Styled | Output | Table | Fields
