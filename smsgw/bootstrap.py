"""Wiring: the only module that knows every concrete class. Config in, a ready service out."""

from __future__ import annotations

import hashlib
import socket
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from handlers.rules import Rules

from .batch.runner import BatchRunner
from .config import Config
from .db.database import Database, open_database
from .db.migrate import upgrade
from .sealing import KeySource, Sealer, load_sealer
from .service import Service

__all__ = ["App", "build", "instance_name", "rules_from", "sealer_from"]


def rules_from(config: Config) -> Rules:
    sos, pw = config.sos, config.password
    return Rules(
        tz=ZoneInfo(sos.timezone),
        one_off_min=sos.one_off_min,
        one_off_max=sos.one_off_max,
        daily_cap=sos.daily_cap,
        monthly_cap=sos.monthly_cap,
        monthly_min=sos.monthly_min,
        monthly_max=sos.monthly_max,
        confirm_window=timedelta(hours=sos.confirm_hours),
        expired_grace_months=sos.expired_grace_months,
        validity=tuple(sorted((step.from_amount, step.days) for step in sos.validity)),
        monthly_run_at=sos.monthly_run_at,
        password_length=pw.length,
        password_valid=timedelta(hours=pw.valid_hours),
        password_per_hour=pw.per_hour,
        password_per_day=pw.per_day,
    )


def sealer_from(config: Config, *, required: bool) -> Sealer:
    """The sealing keys of ``[security]``; ``required``: none is an error (``MissingKeyError``)."""
    security = config.security
    return load_sealer(KeySource(security.secret_key, security.key_file, config.path), required=required)


@dataclass
class App:
    config: Config
    db: Database  # SQLAlchemy: the cold paths (CLI, scheduler, migrations)
    service: Service
    runner: BatchRunner  # the hot path: batches on sqlite3 / asyncpg
    instance: str  # this gateway's name among the instances sharing the database

    async def close(self) -> None:
        await self.runner.store.close()
        await self.db.close()


def instance_name(config: Config) -> str:
    """``[outbox] instance``, else the host and a digest of where this instance's config and HTTP port are:
    stable across restarts (so a restarted instance takes its own replies back at once), distinct per instance."""
    if config.outbox.instance:
        return config.outbox.instance
    where = f"{config.path.resolve()}:{config.http.host}:{config.http.port}"
    return f"{socket.gethostname()[:28]}-{hashlib.sha256(where.encode()).hexdigest()[:10]}"


async def build(config: Config, *, migrate: bool | None = None, live: bool = False, require_key: bool = False) -> App:
    """Open the database (migrating it first unless told not to) and wire the service.

    ``live``: for ``smsgw run`` — replies are born claimed by this instance's sender.
    Without ``require_key`` a missing key is an error only when something is sealed.
    """
    sealer = sealer_from(config, required=require_key)
    if migrate if migrate is not None else config.database.apply_migrations:
        await upgrade(config.database.url)
    db = open_database(
        config.database.url,
        batch_size=config.database.batch_size,
        busy_timeout=config.database.busy_timeout,
        pool_size=config.database.pool_size,
        commit_delay=config.database.test_commit_delay,
    )
    instance = instance_name(config)
    service = Service(
        db,
        rules_from(config),
        sealer,
        redelivery_window=timedelta(seconds=config.smpp.redelivery_window),
        reply_validity=timedelta(seconds=config.smpp.reply_validity),
        scrypt_n=config.password.scrypt_n,
        claimed_by=instance if live else None,
    )
    return App(config, db, service, service.runner, instance)
