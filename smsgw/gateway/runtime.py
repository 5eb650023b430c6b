"""``smsgw run``: start up, serve until SIGTERM/SIGINT, shut down cleanly.

Phases (as uvicorn names them): **startup** — migrations are applied by
``bootstrap.build``; replies claimed by a sender that died are made due again
(SQLite: at once, it has one gateway; PostgreSQL: when their lease ends); long
MOs whose parts were all stored but not processed are processed; early receipts
are loaded. **main loop** — the ESME under a supervisor that restarts it if it
ever dies, the scheduler, and the operations HTTP server. **shutdown** — stop
taking MOs, finish those in flight, let outstanding submits be answered, give
unsent replies back to the queue, unbind and wait for unbind_resp.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from datetime import UTC, datetime
from typing import Any

import structlog

from ..bootstrap import App
from ..db.database import SqliteDatabase
from ..db.outbox import ClaimedReply
from ..ops.email import EmailSender
from ..ops.http import OpsServer
from ..ops.metrics import Metrics
from ..ops.observer import Observer
from ..service import MoResult
from .acks import AckTracker
from .esme import GatewayEsme
from .inbound import Inbound
from .outbound import Sender
from .receipts import Receipts
from .scheduler import Scheduler

__all__ = ["Gateway"]

log = structlog.get_logger("smsgw.runtime")


class Gateway:
    def __init__(
        self,
        app: App,
        *,
        log_handler: logging.Handler | None = None,
        scheduler_interval: float = 30.0,
        metrics_interval: float = 5.0,
    ) -> None:
        smpp = app.config.smpp
        self.app = app
        self.metrics = Metrics()
        self.observer = Observer(self.metrics)
        self._metrics_interval = metrics_interval
        self.ops = OpsServer(
            self.metrics, bound=lambda: self.esme.bound, host=app.config.http.host, port=app.config.http.port
        )
        self.email = EmailSender(app.db, app.config.email) if app.config.email.enabled else None
        self.sender = Sender(
            app.db,
            app.service.sealer,
            window=smpp.window,
            submit_timeout=smpp.submit_timeout,
            registered_delivery=smpp.registered_delivery,
            throttle_backoff=smpp.throttle_backoff,
            lease=max(60.0, 4 * smpp.submit_timeout),
            owner=f"{socket.gethostname()}:{os.getpid()}",
            on_accepted=self._reply_accepted,
        )
        self.receipts = Receipts(self.sender)
        self.acks = AckTracker(app.db)
        self.inbound = Inbound(
            app.service,
            self.receipts,
            self.acks,
            window=smpp.mo_window,
            mo_id_tag=smpp.mo_message_id_tag,
            confirm_within=smpp.confirm_within,
            on_result=self._mo_done,
            on_part=lambda: self._event("mo_part", 1),
            claim_for=self.sender.claim_for,
        )
        self.acks.on_settled = self.inbound.settled
        self.esme = GatewayEsme(
            smpp,
            inbound=self.inbound,
            outbound=self.sender,
            acks=self.acks,
            log_handler=log_handler,
            events=self._event,
        )
        self.scheduler = Scheduler(app.service, interval=scheduler_interval, on_monthly=lambda _: self.sender.notify())
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    # --- events ---------------------------------------------------------------------------

    def _event(self, name: str, value: Any) -> None:
        self.observer(name, value)

    def _mo_done(self, result: MoResult, seconds: float) -> None:
        if result.claimed:
            self.sender.take(result.claimed)
        elif result.replies:
            self.sender.notify()
        if self.email is not None and result.outcome == "password_issued":
            self.email.notify()
        log.info(
            "mo_processed",
            mo_id=result.mo_id,
            command=result.command,
            outcome=result.outcome,
            replies=len(result.replies),
            redelivery=result.redelivery,
            latency_ms=round(seconds * 1000, 2),
        )
        self._event("mo", (result, seconds))

    def _reply_accepted(self, reply: ClaimedReply) -> None:
        self._event("reply_accepted", reply)

    # --- phases ----------------------------------------------------------------------------

    async def startup(self) -> None:
        db, service = self.app.db, self.app.service
        if isinstance(db, SqliteDatabase):
            now = datetime.now(UTC)
            released = await db.call("reset_claims", now)
            if released:
                log.info("outbox_claims_resumed", replies=released)
        recovered = await service.recover()
        if recovered:
            log.info("long_mos_recovered", count=recovered)
        await self.sender.load_early_receipts()
        log.info(
            "gateway_started", smsc=f"{self.app.config.smpp.host}:{self.app.config.smpp.port}", database=db.dialect
        )

    async def serve(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then shut down."""
        await self.startup()
        await self.ops.start()
        log.info("ops_http_listening", host=self.app.config.http.host, port=self.ops.port)
        self._tasks = [
            asyncio.create_task(self._supervise(), name="esme-supervisor"),
            asyncio.create_task(self.scheduler.run(), name="scheduler"),
            asyncio.create_task(self.observer.refresh(self, self.app.db, self._metrics_interval), name="metrics"),
        ]
        if self.email is not None:
            self._tasks.append(asyncio.create_task(self.email.run(), name="email"))
        await stop.wait()
        await self.shutdown()

    async def _supervise(self) -> None:
        delay = 1.0
        while not self._stopping:
            started = time.monotonic()
            try:
                await self.esme.start()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("esme_crashed", action="restart")
            else:
                if self._stopping:
                    return
                log.error("esme_stopped", action="restart")
            from aiosmpplib.state import SmppSessionState

            self.esme._session_state = SmppSessionState.CLOSED
            delay = 1.0 if time.monotonic() - started > 60 else min(delay * 2, 30.0)
            await asyncio.sleep(delay)

    async def shutdown(self, timeout: float = 10.0) -> None:
        self._stopping = True
        log.info("gateway_stopping")
        for task in self._tasks[1:]:
            task.cancel()
        await self.esme.shutdown(timeout)
        await self.acks.close()
        await self.ops.stop()
        supervisor = self._tasks[0] if self._tasks else None
        if supervisor is not None:
            try:
                await asyncio.wait_for(supervisor, timeout=5.0)
            except (TimeoutError, asyncio.CancelledError):
                supervisor.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        log.info("gateway_stopped")
