"""The batch unit of work on PostgreSQL in four round trips, whatever the batch's size (one without MOs).

A statement costs a round trip to the server, so the batch is shaped around them:

1. ``BEGIN`` and the batch's locks in one simple-protocol script: advisory
   transaction locks on every number it touches, in one global order (``lock_key``,
   the same in the cold paths), so instances never deadlock on each other and
   copies of one MO on two instances are decided one after the other;
2. one load: every table the batch reads, as arrays of rows in one ``SELECT``;
3. one statement for everything it writes (``pg_record``): the decisions' rows and
   the sender's work — heartbeat, parts about to be written, accepted parts,
   acknowledgements, failures, receipts — as data-modifying CTEs fed by ``unnest``.
   A receipt of a part accepted in the same batch is applied to that part's new
   row directly (the CTEs of one statement do not see each other's rows);
4. ``COMMIT``.

A batch with no MO and no claim is that one statement alone, in autocommit.
Writes that few batches have (parts of long MOs, portal passwords), claims, the
early receipts a newly recorded message id settles and replies of several parts
go through the generic SQL (``batch_write``, ``batch_sender``) on the same connection.
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
from .batch_sender import SenderWork, claim_replies, record_receipts, settle_reply
from .batch_write import WritePlan
from .timefmt import euros, parse_ts, ts

__all__ = ["lock_key", "lock_script", "pg_load", "pg_record"]


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


_DECISIONS = """
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
             ORDER BY n RETURNING id),"""

_SENDER = """
 beat AS (INSERT INTO instances (name, heartbeat_at, started_at, pid)
          SELECT n, $62, s, p FROM unnest($63::text[], $64::text[], $65::int[]) AS u(n, s, p)
          ON CONFLICT (name) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, started_at = excluded.started_at,
                                          pid = excluded.pid),
 intents AS (INSERT INTO mt_parts (outbox_id, part_no, smsc_message_id, state, updated_at)
             SELECT o, p, NULL, 'submitting', $62 FROM unnest($66::int[], $67::int[]) AS u(o, p)
             ON CONFLICT DO NOTHING),
 accepted AS (INSERT INTO mt_parts (outbox_id, part_no, smsc_message_id, state, updated_at)
              SELECT o, p, m, st, $62 FROM unnest($68::int[], $69::int[], $70::text[], $71::text[]) AS u(o, p, m, st)
              ON CONFLICT (outbox_id, part_no) DO UPDATE SET smsc_message_id = excluded.smsc_message_id,
                                                            state = excluded.state, updated_at = excluded.updated_at),
 submitted AS (UPDATE outbox SET state = u.st, sealed = NULL, parts = u.t, updated_at = $62
               FROM unnest($72::int[], $73::int[], $74::text[]) AS u(i, t, st)
               WHERE outbox.id = u.i AND outbox.state = 'sending'),
 acks AS (UPDATE mo_messages SET acked = true WHERE id = ANY($75::text[])),
 failed AS (UPDATE outbox SET state = u.s, sealed = NULL, updated_at = $62, last_error = u.e
            FROM unnest($76::int[], $77::text[], $78::text[]) AS u(i, s, e) WHERE outbox.id = u.i),
 released AS (UPDATE outbox SET state = 'queued', next_attempt_at = $62, updated_at = $62, claimed_by = NULL
              WHERE id = ANY($79::int[]) AND state = 'sending'),
 mine AS (UPDATE outbox SET state = 'queued', next_attempt_at = $62, updated_at = $62
          WHERE claimed_by = ANY($80::text[]) AND state = 'sending' RETURNING id),
 early AS (DELETE FROM early_receipts WHERE smsc_message_id = ANY($81::text[]) RETURNING smsc_message_id, state),
 r AS (SELECT * FROM unnest($82::text[], $83::text[], $84::int[]) AS r(mid, state, i)),
 p AS (UPDATE mt_parts SET state = r.state, updated_at = $62 FROM r WHERE mt_parts.smsc_message_id = r.mid
       RETURNING r.i, mt_parts.outbox_id, r.state),
 o AS (UPDATE outbox SET state = p.state, updated_at = $62 FROM p
       WHERE outbox.id = p.outbox_id AND outbox.parts = 1 AND outbox.state IN ('submitted', 'sending')
       RETURNING outbox.id, outbox.mo_id),
 first AS (INSERT INTO mt_parts (outbox_id, part_no, smsc_message_id, state, updated_at)
           SELECT id, 1, NULL, 'submitting', $62
           FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM replies) AS r WHERE n = ANY($85::int[])),
 e AS (INSERT INTO early_receipts (smsc_message_id, state, received_at)
       SELECT DISTINCT r.mid, r.state, $62 FROM r WHERE r.i NOT IN (SELECT p.i FROM p)
       ON CONFLICT DO NOTHING)
SELECT ARRAY(SELECT id FROM replies), ARRAY(SELECT ROW(smsc_message_id, state) FROM early),
       (SELECT count(*) FROM mine), ARRAY(SELECT ROW(i, outbox_id) FROM p), ARRAY(SELECT ROW(id, mo_id) FROM o)
"""

_RECORD = "WITH" + _DECISIONS + _SENDER


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


def _decision_args(plan: WritePlan | None) -> list[Any]:
    plan = plan or WritePlan()
    return [
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


async def pg_record(
    conn: Any,
    ex: Any,
    plan: WritePlan | None,
    batch: Batch,
    now: datetime,
    variants: Callable[[str], tuple[str, ...]],
) -> tuple[list[int], SenderWork]:
    """Everything the batch writes in one statement; returns the replies' outbox ids (by position: ascending
    ids come from the sequence as the rows are inserted in their order) and what the sender's side found."""
    when = ts(now)
    beat = batch.heartbeat
    parts = [p for p in batch.accepted if p.message_id]
    # A receipt of a part accepted in this very batch is applied to the part's new row.
    accepted_by_variant = {v: i for i, p in enumerate(parts) for v in variants(p.message_id)}
    part_state = ["submitted"] * len(parts)
    direct: dict[int, int] = {}  # receipt index -> index into parts
    rest: list[int] = []
    for i, receipt in enumerate(batch.receipts):
        found = next((accepted_by_variant[v] for v in receipt.variants if v in accepted_by_variant), None)
        if found is None:
            rest.append(i)
        else:
            direct[i] = found
            part_state[found] = receipt.state
    state_of = {(p.outbox_id, p.part_no): part_state[i] for i, p in enumerate(parts)}
    complete = [p for p in batch.accepted if p.complete]
    mids, states, index = [], [], []
    for i in rest:
        for variant in batch.receipts[i].variants:
            mids.append(variant)
            states.append(batch.receipts[i].state)
            index.append(i)
    by_variant = {v: p.message_id for p in parts for v in variants(p.message_id)}
    args = [
        *_decision_args(plan),
        when,
        [beat.name] if beat else [],
        [ts(beat.started_at)] if beat else [],
        [beat.pid] if beat else [],
        [i[0] for i in batch.intents],
        [i[1] for i in batch.intents],
        [p.outbox_id for p in parts],
        [p.part_no for p in parts],
        [p.message_id for p in parts],
        part_state,
        [p.outbox_id for p in complete],
        [p.total for p in complete],
        [state_of.get((p.outbox_id, p.part_no), "submitted") if p.total == 1 else "submitted" for p in complete],
        list(batch.acks),
        [f.outbox_id for f in batch.failed],
        [f.state for f in batch.failed],
        [f.error[:200] for f in batch.failed],
        list(batch.released),
        [batch.reclaim_own] if batch.reclaim_own else [],
        list(by_variant),
        mids,
        states,
        index,
        [i + 1 for i in plan.first_parts] if plan is not None else [],
    ]
    reply_ids, early, reclaimed, matched, single = await conn.fetchrow(_RECORD, *args)
    hits: list[tuple[int, str | None] | None] = [None] * len(batch.receipts)
    single_mo = {int(outbox_id): mo_id for outbox_id, mo_id in single}
    for i, outbox_id in matched:
        outbox_id = int(outbox_id)
        mo_id = single_mo[outbox_id] if outbox_id in single_mo else await settle_reply(ex, outbox_id, when)
        hits[int(i)] = (outbox_id, mo_id)
    for i, found in direct.items():
        part = parts[found]
        if part.total > 1:  # the last of its parts may have come: settle the reply from its parts
            await settle_reply(ex, part.outbox_id, when)
        hits[i] = (part.outbox_id, None)
    if early:  # receipts that came before this batch recorded their message ids: applied now
        settled = {by_variant[found]: state for found, state in early}
        await record_receipts(ex, [ReceiptJob((mid,), state) for mid, state in settled.items()], when)
    claimed: list[ClaimedReply] = []
    takeovers: list[Takeover] = []
    expired = 0
    if batch.claim is not None:
        claimed, takeovers, expired = await claim_replies(ex, batch.claim, now)
    work = SenderWork(hits, claimed, takeovers, int(reclaimed), expired)
    return sorted(int(i) for i in reply_ids), work
