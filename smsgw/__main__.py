"""`python -m smsgw` = `smsgw` (the demo starts its processes this way)."""

from __future__ import annotations

from .cli import main

main()
