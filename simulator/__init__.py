"""smsc-sim: an SMSC simulator (SMPP 3.4 server) for testing the smsgw gateway.

A separate product that only speaks SMPP: it never imports the gateway. The protocol —
codec and the SMSC session — is the shared sans-IO package `smpp`; the SMSC logic is
sans-IO too (`smsc`), and a thin asyncio layer (`server`) plus an HTTP control API
(`control`, guarded by `guard`), the testers' web page (`console`, `web/`) and a CLI
(`cli`) drive it.
"""

from __future__ import annotations

from .config import SimulatorConfig

__all__ = ["SimulatorConfig"]
