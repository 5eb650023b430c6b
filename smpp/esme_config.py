"""What an ESME session is told: who binds, how, and its windows and timers."""

from __future__ import annotations

from dataclasses import dataclass

from .constants import Command

__all__ = ["EsmeConfig"]


@dataclass(frozen=True, slots=True)
class EsmeConfig:
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    bind_command: int = Command.BIND_TRANSCEIVER
    max_pdu_size: int = 70_000  # message_payload can carry 64 KiB
    window: int = 10  # submit_sm in flight at most
    submit_timeout: float = 15.0
    enquire_link_interval: float | None = 30.0  # None: the transport keeps the link alive
    response_timeout: float = 30.0  # for bind, enquire_link and unbind responses; then the link is dead
    probe_after: float = 0.5  # a deliver_sm_resp not known read this long: send enquire_link
