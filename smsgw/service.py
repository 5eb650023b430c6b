"""The service's entry points, independent of SMPP: one MO in, one unit of work.

``Service.handle_mo`` is what the SMPP hook calls for every complete MO (and
what ``smsgw mo`` calls without an SMSC). In ONE transaction it recognises a
redelivery (answered from the record, nothing applied again), records the MO,
runs the command's handler, writes its effects and queues the replies in the
outbox. It returns after the commit, so an acknowledgement sent after it
returns never precedes the commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from grammar import SOS_SHORT_CODE, Command, ParseError, ResetPassword, normalize_msisdn, parse
from handlers import Context, Reply, Rules
from handlers.credentials import TemporaryPassword, decoy_hash, new_temporary_password, verify_password
from handlers.model import MonthlyOrder
from handlers.password import check_temporary_password

from .db.database import Database
from .db.messages import fingerprint
from .db.mo_parts import MoPart, PartSet
from .db.uow import SqlUnitOfWork
from .mo_unit import InboundMo, MoResult, MoUnit, Prepared, new_mo_id
from .sealing import Sealer

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
    ) -> None:
        self.db = db
        self.rules = rules
        self.sealer = sealer
        self.clock = clock
        self.redelivery_window = redelivery_window
        self.reply_validity = reply_validity
        self.scrypt_n = scrypt_n
        self.unit = MoUnit(rules, sealer, redelivery_window=redelivery_window, reply_validity=reply_validity)
        self._decoy = decoy_hash(n=scrypt_n)  # what a number with no temporary password is checked against
        db.register("mo", self.unit)

    # --- MOs -------------------------------------------------------------------

    async def handle_mo_part(
        self, part: MoPart, *, mo_id: str | None = None, claim_for: tuple[str, timedelta] | None = None
    ) -> MoResult | None:
        """Store one part of a long MO; when it completes the message, process the whole.

        Returns None while parts are missing (the part is stored: it may be
        acknowledged) or when the message was processed already (a redelivered part).
        """
        processed, complete = await self.db.call("mo_part", part)
        if processed or complete is None:
            return None
        mo = InboundMo(
            part.source,
            part.destination,
            complete.text,
            complete.received_at,
            None,
            complete.data_coding,
            mo_id or new_mo_id(),
        )
        return await self.handle_mo(mo, parts=complete, claim_for=claim_for)

    async def recover(self) -> int:
        """Process long MOs whose parts were all stored but not processed (a crash in between)."""
        sets = await self.db.read(lambda uow: uow.mo_parts.complete_sets())
        for found in sets:
            mo = InboundMo(found.source, found.destination, found.text, found.received_at, None, found.data_coding)
            await self.handle_mo(mo, parts=found)
        return len(sets)

    async def handle_mo(
        self,
        mo: InboundMo,
        *,
        recognise_redelivery: bool = True,
        parts: PartSet | None = None,
        claim_for: tuple[str, timedelta] | None = None,
    ) -> MoResult:
        """Run one MO's unit of work; returns after its commit.

        A redelivery is recognised by the SMSC's message id when it sent one, or
        else by the same source, destination, data_coding and text within
        ``redelivery_window`` as an MO whose acknowledgement the SMSC never
        confirmed (only those can be redelivered: see ``smsgw.gateway.acks``); it
        is answered from the record (acknowledged, nothing applied or queued
        again). A subscriber who repeats a text after we know the first one was
        acknowledged is simply served again. ``smsgw mo`` passes
        ``recognise_redelivery=False``: each call there is a new, acknowledged message.
        """
        command: Command | None = None
        problem: ParseError | None = None
        try:
            command = parse(mo.text, mo.destination)
        except ParseError as error:
            problem = error
        password: TemporaryPassword | None = None
        if isinstance(command, ResetPassword):
            password = await asyncio.to_thread(new_temporary_password, self.rules.password_length, n=self.scrypt_n)
        now = self.clock()
        prepared = Prepared(
            mo=mo,
            sender=normalize_msisdn(mo.source) or mo.source,
            command=command,
            problem=problem,
            password=password,
            fingerprint=fingerprint(mo.source, mo.destination, mo.data_coding, mo.text),
            now=now,
            recognise_redelivery=recognise_redelivery,
            parts=parts,
            claim=None if claim_for is None else (claim_for[0], now + claim_for[1]),
        )
        return await self.db.call("mo", prepared)  # type: ignore[no-any-return]

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
                await self.unit.queue(uow, reply.messages, SOS_SHORT_CODE, None, self.clock())
                return reply

            reply = await self.db.write(unit)
            counts[reply.outcome] = counts.get(reply.outcome, 0) + 1
        return counts

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
