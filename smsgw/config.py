"""Configuration: ``config.toml`` read once into typed, validated objects.

Every key is documented in the shipped ``config.toml`` and every key that can
have a default has one (``[http]`` included: loopback, port 8080), so a command
needs only what it uses: ``smsgw run`` needs ``[smpp] system_id`` and
``password`` (``host`` and ``port`` default to the local simulator's); the other
commands need no table at all. Secrets may come from environment variables,
which override the file (see ``ENV_OVERRIDES``).

Every problem is reported (``ConfigError.problems``), one line each naming the
file, the table and the key, e.g. ``config.toml: [smpp] port: Input should be a
valid integer (got 'abc')``; a misspelt key is named with the nearest known one,
and the value of a secret is never shown (``smsgw.config_problems``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Sequence
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .config_problems import describe, missing_required

__all__ = ["ENV_OVERRIDES", "RUN_NEEDS", "Config", "ConfigError", "load_config"]

#: Environment variables that override keys of the file: (variable, table, key).
ENV_OVERRIDES: tuple[tuple[str, str, str], ...] = (
    ("SMSGW_SMPP_PASSWORD", "smpp", "password"),
    ("SMSGW_DATABASE_URL", "database", "url"),
    ("SMSGW_EMAIL_PASSWORD", "email", "password"),
    ("SMSGW_SECRET_KEY", "security", "secret_key"),
)


#: What ``smsgw run`` (and ``demo``) need set beyond the defaults: who the gateway binds as.
RUN_NEEDS: tuple[tuple[str, str], ...] = (("smpp", "system_id"), ("smpp", "password"))


class ConfigError(Exception):
    """The configuration cannot be used: ``problems`` has one line per problem, naming the key."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SmppConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=2775, ge=1, le=65535)
    system_id: str = Field(default="", min_length=1, max_length=15)  # needed by run: RUN_NEEDS
    password: str = Field(default="", max_length=8)  # needed by run: RUN_NEEDS
    system_type: str = Field(default="", max_length=12)
    enquire_link_interval: float = Field(default=30.0, gt=0)
    socket_timeout: float = Field(default=30.0, gt=0)
    window: int = Field(default=10, ge=1, le=1000)
    mo_window: int = Field(default=256, ge=1, le=10000)
    submit_timeout: float = Field(default=15.0, gt=0)
    redelivery_window: float = Field(default=86400.0, ge=0)
    confirm_within: float = Field(default=0.5, gt=0, le=3600)
    mo_message_id_tag: int = Field(default=0, ge=0, le=0xFFFF)
    reply_validity: float = Field(default=86400.0, gt=0)
    registered_delivery: bool = True
    reconnect_min: float = Field(default=0.5, gt=0)
    reconnect_max: float = Field(default=30.0, gt=0)
    throttle_backoff: float = Field(default=1.0, gt=0)


class DatabaseConfig(_Section):
    url: str = "sqlite+aiosqlite:///smsgw.db"
    batch_size: int = Field(default=64, ge=1, le=10_000)
    busy_timeout: float = Field(default=10.0, gt=0)
    pool_size: int = Field(default=10, ge=1, le=200)
    apply_migrations: bool = True
    writer: Literal["process", "thread"] = "process"
    # Fault injection for reliability tests: each commit on the SQLite hot path first
    # waits a random 0..N seconds (a slow disk). 0 in production.
    test_commit_delay: float = Field(default=0.0, ge=0, le=10)

    @field_validator("url")
    @classmethod
    def _supported(cls, url: str) -> str:
        if not (url.startswith("sqlite+aiosqlite://") or url.startswith("postgresql+asyncpg://")):
            raise ValueError(
                f"must start with sqlite+aiosqlite:// (embedded) or postgresql+asyncpg:// (got {url.split('://')[0]!r})"
            )
        try:
            make_url(url)
        except (ValueError, ArgumentError):
            raise ValueError("not a valid database URL (user:password@host:port/database)") from None
        return url


class OutboxConfig(_Section):
    # Seconds without a heartbeat after which another instance takes over an instance's replies.
    takeover: float = Field(default=10.0, gt=0, le=3600)
    # This instance's name among those sharing the database ("" = derived from the host,
    # the config file's path and the [http] port: stable across restarts).
    instance: str = Field(default="", max_length=40)


class HttpConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class LoggingConfig(_Section):
    format: Literal["auto", "json", "console"] = "auto"
    level: Literal["debug", "info", "warning", "error"] = "info"
    # The stdlib loggers of libraries (SQLAlchemy statements, aiosqlite calls, asyncio,
    # aiohttp access lines) at ``level`` too; otherwise only their warnings and errors.
    libraries: bool = False


class ValidityStep(_Section):
    """Top-ups of at least ``from_amount`` make the Karte valid for ``days`` from today."""

    from_amount: Decimal = Field(alias="from", ge=0)
    days: int = Field(ge=1, le=3660)


def _default_validity() -> list[ValidityStep]:
    steps = [("1.42", 30), ("5.00", 90), ("10.00", 180), ("20.00", 365)]
    return [ValidityStep.model_validate({"from": a, "days": d}) for a, d in steps]


class SosConfig(_Section):
    timezone: str = "Europe/Riga"
    one_off_min: Decimal = Decimal("1.42")
    one_off_max: Decimal = Decimal("21.34")
    daily_cap: Decimal = Decimal("21.34")
    monthly_cap: Decimal = Decimal("42.69")
    monthly_min: Decimal = Decimal("1.42")
    monthly_max: Decimal = Decimal("42.69")
    confirm_hours: int = Field(default=24, ge=1, le=720)
    expired_grace_months: int = Field(default=6, ge=0, le=120)
    monthly_run_at: time = time(10, 0)
    validity: list[ValidityStep] = Field(default_factory=_default_validity)

    @field_validator("one_off_min", "one_off_max", "daily_cap", "monthly_cap", "monthly_min", "monthly_max")
    @classmethod
    def _cents(cls, value: Decimal) -> Decimal:
        if value < 0 or value != value.quantize(Decimal("0.01")):
            raise ValueError("must be a non-negative amount with at most two decimals")
        return value.quantize(Decimal("0.01"))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r}") from exc
        return name

    @model_validator(mode="after")
    def _ranges(self) -> SosConfig:
        if self.one_off_min > self.one_off_max or self.monthly_min > self.monthly_max:
            raise ValueError("a minimum is above its maximum")
        if not self.validity:
            raise ValueError("validity needs at least one step")
        return self


class PasswordConfig(_Section):
    length: int = Field(default=10, ge=8, le=32)
    valid_hours: int = Field(default=24, ge=1, le=720)
    per_hour: int = Field(default=3, ge=1)
    per_day: int = Field(default=5, ge=1)
    scrypt_n: int = Field(default=2**14, ge=2**10, le=2**20)

    @field_validator("scrypt_n")
    @classmethod
    def _power_of_two(cls, n: int) -> int:
        if n & (n - 1):
            raise ValueError("must be a power of two")
        return n


class EmailConfig(_Section):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = "noreply@lmt.example"
    username: str = ""
    password: str = ""
    # "auto": STARTTLS whenever username or password is set; true: always; false: never.
    starttls: bool | Literal["auto"] = "auto"
    timeout: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=10, ge=1)

    @property
    def use_starttls(self) -> bool:
        """Whether the connection is upgraded with STARTTLS before anything is sent."""
        if self.starttls == "auto":
            return bool(self.username or self.password)
        return bool(self.starttls)


class SecurityConfig(_Section):
    """The keys that seal password SMS (``smsgw.sealing``); none by default: ``smsgw run`` needs one."""

    key_file: str = ""  # one Fernet key per line, newest first; relative to the config file's folder
    secret_key: str = ""  # one or more Fernet keys, comma-separated, newest first (SMSGW_SECRET_KEY)


class Config(_Section):
    smpp: SmppConfig = SmppConfig()
    http: HttpConfig = HttpConfig()
    database: DatabaseConfig = DatabaseConfig()
    logging: LoggingConfig = LoggingConfig()
    sos: SosConfig = SosConfig()
    password: PasswordConfig = PasswordConfig()
    email: EmailConfig = EmailConfig()
    security: SecurityConfig = SecurityConfig()
    outbox: OutboxConfig = OutboxConfig()
    # The simulator's table lives in the same file; the simulator validates it.
    simulator: dict[str, Any] = Field(default_factory=dict)
    path: Path = Path("config.toml")


def load_config(
    path: str | os.PathLike[str] = "config.toml",
    *,
    environ: dict[str, str] | None = None,
    needs: Sequence[tuple[str, str]] = (),
    needed_by: str = "this command",
) -> Config:
    """Read, override from the environment, and validate. Raises :class:`ConfigError` listing every problem.

    *needs*: (table, key) pairs the caller (*needed_by*, e.g. ``"smsgw run"``) cannot do
    without, reported as missing when neither the file nor the environment sets them.
    """
    path = Path(path)
    env = os.environ if environ is None else environ
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: file not found (use --config PATH)"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    from_env: dict[tuple[str, str], str] = {}
    for variable, table, key in ENV_OVERRIDES:
        if env.get(variable):
            section = raw.setdefault(table, {})
            if isinstance(section, dict):
                section[key] = env[variable]
                from_env[(table, key)] = variable
    required = missing_required(raw, needs, f"{needed_by} needs it")
    raw["path"] = str(path)
    try:
        config = Config.model_validate(raw)
        errors: list[Any] = []
    except ValidationError as exc:
        errors = [dict(error) for error in exc.errors()]
    if errors or required:
        raise ConfigError(describe(str(path), Config, errors, required=required, from_env=from_env))
    return config
