"""`python -m simulator` = `smsc-sim`."""

from __future__ import annotations

from .cli import main

main()
