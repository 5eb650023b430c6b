"""One MO's unit of work, as data in and data out: it can run in this process or in the database's.

:class:`MoUnit` is what ``Service.handle_mo`` asks the database to run: given
the MO, its parsed command (or the parse error) and, for ``P``, a temporary
password prepared outside the transaction, it recognises a redelivery (answered
from the record), runs the handler, records the MO and queues the replies, all
in the caller's transaction. Its arguments and result are plain picklable
data, so the SQLite worker process can run it with a ``MoUnit`` of its own.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from grammar import PASSWORD_SHORT_CODE, Command, ParseError, Problem
from handlers import HANDLERS, Context, Outgoing, Refusal, Reply, Rules, Silence
from handlers.credentials import TemporaryPassword
from handlers.model import Language
from handlers.replies import reply_to_parse_error, reply_to_refusal

from .db.messages import MoRecord, QueuedMessage
from .db.mo_parts import PartSet
from .db.outbox import ClaimedReply
from .db.uow import SqlUnitOfWork
from .sealing import SEALED_PLACEHOLDER, Sealer

__all__ = ["InboundMo", "MoResult", "MoUnit", "new_mo_id"]

_NIBBLES = str.maketrans("0123456789abcdef", "abcdefghijkmnpqr")


def new_mo_id() -> str:
    """32 letters: the time in microseconds, then 80 random bits.

    Letters only, so an id never looks like a phone number in a log; time first,
    so new ids go to the end of the index instead of anywhere in it.
    """
    stamp = f"{time.time_ns() // 1000:012x}"[-12:]
    return (stamp + secrets.token_hex(10)).translate(_NIBBLES)


@dataclass(frozen=True, slots=True)
class InboundMo:
    """One complete MO as the SMSC delivered it (parts already joined)."""

    source: str
    destination: str
    text: str
    received_at: datetime
    smsc_ref: str | None = None
    data_coding: int = 0
    id: str = field(default_factory=new_mo_id)

    def __reduce__(self) -> tuple[object, ...]:  # fast pickling across the database process boundary
        return (
            InboundMo,
            (self.source, self.destination, self.text, self.received_at, self.smsc_ref, self.data_coding, self.id),
        )


@dataclass(frozen=True, slots=True)
class MoResult:
    mo_id: str
    outcome: str
    command: str | None
    replies: tuple[Outgoing, ...] = ()
    source: str = ""  # the short code the replies come from
    redelivery: bool = False
    claimed: tuple[ClaimedReply, ...] = ()  # the replies, when born claimed (``Prepared.claim``)

    def __reduce__(self) -> tuple[object, ...]:  # fast pickling across the database process boundary
        return (
            MoResult,
            (self.mo_id, self.outcome, self.command, self.replies, self.source, self.redelivery, self.claimed),
        )


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything about an MO that is worked out before its transaction."""

    mo: InboundMo
    sender: str
    command: Command | None
    problem: ParseError | None
    password: TemporaryPassword | None
    fingerprint: str
    now: datetime
    recognise_redelivery: bool = True
    parts: PartSet | None = None
    claim: tuple[str, datetime] | None = None  # (sender, lease end): replies born claimed by a live sender

    def __reduce__(self) -> tuple[object, ...]:  # fast pickling across the database process boundary
        return (
            Prepared,
            (
                self.mo,
                self.sender,
                self.command,
                self.problem,
                self.password,
                self.fingerprint,
                self.now,
                self.recognise_redelivery,
                self.parts,
                self.claim,
            ),
        )


def _replyable(sender: str) -> bool:
    # ASCII digits only: str.isdigit() also takes "²", "١" or "３", which no submit_sm can carry.
    digits = sender.removeprefix("+")
    return digits.isascii() and digits.isdigit() and 3 <= len(digits) <= 15


class MoUnit:
    def __init__(
        self, rules: Rules, sealer: Sealer, *, redelivery_window: timedelta, reply_validity: timedelta
    ) -> None:
        self.rules = rules
        self.sealer = sealer
        self.redelivery_window = redelivery_window
        self.reply_validity = reply_validity

    async def __call__(self, uow: SqlUnitOfWork, p: Prepared) -> MoResult:
        mo = p.mo
        if p.parts is not None and not await uow.mo_parts.mark_processed(p.parts, mo.id):
            return MoResult(mo.id, "redelivered_part", None, source=mo.destination, redelivery=True)
        if p.recognise_redelivery:
            since = mo.received_at - self.redelivery_window
            earlier = await uow.messages.find_redelivery(mo.smsc_ref, p.fingerprint, since)
            if earlier is not None:
                return MoResult(earlier[0], earlier[1], None, source=mo.destination, redelivery=True)
        password = p.password

        def prepared_password() -> TemporaryPassword:
            if password is None:
                raise RuntimeError("no temporary password was prepared for this command")
            return password

        ctx = Context(p.sender, p.now, uow, self.rules, new_password=prepared_password, mo_id=mo.id)
        reply = await self._decide(p.command, p.problem, mo.destination, ctx)
        if not _replyable(p.sender):
            reply = Reply(reply.outcome)
        name = None if p.command is None else type(p.command).__name__
        await uow.messages.add(
            MoRecord(
                id=mo.id,
                source=mo.source,
                destination=mo.destination,
                text=mo.text,
                data_coding=mo.data_coding,
                smsc_ref=mo.smsc_ref,
                fingerprint=p.fingerprint,
                received_at=mo.received_at,
                processed_at=p.now,
                command=name,
                outcome=reply.outcome,
                acked=not p.recognise_redelivery,
            )
        )
        claimed = await self.queue(uow, reply.messages, mo.destination, mo.id, p.now, claim=p.claim)
        return MoResult(mo.id, reply.outcome, name, reply.messages, mo.destination, claimed=claimed)

    async def _decide(
        self, command: Command | None, problem: ParseError | None, short_code: str, ctx: Context
    ) -> Reply:
        if problem is not None:
            if problem.problem is Problem.UNKNOWN_SERVICE:
                return Reply("unknown_service")
            subscriber = await ctx.uow.subscribers.get(ctx.sender)
            if subscriber is None and short_code == PASSWORD_SHORT_CODE:
                return Reply("password_unknown_number")
            lang = subscriber.language if subscriber is not None else Language.LV
            return reply_to_parse_error(problem, short_code, ctx.sender, lang)
        assert command is not None
        try:
            return await HANDLERS[type(command)](command, ctx)
        except Silence as silence:
            return Reply(silence.outcome)
        except Refusal as refusal:
            subscriber = await ctx.uow.subscribers.get(ctx.sender)
            lang = subscriber.language if subscriber is not None else Language.LV
            return reply_to_refusal(refusal, ctx.sender, lang)

    async def queue(
        self,
        uow: SqlUnitOfWork,
        messages: tuple[Outgoing, ...],
        source: str,
        mo_id: str | None,
        now: datetime,
        *,
        claim: tuple[str, datetime] | None = None,
    ) -> tuple[ClaimedReply, ...]:
        """Queue replies in the outbox; a sensitive one (a password) only sealed.

        With ``claim``, returns them as claimed replies for that sender to send now.
        """
        queued = [
            QueuedMessage(source, m.to, SEALED_PLACEHOLDER, self.sealer.seal(m.text))
            if m.sensitive
            else QueuedMessage(source, m.to, m.text, None)
            for m in messages
        ]
        expires = now + self.reply_validity
        ids = await uow.messages.queue(queued, mo_id=mo_id, at=now, expires_at=expires, claim=claim)
        if claim is None:
            return ()
        return tuple(
            ClaimedReply(i, mo_id, q.source, q.destination, q.text, q.sealed, 1, expires, frozenset())
            for i, q in zip(ids, queued, strict=True)
        )
