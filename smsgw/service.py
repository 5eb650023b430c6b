"""The service's entry points, independent of SMPP: MOs through the batch unit of work, and the cold paths.

``Service.handle_mo`` runs one MO through the same batch unit of work as the
gateway's hot path (a batch of one; ``smsgw mo`` and the integration tests use
it) and returns after the commit. The monthly run and the portal's password
check are cold paths on SQLAlchemy (``Database.write``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from grammar import SOS_SHORT_CODE, normalize_msisdn
from handlers import Context, Reply, Rules
from handlers.credentials import TemporaryPassword, decoy_hash, new_temporary_password, verify_password
from handlers.model import MonthlyOrder
from handlers.password import check_temporary_password
from smpp.receipts import message_id_variants

from .batch.decide import Decider
from .batch.jobs import Batch, MoJob, PartOf
from .batch.runner import BatchRunner
from .db.database import Database
from .db.messages import QueuedMessage
from .db.uow import SqlUnitOfWork
from .mo import InboundMo, MoResult, mo_job, new_mo_id
from .sealing import SEALED_PLACEHOLDER, Sealer

__all__ = ["InboundMo", "MoResult", "Service", "new_mo_id"]


class Service:
    def __init__(
        self,
        db: Database,
        rules: Rules,
        sealer: Sealer,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        redelivery_window: timedelta = timedelta(hours=24),
        reply_validity: timedelta = timedelta(hours=24),
        scrypt_n: int = 2**14,
        claimed_by: str | None = None,
    ) -> None:
        self.db = db
        self.rules = rules
        self.sealer = sealer
        self.clock = clock
        self.redelivery_window = redelivery_window
        self.reply_validity = reply_validity
        self.scrypt_n = scrypt_n
        self.decider = Decider(rules, sealer, reply_validity=reply_validity, claimed_by=claimed_by)
        self.runner = BatchRunner(
            db.batch_store,
            self.decider,
            variants=message_id_variants,
            redelivery_window=redelivery_window,
            clock=clock,
        )
        self._decoy = decoy_hash(n=scrypt_n)  # what a number with no temporary password is checked against

    # --- MOs -------------------------------------------------------------------

    async def new_password(self) -> TemporaryPassword:
        """A temporary password, hashed in a thread: never inside a transaction, never on the event loop."""
        return await asyncio.to_thread(new_temporary_password, self.rules.password_length, n=self.scrypt_n)

    async def handle_mo(self, mo: InboundMo, *, recognise_redelivery: bool = True) -> MoResult:
        """Run one MO through the batch unit of work; returns after its commit.

        A redelivery is recognised by the SMSC's message id when it sent one, or
        else by the same source, destination, data_coding and text within
        ``redelivery_window`` as an MO whose acknowledgement the SMSC never
        confirmed; it is answered from the record. ``smsgw mo`` passes
        ``recognise_redelivery=False``: each call there is a new, acknowledged message.
        """
        return await self.run_job(mo_job(mo, recognise_redelivery=recognise_redelivery))

    async def run_job(self, job: MoJob) -> MoResult:
        while True:
            result = await self.runner.run(Batch(mos=[job]))
            decision = result.decisions[0]
            if decision.needs_password:  # eligible and within the limits: hash one, then decide again
                job = replace(job, password=await self.new_password())
                continue
            if decision.failed:
                raise RuntimeError(f"MO {job.id} could not be processed (see the log)")
            return MoResult(
                decision.mo_id,
                decision.outcome,
                decision.command,
                decision.replies,
                job.destination,
                redelivery=decision.copy_of is not None,
            )

    async def recover(self, runner: BatchRunner | None = None) -> int:
        """Process long MOs whose parts were all stored but never processed (left by an older version)."""
        sets = await self.db.read(lambda uow: uow.mo_parts.complete_sets())
        for found in sets:
            mo = InboundMo(found.source, found.destination, found.text, found.received_at, None, found.data_coding)
            job = mo_job(mo, part=PartOf(found.reference, found.total, 1))
            job = replace(job, id=new_mo_id())
            if runner is None:
                await self.run_job(job)
            else:
                await runner.run(Batch(mos=[job]))
        return len(sets)

    # --- monthly top-ups ----------------------------------------------------------

    async def run_monthly(self, run_date: date) -> dict[str, int]:
        """Execute the monthly orders due on ``run_date``; a no-op unless it is a month's last day.

        Returns a count per outcome. Safe to repeat and to run from several
        instances at once: each order runs at most once per month.
        """
        from handlers.monthly_run import execute
        from handlers.rules import is_last_day_of_month, month_key

        if not is_last_day_of_month(run_date):
            return {}
        tz = self.rules.tz
        charge_at = datetime.combine(run_date, self.rules.monthly_run_at, tzinfo=tz).astimezone(UTC)
        end_of_day = datetime.combine(run_date + timedelta(days=1), datetime.min.time(), tzinfo=tz).astimezone(UTC)
        month = month_key(run_date)
        orders = await self.db.read(lambda uow: uow.orders.due(month, end_of_day))
        counts: dict[str, int] = {}
        for order in orders:

            async def unit(uow: SqlUnitOfWork, order: MonthlyOrder = order) -> Reply:
                ctx = Context(order.sender, charge_at, uow, self.rules)
                reply = await execute(order, run_date, ctx)
                await self._queue(uow, reply)
                return reply

            reply = await self.db.write(unit)
            counts[reply.outcome] = counts.get(reply.outcome, 0) + 1
        return counts

    async def _queue(self, uow: SqlUnitOfWork, reply: Reply) -> None:
        now = self.clock()
        queued = [
            QueuedMessage(SOS_SHORT_CODE, m.to, SEALED_PLACEHOLDER, self.sealer.seal(m.text))
            if m.sensitive
            else QueuedMessage(SOS_SHORT_CODE, m.to, m.text, None)
            for m in reply.messages
        ]
        await uow.messages.queue(queued, mo_id=None, at=now, expires_at=now + self.reply_validity)

    # --- the portal's password check ---------------------------------------------

    async def check_password(self, msisdn: str, password: str) -> bool:
        """The portal's check: True, and consumed, if ``password`` is the number's valid temporary one.

        scrypt runs in a thread between a read and a short write transaction, never
        inside one (``handlers.password.check_temporary_password``).
        """
        number = normalize_msisdn(msisdn)
        if number is None:
            return False
        return await check_temporary_password(
            number,
            password,
            read=self.db.read,
            write=self.db.write,
            verify=_verify_in_thread,
            decoy=self._decoy,
            now=self.clock(),
        )


async def _verify_in_thread(password: str, password_hash: str) -> bool:
    return await asyncio.to_thread(verify_password, password, password_hash)
