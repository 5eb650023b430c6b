"""The batch unit of work on PostgreSQL in a handful of round trips, whatever the batch's size.

A statement costs a round trip to the server, so the batch is shaped around them:

1. ``BEGIN`` and the batch's locks in one simple-protocol script: advisory
   transaction locks on every number it touches, in one global order (``lock_key``,
   the same in the cold paths), so instances never deadlock on each other and
   copies of one MO on two instances are decided one after the other;
2. one load: every table the batch reads, as arrays of rows in one ``SELECT``;
3. one write: every table it writes, as data-modifying CTEs fed by ``unnest``;
4. the sender's work (heartbeat, parts about to be written, accepted parts, acks,
   failures) in one statement, and the receipts in one more (they must see the
   parts recorded by the first);
5. ``COMMIT``.

Writes that few batches have (parts of long MOs, portal passwords) and claims
go through the generic SQL (``batch_write``, ``batch_sender``) on the same
connection.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from handlers.model import MonthlyOrder, PendingRequest, TopUpKind

from ..batch.jobs import Batch, ReceiptJob, Takeover
from ..batch.snapshot import Keys, OrderRow, Snapshot, TopUpSum
from ..db.outbox import ClaimedReply
from .batch_load import load_parts, subscriber_from_row
from .batch_sender import SenderWork, claim_replies, settle_reply
from .batch_write import WritePlan
from .timefmt import euros, parse_ts, ts

__all__ = ["lock_key", "lock_script", "pg_load", "pg_sender_work", "pg_write"]


def lock_key(name: str) -> int:
    """The advisory lock key of a number (or raw source address): 64 bits of its BLAKE2b digest, signed."""
    return int.from_bytes(
        hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "big", signed=True
    )


def lock_script(names: Sequence[str]) -> str:
    """``BEGIN`` and the advisory locks of ``names``, in one global order (the keys are integers we made)."""
    keys = sorted({lock_key(name) for name in names})
    if not keys:
        return "BEGIN"
    values = ",".join(f"({key}::bigint)" for key in keys)
    return f"BEGIN; SELECT pg_advisory_xact_lock(k) FROM (VALUES {values}) AS ordered(k)"


_LOAD = """
SELECT
 ARRAY(SELECT ROW(msisdn, kind, status, customer_type, sos_sms_allowed, language, email, karte_expires_on,
                  balance_cents)
       FROM subscribers
       WHERE msisdn = ANY($1::text[]) OR msisdn IN (SELECT karte FROM pending_requests WHERE sender = ANY($2::text[]))),
 ARRAY(SELECT ROW(sender, karte, amount_cents, requested_at) FROM pending_requests WHERE sender = ANY($2::text[])),
 ARRAY(SELECT ROW(id, sender, karte, amount_cents, last_month, created_at, confirmed_at)
       FROM monthly_orders WHERE sender = ANY($2::text[])),
 ARRAY(SELECT ROW(sender, karte, kind,
                  SUM(CASE WHEN created_at >= $3 AND created_at < $4 THEN amount_cents ELSE 0 END)::bigint,
                  SUM(amount_cents)::bigint)
       FROM topups WHERE created_at >= $5 AND created_at < $6 AND sender = ANY($2::text[])
       GROUP BY sender, karte, kind),
 ARRAY(SELECT ROW(msisdn, requested_at, outcome) FROM password_requests
       WHERE requested_at >= $7 AND msisdn = ANY($8::text[]) ORDER BY requested_at, id),
 ARRAY(SELECT ROW(fingerprint, id, outcome) FROM mo_messages
       WHERE received_at >= $9 AND acked = false AND fingerprint = ANY($10::text[]) ORDER BY received_at),
 ARRAY(SELECT ROW(smsc_ref, id, outcome) FROM mo_messages WHERE smsc_ref = ANY($11::text[]))
"""


async def pg_load(conn: Any, ex: Any, keys: Keys, snap: Snapshot) -> None:
    """Everything the batch reads in one round trip (parts of long MOs, rare, in one more each)."""
    for sender in keys.senders:
        snap.pending[sender] = None
        snap.orders[sender] = []
        snap.topups[sender] = []
    for msisdn in keys.password_senders:
        snap.password_history[msisdn] = []
    subs, pending, orders, topups, history, fingerprints, refs = await conn.fetchrow(
        _LOAD,
        list(keys.numbers),
        list(keys.senders),
        ts(snap.day[0]),
        ts(snap.day[1]),
        ts(snap.month[0]),
        ts(snap.month[1]),
        ts(snap.now - snap.password_window),
        list(keys.password_senders),
        ts(snap.redelivery_since),
        list(keys.fingerprints),
        list(keys.smsc_refs),
    )
    for sender, karte, amount, requested in pending:
        snap.pending[sender] = PendingRequest(sender, karte, euros(amount), parse_ts(requested))
        keys.numbers.add(karte)  # JA checks the Karte of the pending request
    for number in keys.numbers:
        snap.subscribers[number] = None
    for row in subs:
        snap.subscribers[row[0]] = subscriber_from_row(row)
    for row in orders:
        order = MonthlyOrder(row[0], row[1], row[2], euros(row[3]), row[4])
        snap.orders[row[1]].append(OrderRow(order, parse_ts(row[5]), parse_ts(row[6])))
    for sender, karte, kind, today, month in topups:
        snap.topups[sender].append(TopUpSum(karte, TopUpKind(kind), int(today), int(month)))
    for msisdn, at, outcome in history:
        snap.password_history[msisdn].append((parse_ts(at), outcome))
    for fp, mo_id, outcome in fingerprints:
        snap.by_fingerprint[fp] = (mo_id, outcome)  # the newest wins
    for ref, mo_id, outcome in refs:
        snap.by_ref[ref] = (mo_id, outcome)
    await load_parts(ex, keys, snap)


_WRITE = """
WITH
 mos AS (INSERT INTO mo_messages (id, source, destination, text, data_coding, smsc_ref, fingerprint, received_at,
                                  processed_at, command, outcome, acked)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[],
                              $8::text[], $9::text[], $10::text[], $11::text[], $12::bool[])),
 t AS (INSERT INTO topups (sender, karte, amount_cents, kind, created_at, mo_id, order_id, period)
       SELECT * FROM unnest($13::text[], $14::text[], $15::bigint[], $16::text[], $17::text[], $18::text[],
                            $19::int[], $20::text[])
       RETURNING id, sender, karte, amount_cents, kind, created_at),
 ch AS (INSERT INTO charges (topup_id, sender, karte, amount_cents, kind, charged_at)
        SELECT id, sender, karte, amount_cents, kind, created_at FROM t),
 subs AS (UPDATE subscribers AS s SET balance_cents = u.b, karte_expires_on = u.e
          FROM unnest($21::text[], $22::bigint[], $23::text[]) AS u(m, b, e) WHERE s.msisdn = u.m),
 gone AS (DELETE FROM pending_requests WHERE sender = ANY($24::text[])),
 put AS (INSERT INTO pending_requests (sender, karte, amount_cents, requested_at)
         SELECT * FROM unnest($25::text[], $26::text[], $27::bigint[], $28::text[])
         ON CONFLICT (sender) DO UPDATE SET karte = excluded.karte, amount_cents = excluded.amount_cents,
                                            requested_at = excluded.requested_at),
 changed AS (UPDATE monthly_orders AS o SET amount_cents = u.a, confirmed_at = u.c, last_month = u.l
             FROM unnest($29::int[], $30::bigint[], $31::text[], $32::text[]) AS u(i, a, c, l) WHERE o.id = u.i),
 born AS (INSERT INTO monthly_orders (sender, karte, amount_cents, created_at, confirmed_at, last_month)
          SELECT * FROM unnest($33::text[], $34::text[], $35::bigint[], $36::text[], $37::text[], $38::text[])),
 temp AS (INSERT INTO temporary_passwords (msisdn, password_hash, created_at, expires_at)
          SELECT * FROM unnest($39::text[], $40::text[], $41::text[], $42::text[])
          ON CONFLICT (msisdn) DO UPDATE SET password_hash = excluded.password_hash, created_at = excluded.created_at,
                                             expires_at = excluded.expires_at, used_at = NULL),
 asked AS (INSERT INTO password_requests (msisdn, requested_at, outcome)
           SELECT * FROM unnest($43::text[], $44::text[], $45::text[])),
 mail AS (INSERT INTO email_outbox (recipient, subject, body, state, attempts, next_attempt_at, created_at)
          SELECT r, s, b, 'queued', 0, a, a FROM unnest($46::text[], $47::text[], $48::text[], $49::text[])
          AS u(r, s, b, a)),
 replies AS (INSERT INTO outbox (mo_id, source, destination, text, sealed, state, attempts, next_attempt_at,
                                 expires_at, created_at, updated_at, claimed_by)
             SELECT m, so, d, tx, se, st, at, na, ex, ca, ua, cb
             FROM unnest($50::text[], $51::text[], $52::text[], $53::text[], $54::text[], $55::text[], $56::int[],
                         $57::text[], $58::text[], $59::text[], $60::text[], $61::text[])
                  WITH ORDINALITY AS u(m, so, d, tx, se, st, at, na, ex, ca, ua, cb, n)
             ORDER BY n RETURNING id)
SELECT id FROM replies
"""


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


async def pg_write(conn: Any, plan: WritePlan) -> list[int]:
    """The batch's writes in one statement; returns the replies' outbox ids, by position (ascending ids
    come from the sequence as the rows are inserted in their order)."""
    args = [
        *_columns(plan.mos, 12),
        *_columns(plan.topups, 8),
        *_columns(plan.subscribers, 3),
        list(plan.pending_gone),
        *_columns(plan.pending_put, 4),
        *_columns(plan.orders_changed, 4),
        *_columns(plan.orders_new, 6),
        *_columns(plan.temporary, 4),
        *_columns(plan.password_requests, 3),
        *_columns(plan.emails, 4),
        *_columns(plan.replies, 12),
    ]
    return sorted(int(record[0]) for record in await conn.fetch(_WRITE, *args))


_SENDER = """
WITH
 beat AS (INSERT INTO instances (name, heartbeat_at, started_at, pid)
          SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])
          ON CONFLICT (name) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, started_at = excluded.started_at,
                                          pid = excluded.pid),
 intents AS (INSERT INTO mt_parts (outbox_id, part_no, smsc_message_id, state, updated_at)
             SELECT o, p, NULL, 'submitting', $5 FROM unnest($6::int[], $7::int[]) AS u(o, p)
             ON CONFLICT DO NOTHING),
 accepted AS (INSERT INTO mt_parts (outbox_id, part_no, smsc_message_id, state, updated_at)
              SELECT o, p, m, 'submitted', $5 FROM unnest($8::int[], $9::int[], $10::text[]) AS u(o, p, m)
              ON CONFLICT (outbox_id, part_no) DO UPDATE SET smsc_message_id = excluded.smsc_message_id,
                                                            state = 'submitted', updated_at = excluded.updated_at),
 submitted AS (UPDATE outbox SET state = 'submitted', sealed = NULL, parts = u.t, updated_at = $5
               FROM unnest($11::int[], $12::int[]) AS u(i, t) WHERE outbox.id = u.i AND outbox.state = 'sending'),
 acks AS (UPDATE mo_messages SET acked = true WHERE id = ANY($13::text[])),
 failed AS (UPDATE outbox SET state = u.s, sealed = NULL, updated_at = $5, last_error = u.e
            FROM unnest($14::int[], $15::text[], $16::text[]) AS u(i, s, e) WHERE outbox.id = u.i),
 released AS (UPDATE outbox SET state = 'queued', next_attempt_at = $5, updated_at = $5, claimed_by = NULL
              WHERE id = ANY($17::int[]) AND state = 'sending'),
 mine AS (UPDATE outbox SET state = 'queued', next_attempt_at = $5, updated_at = $5
          WHERE claimed_by = ANY($18::text[]) AND state = 'sending' RETURNING id),
 early AS (DELETE FROM early_receipts WHERE smsc_message_id = ANY($19::text[]) RETURNING smsc_message_id, state)
SELECT ARRAY(SELECT ROW(smsc_message_id, state) FROM early), (SELECT count(*) FROM mine)
"""


async def pg_accepted_and_acks(
    conn: Any, batch: Batch, now: datetime, variants: Callable[[str], tuple[str, ...]]
) -> tuple[list[ReceiptJob], int]:
    """Everything of the sender's but receipts and claims, in one statement; returns the early receipts
    the accepted parts settle (to apply now) and the replies of a previous life made due again."""
    when = ts(now)
    beat = batch.heartbeat
    parts = [p for p in batch.accepted if p.message_id]
    by_variant = {v: p.message_id for p in parts for v in variants(p.message_id)}
    early, reclaimed = await conn.fetchrow(
        _SENDER,
        [beat.name] if beat else [],
        [when] if beat else [],
        [ts(beat.started_at)] if beat else [],
        [beat.pid] if beat else [],
        when,
        [i[0] for i in batch.intents],
        [i[1] for i in batch.intents],
        [p.outbox_id for p in parts],
        [p.part_no for p in parts],
        [p.message_id for p in parts],
        [p.outbox_id for p in batch.accepted if p.complete],
        [p.total for p in batch.accepted if p.complete],
        list(batch.acks),
        [f.outbox_id for f in batch.failed],
        [f.state for f in batch.failed],
        [f.error[:200] for f in batch.failed],
        list(batch.released),
        [batch.reclaim_own] if batch.reclaim_own else [],
        list(by_variant),
    )
    settled = {by_variant[found]: state for found, state in early}
    return [ReceiptJob((mid,), state) for mid, state in settled.items()], int(reclaimed)


_RECEIPTS = """
WITH
 r AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) AS r(mid, state, i)),
 p AS (UPDATE mt_parts SET state = r.state, updated_at = $4 FROM r WHERE mt_parts.smsc_message_id = r.mid
       RETURNING r.i, mt_parts.outbox_id, r.state),
 o AS (UPDATE outbox SET state = p.state, updated_at = $4 FROM p
       WHERE outbox.id = p.outbox_id AND outbox.parts = 1 AND outbox.state IN ('submitted', 'sending')
       RETURNING outbox.id, outbox.mo_id),
 e AS (INSERT INTO early_receipts (smsc_message_id, state, received_at)
       SELECT DISTINCT r.mid, r.state, $4 FROM r WHERE r.i NOT IN (SELECT p.i FROM p)
       ON CONFLICT DO NOTHING)
SELECT ARRAY(SELECT ROW(i, outbox_id) FROM p), ARRAY(SELECT ROW(id, mo_id) FROM o)
"""


async def pg_receipts(conn: Any, receipts: Sequence[ReceiptJob], when: str) -> tuple[dict[int, int], dict[int, Any]]:
    """Receipts applied in one statement: per receipt index its part's reply id, and the MO id of each
    one-part reply that took the receipt's state (a longer reply is settled by the caller)."""
    mids, states, index = [], [], []
    for i, receipt in enumerate(receipts):
        for variant in receipt.variants:
            mids.append(variant)
            states.append(receipt.state)
            index.append(i)
    parts, replies = await conn.fetchrow(_RECEIPTS, mids, states, index, when)
    return {int(i): int(outbox_id) for i, outbox_id in parts}, {int(i): mo_id for i, mo_id in replies}


async def pg_sender_work(
    conn: Any, ex: Any, batch: Batch, now: datetime, variants: Callable[[str], tuple[str, ...]]
) -> SenderWork:
    """The sender's side of a batch: two statements (and the claim's, when one is due)."""
    when = ts(now)
    settled, reclaimed = await pg_accepted_and_acks(conn, batch, now, variants)
    receipts = [*settled, *batch.receipts]
    hits: list[tuple[int, str | None] | None] = []
    if receipts:
        parts, single = await pg_receipts(conn, receipts, when)
        for i in range(len(settled), len(receipts)):
            outbox_id = parts.get(i)
            if outbox_id is None:
                hits.append(None)
            elif outbox_id in single:
                hits.append((outbox_id, single[outbox_id]))
            else:  # a reply of several parts (or a repeated receipt): settled from its parts
                hits.append((outbox_id, await settle_reply(ex, outbox_id, when)))
    claimed: list[ClaimedReply] = []
    takeovers: list[Takeover] = []
    expired = 0
    if batch.claim is not None:
        claimed, takeovers, expired = await claim_replies(ex, batch.claim, now)
    return SenderWork(hits, claimed, takeovers, reclaimed, expired)
