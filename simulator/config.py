"""The `[simulator]` table of config.toml, read once into a typed, frozen object.

A wrong value is a `ConfigError` whose message is one line naming the key, e.g.
`config.toml: [simulator] port: must be an integer`. A missing file is an error when its
path was given explicitly, and means "all defaults" when it is the default path.
`SMSC_SIM_PASSWORD` overrides the password and `SMSC_SIM_TOKEN` the control API's bearer
token. A relative `phonebook` path is resolved against the config file's folder.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "PASSWORD_ENV",
    "SECRET_PATTERN",
    "TOKEN_ENV",
    "ConfigError",
    "ReceiptRuleConfig",
    "SimulatorConfig",
    "load_config",
]

PASSWORD_ENV = "SMSC_SIM_PASSWORD"
TOKEN_ENV = "SMSC_SIM_TOKEN"
# A temporary My LMT password as the gateway makes them: 10 characters of its unambiguous
# alphabet (handlers/credentials.py), standing alone.
SECRET_PATTERN = r"(?<![A-Za-z0-9])[A-HJ-NP-Za-km-z2-9]{10}(?![A-Za-z0-9])"
_TOKEN = re.compile(r"[!-~]*")  # printable ASCII without spaces: fits an HTTP header
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
    http_host: str = "127.0.0.1"
    http_port: int = Field(8775, ge=0, le=65535)
    system_id: str = Field("smsgw", min_length=1, max_length=15)
    password: str = Field("demo1234", max_length=8)
    smsc_system_id: str = Field("SMSCSIM", min_length=1, max_length=15)
    record_file: str = ""
    token: str = Field("", max_length=200)
    max_connections: int = Field(64, ge=1, le=100_000)
    http_max_clients: int = Field(32, ge=1, le=10_000)
    http_max_body: int = Field(1_048_576, ge=4096, le=1_073_741_824)
    load_max_body: int = Field(67_108_864, ge=4096, le=1_073_741_824)
    phonebook: str = ""
    secret_sources: list[str] = Field(default_factory=lambda: ["1640"])
    secret_pattern: str = Field(SECRET_PATTERN, min_length=1)
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

    @field_validator("token")
    @classmethod
    def _token_fits_a_header(cls, value: str) -> str:
        if not _TOKEN.fullmatch(value):
            raise ValueError("must be printable ASCII without spaces")  # never echo the value
        return value

    @field_validator("secret_pattern")
    @classmethod
    def _pattern_compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as err:
            raise ValueError(f"not a regular expression: {err}") from None
        return value


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
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
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
    for key, env in (("password", PASSWORD_ENV), ("token", TOKEN_ENV)):
        from_env = os.environ.get(env)
        if from_env is not None:
            values[key] = from_env
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
    config = parse_config(document.get("simulator", {}), str(path))
    if config.phonebook and not Path(config.phonebook).is_absolute():
        config = config.model_copy(update={"phonebook": str(path.parent / config.phonebook)})
    return config, None
