"""The unit of work on SQL: every repository over one transaction's connection."""

from __future__ import annotations

from .emails import SqlEmailQueue
from .ledger import SqlLedger
from .messages import SqlMessages
from .mo_parts import SqlMoParts
from .orders import SqlMonthlyOrders, SqlPendingRequests
from .outbox import SqlOutbox
from .passwords import SqlPasswordStore
from .sql import Sql
from .subscribers import SqlSubscribers

__all__ = ["SqlUnitOfWork"]


class SqlUnitOfWork:
    """Implements :class:`handlers.ports.UnitOfWork`, plus ``messages`` for the service's own rows.

    It never commits: the database runs it inside a transaction and commits when
    the work returns (or rolls back when it raises).
    """

    def __init__(self, sql: Sql) -> None:
        self.sql = sql
        self.subscribers = SqlSubscribers(sql)
        self.ledger = SqlLedger(sql)
        self.pending = SqlPendingRequests(sql)
        self.orders = SqlMonthlyOrders(sql)
        self.passwords = SqlPasswordStore(sql)
        self.emails = SqlEmailQueue(sql)
        self.messages = SqlMessages(sql)
        self.outbox = SqlOutbox(sql)
        self.mo_parts = SqlMoParts(sql)
