"""Wiring: the only module that knows every concrete class. Config in, a ready service out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from handlers.rules import Rules

from .config import Config
from .db.calls import CALLS, Catalog
from .db.database import Database, SqliteDatabase, open_database
from .db.migrate import upgrade
from .mo_unit import MoUnit
from .sealing import KeySource, Sealer, load_sealer
from .service import Service

__all__ = ["App", "build", "rules_from", "sealer_from"]


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
    db: Database
    service: Service

    async def close(self) -> None:
        await self.db.close()


def worker_catalog(config: Config) -> Catalog:
    """The named units of work of a database worker process (it runs the MO unit itself)."""
    sealer = sealer_from(config, required=True)
    unit = MoUnit(
        rules_from(config),
        sealer,
        redelivery_window=timedelta(seconds=config.smpp.redelivery_window),
        reply_validity=timedelta(seconds=config.smpp.reply_validity),
    )
    return {**CALLS, "mo": unit}


async def build(config: Config, *, migrate: bool | None = None, worker: bool = False, require_key: bool = False) -> App:
    """Open the database (migrating it first unless told not to) and wire the service.

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
    )
    if worker and isinstance(db, SqliteDatabase):
        db.use_worker(worker_catalog, config)
    service = Service(
        db,
        rules_from(config),
        sealer,
        redelivery_window=timedelta(seconds=config.smpp.redelivery_window),
        reply_validity=timedelta(seconds=config.smpp.reply_validity),
        scrypt_n=config.password.scrypt_n,
    )
    return App(config, db, service)
