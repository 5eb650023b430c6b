"""smsgw: an SMS command gateway (SMPP 3.4 ESME) for My LMT password (1640) and SOS-SMS (1643)."""

from __future__ import annotations

__version__ = "0.1.0"
