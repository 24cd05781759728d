"""What a command hands back: plain data that render.py turns into styled lines."""

from __future__ import annotations

Fragment = tuple[str, str]  # (style class, text)
Line = list[Fragment]
Cell = str | Fragment


def volatile(text: str, placeholder: str, style: str = "") -> Fragment:
    """A value that changes from run to run (an age, a port): shown as ``text``, written
    to a transcript as ``{placeholder}``. The marker rides on the style class."""
    return (f"{style}@{placeholder}", text)


class Text:
    """A message; several lines allowed. ``style`` is a class from style.py."""

    __slots__ = ("text", "style")

    def __init__(self, text: str, style: str = "") -> None:
        self.text = text
        self.style = style


class Styled:
    """One line made of differently styled pieces."""

    __slots__ = ("fragments",)

    def __init__(self, fragments: tuple[Fragment, ...]) -> None:
        self.fragments = fragments


class Output:
    """Bytes a child or peer produced, shown per ``set display`` unless ``mode`` is given."""

    __slots__ = ("data", "stream", "mode", "highlight")

    def __init__(
        self,
        data: bytes,
        stream: str = "stdout",
        *,
        mode: str | None = None,
        highlight: tuple[int, int] | None = None,
    ) -> None:
        self.data = data
        self.stream = stream
        self.mode = mode
        self.highlight = highlight


class Table:
    """Rows under headers; a cell is text or (style, text)."""

    __slots__ = ("headers", "rows", "empty", "min_widths")

    def __init__(
        self,
        headers: tuple[str, ...],
        rows: list[list[Cell]],
        empty: str = "(none)",
        *,
        min_widths: dict[int, int] | None = None,
    ) -> None:
        self.headers = headers
        self.rows = rows
        self.empty = empty
        # Columns of values whose width varies between runs (a pid) get a fixed minimum,
        # so the rest of the table lines up the same way every time.
        self.min_widths = min_widths or {}


class Fields:
    """``key: value`` pairs, as ``info`` shows them."""

    __slots__ = ("pairs",)

    def __init__(self, pairs: list[tuple[str, Cell]]) -> None:
        self.pairs = pairs


Result = Text | Styled | Output | Table | Fields
