"""What the owner of an SMSC session gives it: its settings and two callbacks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .bodies import Body

__all__ = ["Authenticator", "PduObserver", "SmscConfig"]

Authenticator = Callable[[str, str], int]
"""(system_id, password) → command_status (0 = accepted)."""

PduObserver = Callable[[str, int, int, int, Body], None]
"""(direction "in"/"out", command_id, command_status, sequence, decoded body or None)."""


@dataclass(frozen=True, slots=True)
class SmscConfig:
    smsc_system_id: str = "SMSCSIM"
    max_pdu_size: int = 65536
    mo_window: int = 10  # deliver_sm we may have outstanding
    submit_window: int = 1000  # submit_sm the peer may have awaiting our response
    response_timeout: float = 30.0  # for deliver_sm_resp (then DeliverTimedOut) and unbind_resp
    enquire_link_interval: float = 30.0  # we ping after this long without a PDU from the peer
    idle_timeout: float = 90.0  # and close after this long
    bind_timeout: float = 30.0  # an open connection must bind within this
