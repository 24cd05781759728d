"""pslrepl: an interactive playground shell for Python's IPC and networking standard library."""

from __future__ import annotations

__version__ = "0.1.0"
