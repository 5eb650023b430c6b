"""Deciding a batch: every MO in order against the in-memory view, each undone alone if it fails.

:class:`Decider` is the MO unit of work without a database: for each MO it
stores a part (completing a long MO), recognises a copy of an MO already
recorded (answered from the record, nothing applied again), runs the command's
handler (``handlers.HANDLERS``) or turns a parse error into its reply, records
the MO and queues the replies — sealed when sensitive, born claimed by the live
sender when it asks. A ``P`` that would be issued a password is held back
(``needs_password``) until one is prepared outside any transaction: scrypt never
runs for an unknown, inactive or rate-limited number, nor inside a batch.
"""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog

from grammar import PASSWORD_SHORT_CODE, Command, ParseError, Problem, ResetPassword, parse
from handlers import HANDLERS, Context, Refusal, Reply, Rules, Silence
from handlers.credentials import TemporaryPassword
from handlers.model import Language
from handlers.replies import reply_to_parse_error, reply_to_refusal

from ..db.messages import MoRecord, fingerprint
from ..logs import subscriber_fields
from ..sealing import SEALED_PLACEHOLDER, Sealer, SealingError
from .jobs import Decision, MoJob
from .journal import Journal
from .records import NewPart, NewReply, Records
from .snapshot import Keys, Miss, Snapshot
from .view import BatchView

__all__ = ["Decider", "drive"]

log = structlog.get_logger("smsgw.batch")
T = TypeVar("T")


def drive(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (a handler on the in-memory view) to its result."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("a handler awaited something that is not the batch's view")


class _PasswordNeeded(Exception):
    """The P may be issued: hold it back until a password is prepared for it."""


def _replyable(sender: str) -> bool:
    # ASCII digits only: str.isdigit() also takes "²", "١" or "３", which no submit_sm can carry.
    digits = sender.removeprefix("+")
    return digits.isascii() and digits.isdigit() and 3 <= len(digits) <= 15


class Decider:
    def __init__(
        self,
        rules: Rules,
        sealer: Sealer,
        *,
        reply_validity: timedelta,
        claimed_by: str | None = None,
    ) -> None:
        self.rules = rules
        self.sealer = sealer
        self.reply_validity = reply_validity
        self.claimed_by = claimed_by  # replies are born claimed by this sender (None: queued)

    @staticmethod
    def keys(jobs: list[MoJob]) -> Keys:
        """Everything these MOs can read, as far as their parsed commands tell."""
        keys = Keys()
        for job in jobs:
            keys.sources.add(job.source)
            if job.part is not None:
                keys.parts.add((job.source, job.destination, job.part.reference, job.part.total))
            elif job.smsc_ref:
                keys.smsc_refs.add(job.smsc_ref)
            else:
                keys.fingerprints.add(job.fingerprint)
            keys.numbers.add(job.sender)
            keys.senders.add(job.sender)
            if job.destination == PASSWORD_SHORT_CODE or isinstance(job.command, ResetPassword):
                keys.password_senders.add(job.sender)
            karte = getattr(job.command, "karte", None)
            if karte:
                keys.numbers.add(karte)
        return keys

    def decide(self, snapshot: Snapshot, jobs: list[MoJob], keys: Keys) -> tuple[BatchView, Records, list[Decision]]:
        """Decide every job in order.

        A :class:`Miss` of a key not in ``keys`` is added to them; the other MOs are still
        decided (to find every missing key in one pass), then the first Miss propagates:
        the batch runs again with them all loaded.
        """
        journal = Journal()
        view = BatchView(snapshot, journal)
        records = Records(snapshot, journal)
        decisions = []
        missed: Miss | None = None  # keys added: the batch runs again, once for all of them
        for job in jobs:
            mark = journal.mark()
            try:
                decisions.append(self._one(job, view, records, snapshot.now))
            except Miss as miss:
                journal.rollback(mark)
                if miss.add_to(keys):
                    # Go on with the other MOs so that every missing key is found in this pass
                    # (a batch completing many long MOs misses each one's Karte).
                    missed = missed or miss
                    continue
                log.error(
                    "mo_failed", mo_id=job.id, error=f"loaded but missing: {miss}", **subscriber_fields(job.source)
                )
                decisions.append(Decision(job.id, "failed", failed=True))
            except SealingError:
                raise  # no key to seal a password SMS with: the caller's configuration error, not this MO's
            except _PasswordNeeded:
                journal.rollback(mark)
                decisions.append(Decision(job.id, "password_pending", "ResetPassword", needs_password=True))
            except Exception:
                journal.rollback(mark)
                log.exception("mo_failed", mo_id=job.id, short_code=job.destination, **subscriber_fields(job.source))
                decisions.append(Decision(job.id, "failed", failed=True))
        if missed is not None:
            raise missed
        return view, records, decisions

    def _one(self, job: MoJob, view: BatchView, records: Records, now: datetime) -> Decision:
        text, command, problem, fp, received_at = job.text, job.command, job.problem, job.fingerprint, job.received_at
        complete_key = None
        if job.part is not None:
            key = (job.source, job.destination, job.part.reference, job.part.total)
            part = NewPart(key, job.part.sequence, job.data_coding, job.text, job.received_at)
            processed, complete = records.add_part(part)
            if processed:
                return Decision(job.id, "redelivered_part", copy_of="")
            if complete is None:
                return Decision(job.id, "part_stored", part_stored=True)
            text, received_at, complete_key = complete.text, complete.received_at, complete.key
            command, problem = _parse(text, job.destination)
            fp = fingerprint(job.source, job.destination, complete.data_coding, text)
        if job.recognise_redelivery:
            earlier = records.find_copy(job.smsc_ref, fp)
            if earlier is not None:
                if complete_key is not None:
                    records.mark_processed(complete_key, earlier[0])
                return Decision(earlier[0], earlier[1], copy_of=earlier[0], text=text)
        if complete_key is not None:
            records.mark_processed(complete_key, job.id)

        ctx = Context(job.sender, now, view, self.rules, new_password=_prepared(job.password), mo_id=job.id)
        if job.unreadable is not None:  # octets that are no text (binary, pictogram …): no one typed them
            reply = Reply("unreadable_" + job.unreadable)
        else:
            reply = drive(self._reply(command, problem, job.destination, ctx))
        if not _replyable(job.sender):
            reply = Reply(reply.outcome)
        name = None if command is None else type(command).__name__
        records.add_mo(
            MoRecord(
                id=job.id,
                source=job.source,
                destination=job.destination,
                text=text,
                data_coding=job.data_coding,
                smsc_ref=job.smsc_ref,
                fingerprint=fp,
                received_at=received_at,
                processed_at=now,
                command=name,
                outcome=reply.outcome,
                acked=not job.recognise_redelivery,
            )
        )
        positions = tuple(self.queue(records, reply, job.destination, job.id, now))
        return Decision(job.id, reply.outcome, name, reply.messages, positions, text=text)

    def queue(self, records: Records, reply: Reply, source: str, mo_id: str | None, now: datetime) -> list[int]:
        """Queue a reply's messages (a sensitive one only sealed); returns their positions."""
        expires = now + self.reply_validity
        return [
            records.queue(
                NewReply(
                    mo_id,
                    source,
                    m.to,
                    SEALED_PLACEHOLDER if m.sensitive else m.text,
                    self.sealer.seal(m.text) if m.sensitive else None,
                    now,
                    expires,
                    self.claimed_by,
                )
            )
            for m in reply.messages
        ]

    async def _reply(self, command: Command | None, problem: ParseError | None, short_code: str, ctx: Context) -> Reply:
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


def _prepared(password: TemporaryPassword | None) -> Any:
    def new_password() -> TemporaryPassword:
        if password is None:
            raise _PasswordNeeded()
        return password

    return new_password


def _parse(text: str, short_code: str) -> tuple[Command | None, ParseError | None]:
    try:
        return parse(text, short_code), None
    except ParseError as error:
        return None, error
