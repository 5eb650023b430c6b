"""The SMPP session state machine, as tables: the bind states and the SMSC side's rules.

Everything that decides an SMSC session's state, or whether a request is admitted in a
state, lives here (cf. h11/_state.py); `smsc_session.py` only looks these tables up. The
bind states are SMPP 3.4 §2.3's and are the same on the ESME side, whose tables live
with its session.

    open ──bind ok──▶ bound_tx | bound_rx | bound_trx ──unbind (theirs)──▶ unbound ──▶ closed
                                    └──unbind (ours)──▶ unbinding ──unbind_resp──▶ unbound
    any state ──close (transport lost, bad length, timeout, fault)──▶ closed
"""

from __future__ import annotations

import enum

from .constants import Command, Status

__all__ = [
    "BIND_TRIGGERS",
    "BOUND",
    "CAN_RECEIVE",
    "CAN_SUBMIT",
    "SMSC_ADMISSION",
    "SMSC_RESPONSES",
    "TRANSITIONS",
    "State",
    "Trigger",
    "next_state",
]


class State(enum.Enum):
    OPEN = "open"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"  # we sent unbind and wait for unbind_resp
    UNBOUND = "unbound"  # unbind exchanged; the connection is closed next
    CLOSED = "closed"


class Trigger(enum.Enum):
    BIND_TX = "bind_transmitter accepted"
    BIND_RX = "bind_receiver accepted"
    BIND_TRX = "bind_transceiver accepted"
    UNBIND_RECEIVED = "unbind received and answered"
    UNBIND_SENT = "unbind sent"
    UNBIND_RESP_RECEIVED = "unbind_resp received"
    CLOSE = "connection closed"


BOUND = frozenset({State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX})
CAN_SUBMIT = frozenset({State.BOUND_TX, State.BOUND_TRX})
CAN_RECEIVE = frozenset({State.BOUND_RX, State.BOUND_TRX})
_ALIVE = frozenset(State) - {State.CLOSED}

TRANSITIONS: dict[tuple[State, Trigger], State] = {
    (State.OPEN, Trigger.BIND_TX): State.BOUND_TX,
    (State.OPEN, Trigger.BIND_RX): State.BOUND_RX,
    (State.OPEN, Trigger.BIND_TRX): State.BOUND_TRX,
    **{(s, Trigger.UNBIND_RECEIVED): State.UNBOUND for s in BOUND | {State.UNBINDING}},
    **{(s, Trigger.UNBIND_SENT): State.UNBINDING for s in BOUND},
    (State.UNBINDING, Trigger.UNBIND_RESP_RECEIVED): State.UNBOUND,
    **{(s, Trigger.CLOSE): State.CLOSED for s in _ALIVE},
}

BIND_TRIGGERS: dict[int, Trigger] = {
    Command.BIND_TRANSMITTER: Trigger.BIND_TX,
    Command.BIND_RECEIVER: Trigger.BIND_RX,
    Command.BIND_TRANSCEIVER: Trigger.BIND_TRX,
}


def _verdicts(accepted: frozenset[State], **others: int) -> dict[State, int | None]:
    """Per state: None (admitted) or the status to answer with (default ESME_RINVBNDSTS)."""
    table: dict[State, int | None] = {}
    for state in _ALIVE:
        table[state] = None if state in accepted else Status.ESME_RINVBNDSTS
    for name, status in others.items():
        table[State[name]] = status
    return table


_BIND = _verdicts(
    frozenset({State.OPEN}),
    BOUND_TX=Status.ESME_RALYBND,
    BOUND_RX=Status.ESME_RALYBND,
    BOUND_TRX=Status.ESME_RALYBND,
)

# Requests an ESME may send: whether each is admitted in each live state.
SMSC_ADMISSION: dict[int, dict[State, int | None]] = {
    Command.BIND_TRANSMITTER: _BIND,
    Command.BIND_RECEIVER: _BIND,
    Command.BIND_TRANSCEIVER: _BIND,
    Command.SUBMIT_SM: _verdicts(CAN_SUBMIT),
    Command.UNBIND: _verdicts(BOUND | {State.UNBINDING}),
    Command.ENQUIRE_LINK: _verdicts(_ALIVE),
}

# Responses an ESME may send, and the states in which they are read (else ignored).
SMSC_RESPONSES: dict[int, frozenset[State]] = {
    Command.DELIVER_SM_RESP: CAN_RECEIVE | {State.UNBINDING, State.UNBOUND},
    Command.ENQUIRE_LINK_RESP: _ALIVE,
    Command.UNBIND_RESP: frozenset({State.UNBINDING}),
    Command.GENERIC_NACK: _ALIVE,
}


def next_state(state: State, trigger: Trigger) -> State:
    """The state after `trigger`; a pair missing from the table is a bug (KeyError)."""
    return TRANSITIONS[(state, trigger)]
