"""The database schema (SQLAlchemy Core tables), the same on SQLite and PostgreSQL.

Conventions that keep both databases exact and the hot path cheap:
- money is integer cents (``*_cents``), never a float or a driver-specific decimal;
- instants are UTC text in one fixed-width format (``smsgw.db.timefmt``), which
  sorts and compares correctly as text on both databases; calendar dates are
  ``YYYY-MM-DD`` text;
- ``topups`` and ``charges`` are insert-only: no code path updates or deletes them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

__all__ = [
    "SMSC_REF_MAX",
    "charges",
    "early_receipts",
    "email_outbox",
    "instances",
    "metadata",
    "mo_messages",
    "mo_parts",
    "monthly_orders",
    "monthly_runs",
    "mt_parts",
    "outbox",
    "password_requests",
    "pending_requests",
    "subscribers",
    "temporary_passwords",
    "topups",
]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_MSISDN = 15
_TS = 27  # 2026-11-22T02:31:26.123456Z
_ADDR = 64  # an MO's address as read: SMPP 3.4 allows 20 characters, our decoder takes up to 64
SMSC_REF_MAX = 80  # an SMSC's own MO id as stored (a longer one is stored as its digest)

subscribers = Table(
    "subscribers",
    metadata,
    Column("msisdn", String(_MSISDN), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("status", String(10), nullable=False),
    Column("customer_type", String(10), nullable=False),
    Column("sos_sms_allowed", Boolean, nullable=False),
    Column("language", String(2), nullable=False),
    Column("email", String(254)),
    Column("karte_expires_on", String(10)),
    Column("balance_cents", BigInteger),
    Column("portal_password_hash", String(200)),
    Column("updated_at", String(_TS), nullable=False),
)

# One row per MO as received (a long MO once, after its parts are complete).
mo_messages = Table(
    "mo_messages",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("source", String(_ADDR), nullable=False),
    Column("destination", String(_ADDR), nullable=False),
    Column("text", Text, nullable=False),
    Column("data_coding", Integer, nullable=False),
    Column("smsc_ref", String(SMSC_REF_MAX)),
    Column("fingerprint", String(64), nullable=False),
    Column("received_at", String(_TS), nullable=False),
    Column("processed_at", String(_TS), nullable=False),
    Column("command", String(32)),
    Column("outcome", String(64), nullable=False),
    # Set once the SMSC is known to have received our deliver_sm_resp; only MOs
    # without it can be redelivered, so only they are matched by fingerprint.
    Column("acked", Boolean, nullable=False),
    Index(None, "fingerprint", "received_at"),
    # Most MOs carry no SMSC id: only those that do are indexed.
    Index(
        None,
        "smsc_ref",
        unique=True,
        sqlite_where=text("smsc_ref IS NOT NULL"),
        postgresql_where=text("smsc_ref IS NOT NULL"),
    ),
)

# Parts of long MOs, stored (and acknowledged) one by one until the message is complete.
mo_parts = Table(
    "mo_parts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(_ADDR), nullable=False),
    Column("destination", String(_ADDR), nullable=False),
    Column("reference", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("sequence", Integer, nullable=False),
    Column("data_coding", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("received_at", String(_TS), nullable=False),
    Column("mo_id", String(32)),  # set when the complete message was processed
    UniqueConstraint("source", "destination", "reference", "total", "sequence"),
)

topups = Table(
    "topups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sender", String(_MSISDN), nullable=False),
    Column("karte", String(_MSISDN), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("created_at", String(_TS), nullable=False),
    Column("mo_id", String(32)),
    Column("order_id", Integer),
    Column("period", String(7)),
    Index(None, "sender", "created_at"),
    # A monthly order runs at most once per month (one-off top-ups have no order).
    Index(
        None,
        "order_id",
        "period",
        unique=True,
        sqlite_where=text("order_id IS NOT NULL"),
        postgresql_where=text("order_id IS NOT NULL"),
    ),
)

charges = Table(
    "charges",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topup_id", Integer, ForeignKey("topups.id"), nullable=False, unique=True),
    Column("sender", String(_MSISDN), nullable=False),
    Column("karte", String(_MSISDN), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("kind", String(10), nullable=False),
    Column("charged_at", String(_TS), nullable=False),
    Index(None, "charged_at"),
)

pending_requests = Table(
    "pending_requests",
    metadata,
    Column("sender", String(_MSISDN), primary_key=True),
    Column("karte", String(_MSISDN), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("requested_at", String(_TS), nullable=False),
)

monthly_orders = Table(
    "monthly_orders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sender", String(_MSISDN), nullable=False),
    Column("karte", String(_MSISDN), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("created_at", String(_TS), nullable=False),
    Column("confirmed_at", String(_TS), nullable=False),
    Column("last_month", String(7)),
    UniqueConstraint("sender", "karte"),
)

monthly_runs = Table(
    "monthly_runs",
    metadata,
    Column("order_id", Integer, ForeignKey("monthly_orders.id"), nullable=False),
    Column("month", String(7), nullable=False),
    Column("outcome", String(64), nullable=False),
    Column("ran_at", String(_TS), nullable=False),
    PrimaryKeyConstraint("order_id", "month"),
)

password_requests = Table(
    "password_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("msisdn", String(_MSISDN), nullable=False),
    Column("requested_at", String(_TS), nullable=False),
    Column("outcome", String(16), nullable=False),
    Index(None, "msisdn", "requested_at"),
)

temporary_passwords = Table(
    "temporary_passwords",
    metadata,
    Column("msisdn", String(_MSISDN), primary_key=True),
    Column("password_hash", String(200), nullable=False),
    Column("created_at", String(_TS), nullable=False),
    Column("expires_at", String(_TS), nullable=False),
    Column("used_at", String(_TS)),
)

email_outbox = Table(
    "email_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recipient", String(254), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("body", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", String(_TS), nullable=False),
    Column("created_at", String(_TS), nullable=False),
    Column("last_error", String(200)),
    Index(None, "state", "next_attempt_at"),
)

# Replies waiting to be sent (the outbox the SMPP edge drains). ``text`` of a
# sensitive reply is redacted; the real text is ``sealed`` (encrypted) until sent.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mo_id", String(32)),
    Column("source", String(32), nullable=False),
    Column("destination", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("sealed", Text),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", String(_TS), nullable=False),
    Column("expires_at", String(_TS), nullable=False),
    Column("created_at", String(_TS), nullable=False),
    Column("updated_at", String(_TS), nullable=False),
    Column("claimed_by", String(40)),
    Column("parts", Integer),
    Column("last_error", String(200)),
    Index(None, "state", "next_attempt_at"),
    Index(None, "claimed_by", "state"),
)

# One row per submitted part: the persisted correlator (SMSC message id -> reply).
mt_parts = Table(
    "mt_parts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("outbox_id", Integer, ForeignKey("outbox.id"), nullable=False),
    Column("part_no", Integer, nullable=False),
    Column("smsc_message_id", String(80)),
    Column("state", String(16), nullable=False),
    Column("updated_at", String(_TS), nullable=False),
    Index(None, "smsc_message_id"),
    UniqueConstraint("outbox_id", "part_no"),
)

# One row per running gateway instance; a reply claimed by an instance whose heartbeat
# is older than [outbox] takeover is taken over by the others.
instances = Table(
    "instances",
    metadata,
    Column("name", String(80), primary_key=True),
    Column("heartbeat_at", String(_TS), nullable=False),
    Column("started_at", String(_TS), nullable=False),
    Column("pid", Integer, nullable=False),
)

# Delivery receipts that arrived before their submit_sm_resp was stored.
early_receipts = Table(
    "early_receipts",
    metadata,
    Column("smsc_message_id", String(80), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("received_at", String(_TS), nullable=False),
)
