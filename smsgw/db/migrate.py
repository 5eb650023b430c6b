"""Alembic migrations, run programmatically (``smsgw db upgrade`` and at start-up).

On PostgreSQL the upgrade holds an advisory lock, so several gateway instances
starting together migrate once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

__all__ = ["current_revision", "head_revision", "upgrade"]

_SCRIPTS = Path(__file__).with_name("migrations")
_LOCK_ID = 0x5E5_1643


def _alembic_config(connection: Any | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def _upgrade(sync_conn: Any) -> None:
    if sync_conn.dialect.name == "postgresql":
        sync_conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    command.upgrade(_alembic_config(sync_conn), "head")


async def upgrade(url: str) -> str:
    """Bring the database at ``url`` to the newest schema; returns the revision."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                await conn.exec_driver_sql("PRAGMA foreign_keys = ON")
            await conn.run_sync(_upgrade)
        return await current_revision(url, engine=engine) or ""
    finally:
        await engine.dispose()


async def current_revision(url: str, *, engine: Any = None) -> str | None:
    own = engine is None
    engine = engine or create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())  # type: ignore[no-any-return]
    finally:
        if own:
            await engine.dispose()
