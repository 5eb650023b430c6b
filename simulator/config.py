"""The `[simulator]` table of config.toml, read once into a typed, frozen object.

A wrong value is a `ConfigError` whose message is one line naming the key, e.g.
`config.toml: [simulator] port: must be an integer`. A missing file is an error when its
path was given explicitly, and means "all defaults" when it is the default path.
`SMSC_SIM_PASSWORD` overrides the password.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["PASSWORD_ENV", "ConfigError", "ReceiptRuleConfig", "SimulatorConfig", "load_config"]

PASSWORD_ENV = "SMSC_SIM_PASSWORD"
ReceiptStatus = Literal["DELIVRD", "UNDELIV", "EXPIRED", "REJECTD", "DELETED", "ACCEPTD", "UNKNOWN"]


class ConfigError(Exception):
    """One line, naming the file and the key."""


class ReceiptRuleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    pattern: str = Field(min_length=1)
    status: ReceiptStatus = "DELIVRD"
    delay: float = Field(0.0, ge=0, le=86400)


class SimulatorConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(2775, ge=0, le=65535)
    http_port: int = Field(8775, ge=0, le=65535)
    system_id: str = Field("smsgw", min_length=1, max_length=15)
    password: str = Field("demo1234", max_length=8)
    smsc_system_id: str = Field("SMSCSIM", min_length=1, max_length=15)
    record_file: str = "smsc-sim.jsonl"
    max_pdu_size: int = Field(65536, ge=512, le=1_048_576)
    mo_window: int = Field(10, ge=1, le=100_000)
    submit_window: int = Field(1000, ge=1, le=1_000_000)
    mo_redelivery_timeout: float = Field(30.0, gt=0, le=86400)
    mo_redelivery_attempts: int = Field(10, ge=0, le=1000)
    mo_retry_delay: float = Field(5.0, ge=0, le=86400)
    mo_message_id_tag: int = Field(0, ge=0, le=0xFFFF)
    message_id_format: Literal["hex", "decimal"] = "hex"
    receipt_id_format: Literal["same", "hex", "decimal"] = "same"
    enquire_link_interval: float = Field(30.0, gt=0, le=86400)
    idle_timeout: float = Field(90.0, gt=0, le=86400)
    bind_timeout: float = Field(30.0, gt=0, le=86400)
    concat_timeout: float = Field(120.0, gt=0, le=86400)
    history_limit: int = Field(100_000, ge=100, le=10_000_000)
    write_buffer_limit: int = Field(4_194_304, ge=65536)
    receipts: list[ReceiptRuleConfig] = Field(default_factory=list)


_TYPE_WORDS = {
    "int": "must be an integer",
    "float": "must be a number",
    "string": "must be a string",
    "bool": "must be true or false",
    "list": "must be an array",
    "model": "must be a table",
    "dict": "must be a table",
}


def _explain(error: dict[str, object]) -> str:
    kind = str(error["type"])
    ctx = error.get("ctx") or {}
    assert isinstance(ctx, dict)
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected')}"
    if kind.endswith("_type"):
        return _TYPE_WORDS.get(kind.removesuffix("_type").split("_")[0], str(error["msg"]))
    bounds = {
        "greater_than_equal": "≥ {ge}",
        "greater_than": "> {gt}",
        "less_than_equal": "≤ {le}",
        "less_than": "< {lt}",
        "string_too_long": "at most {max_length} characters",
        "string_too_short": "at least {min_length} characters",
    }
    if kind in bounds:
        return "must be " + bounds[kind].format(**ctx)
    return str(error["msg"]).lower()


def _validation_line(path: str, err: ValidationError) -> str:
    first = err.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "(table)"
    return f"{path}: [simulator] {key}: {_explain(dict(first))}"


def parse_config(table: object, path: str = "config.toml") -> SimulatorConfig:
    """A validated config from the `[simulator]` table (a dict); raises ConfigError."""
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [simulator] must be a table")
    values = dict(table)
    env_password = os.environ.get(PASSWORD_ENV)
    if env_password is not None:
        values["password"] = env_password
    try:
        return SimulatorConfig.model_validate(values)
    except ValidationError as err:
        raise ConfigError(_validation_line(path, err)) from None


def load_config(path: str | Path, *, explicit: bool) -> tuple[SimulatorConfig, str | None]:
    """(config, note). A missing default file gives defaults and a note."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            document = tomllib.load(f)
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"{path}: no such file") from None
        return parse_config({}, str(path)), f"{path} not found: using the default settings"
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    return parse_config(document.get("simulator", {}), str(path)), None
