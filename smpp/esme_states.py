"""The ESME side of the session state machine, as tables (cf. h11/_state.py).

The bind states and their transitions are shared with the SMSC side
(`states.TRANSITIONS`); what is the ESME's own lives here: which requests an
SMSC may send us in which state (and what we answer otherwise), which responses
we read in which state, and the timers of each state. `esme_session.py` only
looks these tables up.

    open ──bind_*_resp ok──▶ bound_* ──unbind (theirs)──▶ unbound ──▶ closed
      │                        └──unbind (ours)──▶ unbinding ──unbind_resp──▶ unbound
      └──bind_*_resp error──▶ closed       any state ──close──▶ closed
"""

from __future__ import annotations

from .constants import Command, Status
from .states import BIND_TRIGGERS, BOUND, CAN_RECEIVE, CAN_SUBMIT, State

__all__ = [
    "BIND_RESPONSES",
    "ESME_ADMISSION",
    "ESME_RESPONSES",
    "NO_RESPONSE",
    "PINGS_IN",
    "REQUEST_NAMES",
    "RESPONSE_TO",
]

_ALIVE = frozenset(State) - {State.CLOSED}


def _verdicts(accepted: frozenset[State]) -> dict[State, int | None]:
    """Per live state: None (admitted) or the status to answer with."""
    return {state: None if state in accepted else Status.ESME_RINVBNDSTS for state in _ALIVE}


# Requests an SMSC may send an ESME: admitted (None) or answered with this status, per state.
ESME_ADMISSION: dict[int, dict[State, int | None]] = {
    Command.DELIVER_SM: _verdicts(CAN_RECEIVE),
    Command.ENQUIRE_LINK: _verdicts(_ALIVE),
    Command.UNBIND: _verdicts(BOUND | {State.UNBINDING}),
}

# Requests that take no response (SMPP 3.4 §4.12.1: alert_notification); read and ignored.
NO_RESPONSE = frozenset({Command.ALERT_NOTIFICATION, Command.OUTBIND})

# Responses an SMSC may send, and the states in which they are read (else ignored).
ESME_RESPONSES: dict[int, frozenset[State]] = {
    Command.BIND_TRANSMITTER_RESP: frozenset({State.OPEN}),
    Command.BIND_RECEIVER_RESP: frozenset({State.OPEN}),
    Command.BIND_TRANSCEIVER_RESP: frozenset({State.OPEN}),
    Command.SUBMIT_SM_RESP: CAN_SUBMIT | {State.UNBINDING, State.UNBOUND},
    Command.ENQUIRE_LINK_RESP: _ALIVE,
    Command.UNBIND_RESP: frozenset({State.UNBINDING}),
    Command.GENERIC_NACK: _ALIVE,
}

# The response each request we send is answered with.
RESPONSE_TO: dict[int, int] = {
    Command.BIND_TRANSMITTER: Command.BIND_TRANSMITTER_RESP,
    Command.BIND_RECEIVER: Command.BIND_RECEIVER_RESP,
    Command.BIND_TRANSCEIVER: Command.BIND_TRANSCEIVER_RESP,
    Command.SUBMIT_SM: Command.SUBMIT_SM_RESP,
    Command.ENQUIRE_LINK: Command.ENQUIRE_LINK_RESP,
    Command.UNBIND: Command.UNBIND_RESP,
}

# States in which the session sends enquire_link when the link is idle.
PINGS_IN = BOUND

BIND_RESPONSES = frozenset({Command.BIND_TRANSMITTER_RESP, Command.BIND_RECEIVER_RESP, Command.BIND_TRANSCEIVER_RESP})
# The requests whose response has a deadline, by name (for the reason a link is closed).
REQUEST_NAMES = {Command.ENQUIRE_LINK: "enquire_link", Command.UNBIND: "unbind", **dict.fromkeys(BIND_TRIGGERS, "bind")}
