"""Writing validated subscribers: one transaction, so an import is all or nothing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from handlers.model import Subscriber

from .db.subscribers import upsert_statement

__all__ = ["import_subscribers"]


async def import_subscribers(
    app: Any, rows: Sequence[Subscriber], *, progress: Callable[[int, int], None] | None = None
) -> int:
    """Upsert ``rows`` in one transaction; ``progress(done, total)`` after every 5,000."""
    if not rows:
        return 0
    now = datetime.now(UTC)

    async def unit(uow: Any) -> int:
        stmt, values = upsert_statement(uow.sql.dialect, rows, now)
        for start in range(0, len(values), 5000):
            await uow.sql.run(stmt, values[start : start + 5000])
            if progress is not None:
                progress(min(start + 5000, len(values)), len(values))
        return len(values)

    return await app.db.write(unit)  # type: ignore[no-any-return]
