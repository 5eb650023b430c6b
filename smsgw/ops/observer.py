"""Turning what the gateway does into metrics: events as they happen, gauges every few seconds."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from typing import Any

import structlog

from ..db.database import Database
from ..db.uow import SqlUnitOfWork
from .metrics import Metrics, receipt_stat_label, short_code_label

__all__ = ["Observer"]

log = structlog.get_logger("smsgw.ops")


class Observer:
    """Receives the gateway's events (``__call__``) and keeps ``metrics`` current.

    Events: ``("mo", (MoResult, seconds))`` per MO processed (redeliveries too);
    ``("mo_part", count)`` per part of a long MO stored; ``("replies_expired",
    count)`` for replies the outbox expired unsent (at claim); ``("reply_accepted",
    ClaimedReply)``; ``("bound", binds)``, ``("bind_refused", status name)``,
    ``("link_lost", None)``, ``("unbound", by)``, ``("batch", MOs)`` per batch committed.
    """

    def __init__(self, metrics: Metrics, *, max_tracked: int = 100_000) -> None:
        self.metrics = metrics
        self._started: OrderedDict[str, float] = OrderedDict()  # mo_id -> when its deliver_sm was read
        self._max_tracked = max_tracked
        self._seen: dict[str, int] = {}
        self._mo_counters: dict[tuple[str, str | None, str], Any] = {}  # label children, looked up once each

    def _mo_counter(self, destination: str, command: str | None, outcome: str) -> Any:
        key = (short_code_label(destination), command, outcome)
        counter = self._mo_counters.get(key)
        if counter is None:  # labels are bounded (short codes, commands, outcomes): so is this dict
            counter = self._mo_counters[key] = self.metrics.mo.labels(key[0], command or "none", outcome)
        return counter

    def __call__(self, event: str, value: Any) -> None:
        m = self.metrics
        if event == "mo":
            result, seconds = value
            self._mo_counter(result.source, result.command, result.outcome).inc()
            m.mo_commit.observe(seconds)
            if result.replies and not result.redelivery:
                self._started[result.mo_id] = time.monotonic() - seconds
                while len(self._started) > self._max_tracked:
                    self._started.popitem(last=False)
        elif event == "mo_part":
            m.mo_parts.inc(value or 1)
        elif event == "replies_expired":  # expired in the database before any sender took them
            m.mt.labels("expired").inc(value)
        elif event == "reply_accepted":
            m.mt.labels("submitted").inc()
            started = self._started.pop(value.mo_id, None) if value.mo_id else None
            if started is not None:
                m.mo_reply.observe(time.monotonic() - started)
        elif event == "bound":
            m.reconnects.inc()
            m.bound.set(1)
        elif event == "bind_refused":
            m.bind_refused.labels(str(value)).inc()
            m.bound.set(0)
        elif event in ("link_lost", "unbound"):
            m.link_lost.inc()
            m.bound.set(0)
        elif event == "takeover":
            m.takeovers.inc(value.replies)
            if value.silent_for is not None:
                m.takeover_seconds.observe(value.silent_for)
        elif event == "batch":  # committed, with this many MOs
            m.batches.inc()
        elif event == "maybe_duplicate":
            m.maybe_duplicates.inc()

    def _delta(self, key: str, total: int) -> int:
        before = self._seen.get(key, 0)
        self._seen[key] = total
        return max(0, total - before)

    def sync(self, gateway: Any) -> None:
        """Counters kept by the sender and the receipts, and the in-memory gauges."""
        m = self.metrics
        stats = gateway.sender.stats
        m.submits.inc(self._delta("submits", stats.submitted))
        m.throttled.inc(self._delta("throttled", stats.throttled))
        m.resubmits.inc(self._delta("resubmits", stats.resubmitted))
        m.mt.labels("failed").inc(self._delta("failed", stats.failed))
        m.mt.labels("expired").inc(self._delta("expired", stats.expired))
        for status, count in stats.by_status.items():
            m.submit_status.labels(status).inc(self._delta(f"status:{status}", count))
        for stat, count in gateway.receipts.by_stat.items():
            m.receipts.labels(receipt_stat_label(stat)).inc(self._delta(f"receipt:{stat}", count))
        smpp = gateway.app.config.smpp
        m.mo_window.set(smpp.mo_window)
        m.submit_window.set(smpp.window)
        m.bound.set(1 if gateway.link.bound else 0)
        m.in_flight.set(gateway.inbound.in_flight)
        m.outstanding.set(gateway.sender.outstanding)

    async def refresh(self, gateway: Any, db: Database, interval: float = 5.0) -> None:
        """Forever: sync, and read the database gauges (outbox depth, pending confirmations)."""
        while True:
            try:
                self.sync(gateway)

                async def read(uow: SqlUnitOfWork) -> tuple[dict[str, int], int]:
                    return await uow.outbox.depth(), await uow.pending.count()

                depth, pending = await db.read(read)
                for state in ("queued", "sending"):
                    self.metrics.outbox.labels(state).set(depth.get(state, 0))
                self.metrics.pending.set(pending)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("metrics_refresh_failed")
            await asyncio.sleep(interval)
