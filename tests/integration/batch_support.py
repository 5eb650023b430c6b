"""Helpers for the batch integration tests: jobs at the harness's clock, raw reads, a second database.

Reads go through the batch store's own executor (``?`` placeholders on both
databases), in a transaction of their own.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from smsgw.batch.jobs import Batch, BatchResult, ClaimRequest, MoJob
from smsgw.batch.runner import BatchRunner
from smsgw.mo import InboundMo, mo_job
from smsgw.subscriber_import import import_subscribers
from tests.postgres import PostgresServer

from .conftest import DIRECTORY, Harness, _App, make_harness

__all__ = [
    "HookedStore",
    "claim",
    "create_postgres_database",
    "fetch",
    "job",
    "ready_harness",
    "run",
    "second_url",
    "value",
]


def job(h: Harness, source: str, text: str, destination: str = "1643", **fields: Any) -> MoJob:
    """An MO as the gateway reads it, received now (by the harness's clock)."""
    return mo_job(InboundMo(source, destination, text, h.clock(), **fields))


async def run(h: Harness, *jobs: MoJob, runner: BatchRunner | None = None, **work: Any) -> BatchResult:
    return await (runner or h.service.runner).run(Batch(mos=list(jobs), **work))


async def claim(h: Harness, owner: str, *, limit: int = 100, takeover: float = 10.0) -> BatchResult:
    request = ClaimRequest(owner, limit, h.clock() - timedelta(seconds=takeover))
    return await run(h, claim=request)


async def fetch(h: Harness, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    async with h.service.runner.store.transaction() as ex:
        return [tuple(row) for row in await ex.fetch(sql, *args)]


async def value(h: Harness, sql: str, *args: Any) -> Any:
    rows = await fetch(h, sql, *args)
    return rows[0][0] if rows else None


async def create_postgres_database(server: PostgresServer) -> str:
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(host="127.0.0.1", port=server.port, user=server.user, database="postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server.url(name)


async def second_url(request: pytest.FixtureRequest, url: str) -> str:
    """Another empty database of the same kind as ``url``."""
    if url.startswith("sqlite"):
        return url.replace("smsgw.db", "second.db")
    return await create_postgres_database(request.getfixturevalue("postgres_server"))


async def ready_harness(url: str, *, migrate: bool = True) -> Harness:
    """A harness on ``url`` with the test directory imported."""
    h = await make_harness(url, migrate=migrate)
    await import_subscribers(_App(h.db), DIRECTORY)
    return h


class HookedStore:
    """The real batch store with hooks between its steps, for faults and races at a chosen instant.

    ``before_record(ex, attempt)`` runs once the batch has loaded and decided, before it writes;
    ``after_commit(mo_sources)`` once its transaction has committed, with the sources of its MOs.
    """

    def __init__(
        self,
        store: Any,
        *,
        before_record: Callable[[Any, int], Awaitable[None]] | None = None,
        after_commit: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.store = store
        self.dialect = store.dialect
        self.before_record = before_record
        self.after_commit = after_commit
        self.attempts = 0  # transactions begun
        self._written: dict[int, list[str]] = {}

    def transaction(self, lock: Sequence[str] = (), *, alone: bool = False) -> Any:
        @contextlib.asynccontextmanager
        async def transaction() -> AsyncIterator[Any]:
            self.attempts += 1
            async with self.store.transaction(lock, alone=alone) as ex:
                try:
                    yield ex
                finally:
                    written = self._written.pop(id(ex), [])
            if self.after_commit is not None:
                self.after_commit(written)

        return transaction()

    async def load(self, ex: Any, keys: Any, snap: Any) -> None:
        await self.store.load(ex, keys, snap)

    async def record(self, ex: Any, plan: Any, batch: Any, now: Any, variants: Any) -> Any:
        if self.before_record is not None:
            await self.before_record(ex, self.attempts)
        if plan is not None:
            self._written[id(ex)] = [row[1] for row in plan.mos]
        return await self.store.record(ex, plan, batch, now, variants)

    def retryable(self, error: BaseException) -> bool:
        return bool(self.store.retryable(error))

    async def analyze(self) -> None:
        await self.store.analyze()

    async def close(self) -> None:
        await self.store.close()
