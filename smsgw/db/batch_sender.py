"""The sender's side of a batch: submits about to go out, message ids, receipts, acks, claims, heartbeats.

Written once for both databases with ``?`` placeholders; only the receipts, the
most numerous, are matched in bulk on PostgreSQL (one ``unnest`` statement
instead of one round trip each).

- A part is recorded ``submitting`` before its submit_sm goes on the wire
  (``intents``), and ``submitted`` with its SMSC message id once accepted. A
  reply taken over from a dead instance is resubmitted only in the parts that
  may have been on the wire (``maybe_sent``: the only possible duplicates) and
  those never sent; never a part whose response was recorded.
- Replies are held by the instance that claimed them while its heartbeat row
  (``instances``) is fresh; ``claim`` takes over those of an instance silent for
  longer than ``[outbox] takeover``, and an instance restarting under the same
  name takes its own back at once (``reclaim_own``).
- A receipt that names no part yet is kept as an *early receipt* and applied
  when its message id is recorded, by whichever instance records it;
  ``sweep_early_receipts`` settles those two instances raced past.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..batch.jobs import Batch, ClaimRequest, Heartbeat, ReceiptJob, Takeover
from .executors import Executor
from .outbox import ClaimedReply, PartAccepted
from .timefmt import parse_ts, ts

__all__ = [
    "SenderWork",
    "claim_replies",
    "record_receipts",
    "record_sender_work",
    "settle_reply",
    "sweep_early_receipts",
]

ReceiptHit = tuple[int, str | None] | None
_UNSENT = "state IN ('queued', 'sending')"


@dataclass(frozen=True, slots=True)
class SenderWork:
    """What the sender's side of a batch found."""

    receipts: list[ReceiptHit]  # per receipt: (reply id, MO id), or None (kept as an early receipt)
    claimed: list[ClaimedReply]
    takeovers: list[Takeover]  # replies taken over from dead instances, per instance
    reclaimed: int  # replies of this instance's previous life made due again
    expired: int  # replies the claim found too old to send


async def record_sender_work(
    ex: Executor, batch: Batch, now: datetime, variants: Callable[[str], tuple[str, ...]]
) -> SenderWork:
    """Everything of the batch but its MOs."""
    when = ts(now)
    if batch.heartbeat is not None:
        await _beat(ex, batch.heartbeat, when)
    reclaimed = 0
    if batch.reclaim_own is not None:
        reclaimed = await ex.execute(
            "UPDATE outbox SET state = 'queued', next_attempt_at = ?, updated_at = ?"
            " WHERE claimed_by = ? AND state = 'sending'",
            when,
            when,
            batch.reclaim_own,
        )
    if batch.intents:
        await ex.many(
            "INSERT INTO mt_parts (outbox_id, part_no, smsc_message_id, state, updated_at)"
            " VALUES (?, ?, NULL, 'submitting', ?) ON CONFLICT DO NOTHING",
            [(outbox_id, part_no, when) for outbox_id, part_no in batch.intents],
        )
    receipts = list(batch.receipts)
    if batch.accepted:
        receipts[:0] = await _accepted(ex, batch.accepted, when, variants)
    hits = await record_receipts(ex, receipts, when) if receipts else []
    hits = hits[len(receipts) - len(batch.receipts) :]
    if batch.acks:
        await ex.many("UPDATE mo_messages SET acked = ? WHERE id = ?", [(True, mo_id) for mo_id in batch.acks])
    if batch.failed:
        await ex.many(
            "UPDATE outbox SET state = ?, sealed = NULL, updated_at = ?, last_error = ? WHERE id = ?",
            [(f.state, when, f.error[:200], f.outbox_id) for f in batch.failed],
        )
    if batch.released:
        await ex.many(
            "UPDATE outbox SET state = 'queued', next_attempt_at = ?, updated_at = ?, claimed_by = NULL"
            " WHERE id = ? AND state = 'sending'",
            [(when, when, outbox_id) for outbox_id in batch.released],
        )
    claimed: list[ClaimedReply] = []
    takeovers: list[Takeover] = []
    expired = 0
    if batch.claim is not None:
        claimed, takeovers, expired = await claim_replies(ex, batch.claim, now)
    return SenderWork(hits, claimed, takeovers, reclaimed, expired)


async def _beat(ex: Executor, beat: Heartbeat, when: str) -> None:
    await ex.execute(
        "INSERT INTO instances (name, heartbeat_at, started_at, pid) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE SET heartbeat_at = excluded.heartbeat_at,"
        " started_at = excluded.started_at, pid = excluded.pid",
        beat.name,
        when,
        ts(beat.started_at),
        beat.pid,
    )


async def _accepted(
    ex: Executor, parts: Sequence[PartAccepted], when: str, variants: Callable[[str], tuple[str, ...]]
) -> list[ReceiptJob]:
    """Record accepted parts; returns the early receipts they settle, as receipts to apply now."""
    await ex.many(
        "INSERT INTO mt_parts (outbox_id, part_no, smsc_message_id, state, updated_at) VALUES (?, ?, ?, 'submitted', ?)"
        " ON CONFLICT (outbox_id, part_no) DO UPDATE SET smsc_message_id = excluded.smsc_message_id,"
        " state = 'submitted', updated_at = excluded.updated_at",
        [(p.outbox_id, p.part_no, p.message_id, when) for p in parts if p.message_id],
    )
    await ex.many(
        "UPDATE outbox SET state = 'submitted', sealed = NULL, parts = ?, updated_at = ?"
        " WHERE id = ? AND state = 'sending'",
        [(p.total, when, p.outbox_id) for p in parts if p.complete],
    )
    if not await ex.fetch("SELECT 1 FROM early_receipts LIMIT 1"):
        return []  # the common case: no receipt ever came before its message id
    by_variant = {v: p.message_id for p in parts if p.message_id for v in variants(p.message_id)}
    if not by_variant:
        return []
    where, args = ex.any_of("smsc_message_id", by_variant)
    early = await ex.fetch(f"SELECT smsc_message_id, state FROM early_receipts WHERE {where}", *args)
    if not early:
        return []
    settled = {by_variant[found]: state for found, state in early}
    where, args = ex.any_of("smsc_message_id", {v for mid in settled for v in variants(mid)})
    await ex.execute(f"DELETE FROM early_receipts WHERE {where}", *args)
    return [ReceiptJob((mid,), state) for mid, state in settled.items()]


async def record_receipts(ex: Executor, receipts: Sequence[ReceiptJob], when: str) -> list[ReceiptHit]:
    """Apply receipts; per receipt, (reply id, MO id) of its part's reply, or None (kept as an early receipt)."""
    found = await _match_parts(ex, receipts, when)
    hits: list[ReceiptHit] = []
    single = [(hit, r.state) for r, hit in zip(receipts, found, strict=True) if hit is not None]
    await ex.many(
        "INSERT INTO early_receipts (smsc_message_id, state, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [(v, r.state, when) for r, hit in zip(receipts, found, strict=True) if hit is None for v in r.variants],
    )
    mo_ids = await _single_part_states(ex, single, when)
    for outbox_id, _ in single:
        if outbox_id not in mo_ids:  # several parts (or a repeated receipt): settled from its parts
            mo_ids[outbox_id] = await settle_reply(ex, outbox_id, when)
    for hit in found:
        hits.append(None if hit is None else (hit, mo_ids.get(hit)))
    return hits


def _by_state(pairs: Sequence[tuple[object, str]]) -> dict[str, list[object]]:
    """Keys grouped by the state they take: one statement per state (a batch's receipts mostly share one)."""
    groups: dict[str, list[object]] = {}
    for key, state in pairs:
        groups.setdefault(state, []).append(key)
    return groups


async def _single_part_states(ex: Executor, pairs: Sequence[tuple[int, str]], when: str) -> dict[int, str | None]:
    """A one-part reply takes its part's state at once; returns the MO id of each reply updated."""
    updated: dict[int, str | None] = {}
    for state, ids in _by_state(pairs).items():
        where, args = ex.any_of("id", ids, "int")
        for outbox_id, mo_id in await ex.fetch(
            f"UPDATE outbox SET state = ?, updated_at = ? WHERE {where} AND parts = 1"
            " AND state IN ('submitted', 'sending') RETURNING id, mo_id",
            state,
            when,
            *args,
        ):
            updated[int(outbox_id)] = mo_id
    return updated


async def _match_parts(ex: Executor, receipts: Sequence[ReceiptJob], when: str) -> list[int | None]:
    """Set each receipt's part state; per receipt, the reply id of its part, or None if no part has that id."""
    by_id: dict[str, int] = {}
    for state, variants in _by_state([(v, r.state) for r in receipts for v in r.variants]).items():
        where, args = ex.any_of("smsc_message_id", variants)
        for message_id, outbox_id in await ex.fetch(
            f"UPDATE mt_parts SET state = ?, updated_at = ? WHERE {where} RETURNING smsc_message_id, outbox_id",
            state,
            when,
            *args,
        ):
            by_id[message_id] = int(outbox_id)
    return [next((by_id[v] for v in r.variants if v in by_id), None) for r in receipts]


async def settle_reply(ex: Executor, outbox_id: int, when: str) -> str | None:
    """A reply of several parts: its state once every part has one (the first failure, or delivered)."""
    reply = await ex.fetch("SELECT parts, mo_id FROM outbox WHERE id = ?", outbox_id)
    if not reply:
        return None
    parts, mo_id = reply[0]
    states = [row[0] for row in await ex.fetch("SELECT state FROM mt_parts WHERE outbox_id = ?", outbox_id)]
    if parts is None or len(states) < parts:
        return mo_id  # type: ignore[no-any-return]
    failed = [s for s in states if s not in ("submitted", "delivered")]
    final = failed[0] if failed else "delivered" if all(s == "delivered" for s in states) else None
    if final is not None:
        await ex.execute(
            "UPDATE outbox SET state = ?, updated_at = ? WHERE id = ? AND state IN ('submitted', 'sending')",
            final,
            when,
            outbox_id,
        )
    return mo_id  # type: ignore[no-any-return]


async def claim_replies(
    ex: Executor, request: ClaimRequest, now: datetime
) -> tuple[list[ClaimedReply], list[Takeover], int]:
    """Expire what is too old, then take up to ``request.limit`` replies: due ones, and a dead instance's."""
    when = ts(now)
    expired = await ex.execute(
        f"UPDATE outbox SET state = 'expired', updated_at = ?, sealed = NULL WHERE {_UNSENT} AND expires_at <= ?",
        when,
        when,
    )
    if request.limit <= 0:
        return [], [], expired
    lock = " FOR UPDATE SKIP LOCKED" if ex.dialect == "postgresql" else ""
    rows = await ex.fetch(
        "SELECT id, mo_id, source, destination, text, sealed, attempts, expires_at, state, claimed_by FROM outbox"
        " WHERE (state = 'queued' AND next_attempt_at <= ?)"
        " OR (state = 'sending' AND claimed_by <> ?"
        " AND claimed_by NOT IN (SELECT name FROM instances WHERE heartbeat_at >= ?))"
        f" ORDER BY next_attempt_at, id LIMIT ?{lock}",
        when,
        request.owner,
        ts(request.alive_since),
        request.limit,
    )
    if not rows:
        return [], [], expired
    await ex.many(
        "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_by = ?, updated_at = ? WHERE id = ?",
        [(request.owner, when, row[0]) for row in rows],
    )
    done: dict[int, set[int]] = {}
    maybe_sent: dict[int, set[int]] = {}
    again = [row[0] for row in rows if row[6]]
    if again:  # claimed before: some parts may have been accepted, or be on the wire
        where, args = ex.any_of("outbox_id", again, "int")
        for outbox_id, part_no, state in await ex.fetch(
            f"SELECT outbox_id, part_no, state FROM mt_parts WHERE {where}", *args
        ):
            (maybe_sent if state == "submitting" else done).setdefault(outbox_id, set()).add(part_no)
    claimed = [
        ClaimedReply(
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            r[5],
            r[6] + 1,
            parse_ts(r[7]),
            frozenset(done.get(r[0], ())),
            frozenset(maybe_sent.get(r[0], ())),
        )
        for r in rows
    ]
    return claimed, await _takeovers(ex, [r[9] for r in rows if r[8] == "sending"], now), expired


async def _takeovers(ex: Executor, owners: list[str], now: datetime) -> list[Takeover]:
    if not owners:
        return []
    counts: dict[str, int] = {}
    for owner in owners:
        counts[owner] = counts.get(owner, 0) + 1
    where, args = ex.any_of("name", counts)
    beats = {
        name: parse_ts(at)
        for name, at in await ex.fetch(f"SELECT name, heartbeat_at FROM instances WHERE {where}", *args)
    }
    return [
        Takeover(owner, n, (now - beats[owner]).total_seconds() if owner in beats else None)
        for owner, n in counts.items()
    ]


async def sweep_early_receipts(ex: Executor, now: datetime, variants: Callable[[str], tuple[str, ...]]) -> int:
    """Apply early receipts whose message id has been recorded since (a race between instances).

    An early receipt was kept under every form of its id (``variants``): all of them go,
    or a form left behind would settle a later message that happens to have that id."""
    rows = await ex.fetch(
        "SELECT e.smsc_message_id, e.state FROM early_receipts AS e JOIN mt_parts AS p"
        " ON p.smsc_message_id = e.smsc_message_id"
    )
    if not rows:
        return 0
    receipts = [ReceiptJob((mid,), state) for mid, state in rows]
    await record_receipts(ex, receipts, ts(now))
    where, args = ex.any_of("smsc_message_id", {v for mid, _ in rows for v in variants(mid)})
    await ex.execute(f"DELETE FROM early_receipts WHERE {where}", *args)
    return len(rows)
