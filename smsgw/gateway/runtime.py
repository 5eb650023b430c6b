"""``smsgw run``: start up, serve until SIGTERM/SIGINT, shut down within a second.

Phases (as uvicorn names them): **startup** — this instance's replies from a
previous life are due again, long MOs whose parts were all stored are picked up
by the batches, PostgreSQL's statistics refreshed; **main loop** — the
transport under a supervisor (aiosmpplib connects, binds, reconnects; our
session core runs each connection), the batch pipeline, the scheduler and the
operations HTTP server; **shutdown** — stop taking MOs, commit what is in
flight, let outstanding submits be answered briefly, give unsent replies back
to the queue, unbind, all bounded so that it ends within about a second in
every state (bound, connecting, backing off, mid-batch).

One MO flows one way through one process: bytes → the session's ``MoReceived``
→ the inbound side's job in the next batch → the batch commits → the
deliver_sm_resp is written → the sender submits the replies through the
session's window → ``SubmitAnswered`` and receipts ride in later batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from datetime import UTC, datetime
from typing import Any

import structlog

from handlers.credentials import new_temporary_password
from smpp.esme_events import (
    Bound,
    DeliverRejected,
    EsmeEvent,
    LinkLost,
    MoReceived,
    ReceiptReceived,
    ResponsesRead,
    SubmitAnswered,
    SubmitTimedOut,
    Unbound,
)
from smpp.esme_session import EsmeConfig

from ..batch.jobs import Batch, BatchResult, Decision, MoJob
from ..bootstrap import App
from ..db.outbox import ClaimedReply
from ..logs import mask_text, subscriber_fields
from ..mo import MoResult
from ..ops.email import EmailSender
from ..ops.http import OpsServer
from ..ops.metrics import Metrics
from ..ops.observer import Observer
from .confirmations import Confirmations
from .inbound import Inbound
from .link import SmppLink
from .parts import HeldPart
from .pipeline import Pipeline
from .scheduler import Scheduler
from .sender import Sender
from .transport import AiosmpplibTransport

__all__ = ["Gateway"]

_NONE: frozenset[int] = frozenset()
_FIRST = frozenset({1})

log = structlog.get_logger("smsgw.runtime")


class _Receipts:
    """What the metrics read of the receipts (``by_stat``)."""

    def __init__(self, inbound: Inbound) -> None:
        self.by_stat = inbound.receipts_by_stat


class Gateway:
    def __init__(
        self,
        app: App,
        *,
        log_handler: logging.Handler | None = None,
        scheduler_interval: float = 30.0,
        metrics_interval: float = 5.0,
    ) -> None:
        config = app.config
        smpp = config.smpp
        self.app = app
        self.metrics = Metrics()
        self.observer = Observer(self.metrics)
        self._metrics_interval = metrics_interval
        self.link = SmppLink(
            EsmeConfig(
                system_id=smpp.system_id,
                window=smpp.window,
                submit_timeout=smpp.submit_timeout,
                enquire_link_interval=smpp.enquire_link_interval,
                response_timeout=smpp.socket_timeout,
            ),
            self._on_events,
        )
        self.ops = OpsServer(self.metrics, bound=lambda: self.link.bound, host=config.http.host, port=config.http.port)
        self.email = EmailSender(app.db, config.email) if config.email.enabled else None
        self.sender = Sender(
            self.link,
            app.service.sealer,
            owner=app.instance,
            registered_delivery=smpp.registered_delivery,
            throttle_backoff=smpp.throttle_backoff,
            takeover=config.outbox.takeover,
            on_event=self.observer,
        )
        self.confirmations = Confirmations()
        self.inbound = Inbound(
            self.link,
            self.confirmations,
            mo_id_tag=smpp.mo_message_id_tag,
            confirm_within=smpp.confirm_within,
            window=smpp.mo_window,
            prepare_password=self._prepare_password,
            on_decided=self._mo_decided,
            on_part=lambda: self.observer("mo_part", 1),
        )
        self.receipts = _Receipts(self.inbound)
        self.link.room = self.inbound.room.wait
        self.pipeline = Pipeline(
            app.runner,
            self.link,
            self.inbound,
            self.sender,
            self.confirmations,
            on_batch=lambda batch, result, seconds: self.observer("batch", len(batch.mos)),
        )
        self.transport = AiosmpplibTransport(
            smpp, self.link, self.link.sequences, log_handler=log_handler, on_bind_refused=self._bind_refused
        )
        self.scheduler = Scheduler(app.service, runner=app.runner, interval=scheduler_interval)
        self._stopping = False
        self.failed = False  # a task died: the process exits non-zero
        self._tasks: list[asyncio.Task[None]] = []
        self.binds = 0

    # --- the session's events ---------------------------------------------------------------------

    def _on_events(self, events: list[EsmeEvent]) -> None:
        now, wall = self.link.now(), datetime.now(UTC)
        for event in events:
            if isinstance(event, MoReceived):
                self.inbound.on_mo(event, wall)
            elif isinstance(event, ReceiptReceived):
                self.inbound.on_receipt(event)
            elif isinstance(event, SubmitAnswered):
                assert isinstance(event.ref, HeldPart)
                self.sender.on_answered(event.ref, event.status, event.message_id, now)
            elif isinstance(event, SubmitTimedOut):
                assert isinstance(event.ref, HeldPart)
                self.sender.on_timed_out(event.ref)
            elif isinstance(event, ResponsesRead):
                self.inbound.on_read(event.tags, now)
            elif isinstance(event, DeliverRejected):
                log.warning("deliver_sm_malformed", reason=event.reason, sequence=event.sequence)
            elif isinstance(event, Bound):
                self.binds += 1
                log.info(
                    "smpp_bound",
                    host=self.transport.smsc_host,
                    port=self.transport.smsc_port,
                    system_id=self.transport.system_id,
                    binds=self.binds,
                )
                self.observer("bound", self.binds)
            elif isinstance(event, Unbound):
                if event.by == "smsc":
                    log.warning("smpp_unbind_by_smsc", action="reconnect")
                else:
                    log.info("smpp_unbound")
                self.observer("unbound", event.by)
            elif isinstance(event, LinkLost):
                self._link_lost(event)
        self.pipeline.wake()
        self.sender.pump(now, wall)

    def _link_lost(self, event: LinkLost) -> None:
        if not self._stopping:
            log.warning("smpp_link_lost", reason=event.reason, unanswered_submits=len(event.unanswered))
        if event.unread:
            log.info("acks_unconfirmed_at_link_loss", count=len(event.unread))
        self.sender.on_link_lost(event.unanswered)
        self.observer("link_lost", None)

    def _bind_refused(self, status: str) -> None:
        self.observer("bind_refused", status)

    def _mo_decided(self, job: MoJob, decision: Decision, result: BatchResult, seconds: float) -> None:
        wall = result.decided_at or datetime.now(UTC)
        if decision.reply_positions:
            expires = wall + self.app.service.reply_validity
            claimed = []
            for p, m in zip(decision.reply_positions, decision.replies, strict=True):
                reply_id = result.reply_ids[p]
                first = _FIRST if reply_id in result.first_parts_recorded else _NONE
                claimed.append(
                    ClaimedReply(reply_id, job.id, job.destination, m.to, m.text, None, 1, expires, _NONE, _NONE, first)
                )
            self.sender.take(claimed, [m.text for m in decision.replies])
        if self.email is not None and decision.outcome == "password_issued":
            self.email.notify()
        mo_result = MoResult(
            decision.mo_id,
            decision.outcome,
            decision.command,
            decision.replies,
            job.destination,
            redelivery=decision.copy_of is not None,
        )
        log.info(  # the fields bind_mo would bind, given directly: one line, no context to set and clear
            "mo_processed",
            mo_id=decision.mo_id,
            short_code=mask_text(job.destination),
            **subscriber_fields(job.source),
            command=decision.command,
            outcome=decision.outcome,
            replies=len(decision.replies),
            redelivery=decision.copy_of is not None,
            latency_ms=round(seconds * 1000, 2),
            commit=result.commit or None,  # None: a copy answered from memory, no transaction
        )
        self.observer("mo", (mo_result, seconds))

    async def _prepare_password(self) -> Any:
        service = self.app.service
        return await asyncio.to_thread(new_temporary_password, service.rules.password_length, n=service.scrypt_n)

    # --- phases -------------------------------------------------------------------------------------

    async def startup(self) -> None:
        runner = self.app.runner
        await runner.store.analyze()
        # Recovered MOs first: their replies are born claimed by this instance, whose sender does not
        # hold them; taking this instance's claims back next makes them due with the rest.
        recovered = await self.app.service.recover(runner)
        if recovered:
            log.info("long_mos_recovered", count=recovered)
        result = await runner.run(Batch(reclaim_own=self.app.instance))
        if result.reclaimed:
            log.info("outbox_claims_resumed", replies=result.reclaimed)
        log.info(
            "gateway_started",
            smsc=f"{self.app.config.smpp.host}:{self.app.config.smpp.port}",
            database=runner.store.dialect,
            instance=self.app.instance,
        )

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then shut down."""
        await self.startup()
        await self.ops.start()
        log.info("ops_http_listening", host=self.app.config.http.host, port=self.ops.port)
        self._tasks = [
            asyncio.create_task(self._supervise(), name="transport"),
            asyncio.create_task(self.pipeline.run(), name="pipeline"),
            asyncio.create_task(self.scheduler.run(), name="scheduler"),
            asyncio.create_task(self.observer.refresh(self, self.app.db, self._metrics_interval), name="metrics"),
        ]
        if self.email is not None:
            self._tasks.append(asyncio.create_task(self.email.run(), name="email"))
        for task in self._tasks:
            task.add_done_callback(lambda task: self._task_ended(task, stop))
        await stop.wait()
        await self.shutdown()

    def _task_ended(self, task: asyncio.Task[Any], stop: asyncio.Event) -> None:
        """A task that ends on its own is a bug: say so and stop, so that the service manager restarts us.

        Nothing is lost: what was not committed was not acknowledged, and the SMSC delivers it again.
        """
        if self._stopping or task.cancelled():
            return
        error = task.exception()
        log.critical(
            "task_died",
            task=task.get_name(),
            error=repr(error) if error is not None else "returned",
            action="stopping (exit 1): the service manager restarts the gateway",
            exc_info=error,
        )
        self.failed = True
        stop.set()

    async def _supervise(self) -> None:
        delay = 1.0
        while not self._stopping:
            started = time.monotonic()
            try:
                await self.transport.start()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("transport_crashed", action="restart")
            else:
                if self._stopping:
                    return
                log.error("transport_stopped", action="restart")
            self.transport.mark_closed()
            delay = 1.0 if time.monotonic() - started > 60 else min(delay * 2, 30.0)
            await asyncio.sleep(delay)

    async def shutdown(self) -> None:
        """Within about a second: nothing committed is lost, nothing acknowledged before its commit."""
        self._stopping = True
        began = time.monotonic()
        log.info("gateway_stopping")
        self.transport.stop_reconnecting()
        self.inbound.draining = True
        self.sender.stopping = True
        for task in self._tasks[2:]:
            task.cancel()
        await self._wait_for_submits(0.3)
        self.inbound.cancel()
        await self.pipeline.drain(0.4)
        released = self.sender.release_all()
        if released:
            with contextlib.suppress(Exception):
                await self.app.runner.run(Batch(released=released))
        if self.link.unbind():
            await self._wait_unbound(0.3)
            if self.link.session is not None and not self.link.session.wants_close:
                log.warning("smpp_unbind_resp_missing", waited=0.3)
        self.transport.close()
        for task in self._tasks[:2]:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.ops.stop()
        log.info(
            "gateway_stopped",
            released=len(released),
            seconds=round(time.monotonic() - began, 3),
            batches=self.pipeline.batches,
            commits=self.app.runner.commits,
            pid=os.getpid(),
        )

    async def _wait_for_submits(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.sender.outstanding and time.monotonic() < deadline:  # noqa: ASYNC110 - a bounded wait
            await asyncio.sleep(0.01)

    async def _wait_unbound(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.link.session is not None and not self.link.session.wants_close and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
