"""Entry point for ``python -m pslrepl``."""

from __future__ import annotations

import sys

from pslrepl.cli import main

if __name__ == "__main__":
    sys.exit(main())
