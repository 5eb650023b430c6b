"""Writing validated subscribers: one transaction, so an import is all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from handlers.model import Subscriber

from .db.subscribers import upsert_statement

__all__ = ["import_subscribers"]


async def import_subscribers(app: Any, rows: Sequence[Subscriber]) -> int:
    if not rows:
        return 0
    now = datetime.now(UTC)

    async def unit(uow: Any) -> int:
        stmt, values = upsert_statement(uow.sql.dialect, rows, now)
        for start in range(0, len(values), 5000):
            await uow.sql.run(stmt, values[start : start + 5000])
        return len(values)

    return await app.db.write(unit)  # type: ignore[no-any-return]
