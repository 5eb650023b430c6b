"""The gateway's Prometheus metrics (prometheus-client), on a registry of its own.

What they are and what to alert on is in docs/operations.md. Counters and
histograms are updated as things happen; the gauges that need the database
(outbox depth, pending confirmations) are refreshed by ``refresh`` every few
seconds, never on the scrape itself.

Labels take only values from small fixed sets: ``short_code`` is one of the
configured short codes or ``other`` (an MO sent to a phone number must not
become a series of its own, nor put the number in the metrics); a receipt's
``stat`` is a standard one or ``other``.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from grammar import PASSWORD_SHORT_CODE, SOS_SHORT_CODE

__all__ = ["RECEIPT_STATS", "SHORT_CODES", "Metrics", "receipt_stat_label", "short_code_label"]

#: The short codes the gateway serves: the only values of the ``short_code`` label besides ``other``.
SHORT_CODES = frozenset({PASSWORD_SHORT_CODE, SOS_SHORT_CODE})


#: Receipt ``stat`` values of SMPP 3.4 Appendix B: the only values of the ``stat`` label besides ``other``.
RECEIPT_STATS = frozenset({"DELIVRD", "EXPIRED", "DELETED", "UNDELIV", "ACCEPTD", "UNKNOWN", "REJECTD", "ENROUTE"})


def receipt_stat_label(stat: str) -> str:
    """The ``stat`` label of a receipt: a standard stat, or ``other`` (an SMSC may write anything there)."""
    return stat if stat in RECEIPT_STATS else "other"


def short_code_label(destination: str) -> str:
    """The ``short_code`` label of an MO sent to *destination*: a configured short code, or ``other``."""
    code = destination.strip()
    return code if code in SHORT_CODES else "other"


# Up to 5 minutes (the promise is a top-up within 5): a p99 above 60 s must be visible as such.
_LATENCY = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.mo = Counter(
            "smsgw_mo",
            "MOs processed, by short code, command and outcome",
            ["short_code", "command", "outcome"],
            registry=r,
        )
        self.mo_parts = Counter("smsgw_mo_parts", "Parts of long MOs received and stored", registry=r)
        self.mt = Counter(
            "smsgw_mt", "Replies reaching a state (submitted, failed, expired, delivered…)", ["state"], registry=r
        )
        self.submits = Counter("smsgw_submits", "submit_sm written (parts, resubmissions included)", registry=r)
        self.submit_status = Counter(
            "smsgw_submit_responses", "submit_sm responses by command_status", ["status"], registry=r
        )
        self.receipts = Counter("smsgw_receipts", "Delivery receipts by stat", ["stat"], registry=r)
        self.throttled = Counter("smsgw_throttled", "submit_sm answered ESME_RTHROTTLED or ESME_RMSGQFUL", registry=r)
        self.resubmits = Counter("smsgw_resubmits", "Parts submitted again (timeout, lost link)", registry=r)
        self.reconnects = Counter("smsgw_binds", "Successful binds (the first, then every reconnect)", registry=r)
        self.bind_refused = Counter("smsgw_bind_refused", "Binds the SMSC refused", ["status"], registry=r)
        self.link_lost = Counter("smsgw_link_lost", "SMPP connections lost", registry=r)
        self.mo_commit = Histogram(
            "smsgw_mo_commit_seconds", "From reading a deliver_sm to its commit", buckets=_LATENCY, registry=r
        )
        self.mo_reply = Histogram(
            "smsgw_mo_reply_accepted_seconds",
            "From reading an MO to the SMSC accepting its first reply",
            buckets=_LATENCY,
            registry=r,
        )
        self.bound = Gauge("smsgw_bound", "1 while bound to the SMSC", registry=r)
        self.outbox = Gauge("smsgw_outbox_depth", "Replies not yet accepted by the SMSC", ["state"], registry=r)
        self.pending = Gauge("smsgw_pending_confirmations", "Monthly requests waiting for JA", registry=r)
        self.in_flight = Gauge("smsgw_mo_in_flight", "MOs being processed (not yet acknowledged)", registry=r)
        self.outstanding = Gauge("smsgw_submits_outstanding", "submit_sm awaiting a response", registry=r)
        # The limits the two gauges above are held to ([smpp] mo_window, window): for "stuck at the limit" alerts.
        self.mo_window = Gauge("smsgw_mo_window", "MOs processed at once at most ([smpp] mo_window)", registry=r)
        self.submit_window = Gauge("smsgw_submit_window", "submit_sm outstanding at most ([smpp] window)", registry=r)
        # Several instances on one database: replies of a dead instance sent by another.
        self.takeovers = Counter(
            "smsgw_takeovers", "Replies taken over from an instance whose heartbeat stopped", registry=r
        )
        self.takeover_seconds = Histogram(
            "smsgw_takeover_seconds",
            "From a dead instance's last heartbeat to another taking its replies over",
            buckets=(1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 300.0),
            registry=r,
        )
        self.maybe_duplicates = Counter(
            "smsgw_maybe_duplicate_parts",
            "Parts written again that may already have reached the SMSC (their sender died with them in flight)",
            registry=r,
        )
        self.batches = Counter(
            "smsgw_batches", "Batch transactions committed (MOs, receipts, submit results)", registry=r
        )
        for state in ("queued", "sending"):
            self.outbox.labels(state)

    def render(self) -> bytes:
        return generate_latest(self.registry)
