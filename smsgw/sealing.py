"""Sealing sensitive reply texts (temporary passwords) while they wait in the outbox.

The database never holds a password in clear: the outbox row keeps a placeholder
and the Fernet-encrypted text, which the sender unseals just before submitting
and erases once the SMSC accepted it.

Keys fail closed: nothing here creates a key (``smsgw key new`` does, see
``smsgw.keys``). They come from ``SMSGW_SECRET_KEY`` / ``[security] secret_key``
(one or more Fernet keys, comma-separated) and from ``[security] key_file`` (one
key per line; a relative path is resolved against the config file's folder, never
the working directory). The first key seals; every key opens (cryptography's
``MultiFernet``), so a reply sealed before a rotation is still sent after it.
Error messages name where a key came from, never the key.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = [
    "NO_KEY_HINT",
    "SEALED_PLACEHOLDER",
    "KeySource",
    "MissingKeyError",
    "Sealer",
    "SealingError",
    "key_file_path",
    "load_sealer",
    "read_key_file",
]

SEALED_PLACEHOLDER = "[sealed: temporary password SMS]"

#: How to make a key; the end of every "no key" message.
NO_KEY_HINT = (
    "make one with `smsgw key new --file PATH` and set [security] key_file = PATH, "
    "or put `smsgw key new --print` in SMSGW_SECRET_KEY"
)


class SealingError(Exception):
    """The key is unusable, or a sealed text cannot be opened with it."""


class MissingKeyError(SealingError):
    """No key is configured (or the configured key file is absent)."""


class Sealer:
    """Seals with the first of its keys; opens with any of them.

    ``Sealer.missing(reason)`` is a sealer without keys, for commands that need no
    key: it raises :class:`MissingKeyError` only if something is sealed or opened.
    """

    def __init__(self, keys: bytes | str | Sequence[bytes | str]) -> None:
        if isinstance(keys, bytes | str):
            keys = [keys]
        if not keys:
            raise MissingKeyError(f"no key to seal password SMS: {NO_KEY_HINT}")
        fernets = []
        for number, key in enumerate(keys, 1):
            try:
                fernets.append(Fernet(key))
            except (ValueError, TypeError) as exc:
                which = "the secret key" if len(keys) == 1 else f"key {number} of {len(keys)}"
                raise SealingError(f"{which} is not a valid Fernet key (32 url-safe base64 bytes)") from exc
        self._fernet: MultiFernet | None = MultiFernet(fernets)
        self._missing = ""
        self.key_count = len(fernets)

    @classmethod
    def missing(cls, reason: str) -> Sealer:
        sealer = cls.__new__(cls)
        sealer._fernet = None
        sealer._missing = reason
        sealer.key_count = 0
        return sealer

    def _keys(self) -> MultiFernet:
        if self._fernet is None:
            raise MissingKeyError(self._missing)
        return self._fernet

    def seal(self, text: str) -> str:
        return self._keys().encrypt(text.encode("utf-8")).decode("ascii")

    def unseal(self, token: str) -> str:
        fernet = self._keys()
        try:
            return fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise SealingError("sealed text cannot be opened with any configured key") from exc


@dataclass(frozen=True, slots=True)
class KeySource:
    """Where the keys come from: the ``[security]`` values and the config file they belong to."""

    secret_key: str
    key_file: str
    config_path: Path


def key_file_path(key_file: str, config_path: str | os.PathLike[str]) -> Path:
    """``key_file`` as an absolute path; a relative one is relative to the config file's folder."""
    path = Path(key_file).expanduser()
    if not path.is_absolute():
        path = Path(config_path).resolve().parent / path
    return path


def read_key_file(path: Path) -> list[bytes]:
    """The keys of a key file, newest first: one per line; blank lines and ``#`` comments ignored."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise MissingKeyError(f"key file {path} not found: {NO_KEY_HINT}") from None
    except OSError as exc:
        raise SealingError(f"cannot read key file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SealingError(f"key file {path} is not ASCII text (one Fernet key per line)") from None
    keys = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            Fernet(line)
        except (ValueError, TypeError):
            raise SealingError(f"key file {path}, line {number}: not a valid Fernet key") from None
        keys.append(line.encode("ascii"))
    if not keys:
        raise MissingKeyError(f"key file {path} holds no key: {NO_KEY_HINT}")
    return keys


def _environment_keys(secret_key: str) -> list[bytes]:
    keys = [part.strip() for part in secret_key.split(",") if part.strip()]
    for number, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            which = "" if len(keys) == 1 else f" (key {number} of {len(keys)})"
            raise SealingError(f"SMSGW_SECRET_KEY / [security] secret_key{which} is not a valid Fernet key") from None
    return [key.encode("ascii") for key in keys]


def configured_keys(source: KeySource) -> list[bytes]:
    """The configured keys, current first, as ``load_sealer`` reads them; [] when none can be read."""
    try:
        keys = _environment_keys(source.secret_key)
        if source.key_file:
            keys += read_key_file(key_file_path(source.key_file, source.config_path))
    except SealingError:
        return []
    return keys


def load_sealer(source: KeySource, *, required: bool) -> Sealer:
    """The configured keys: ``secret_key``'s first (the first of all seals), then the key file's.

    Without any key: :class:`MissingKeyError` if ``required``, else a sealer that
    fails only when used. A configured key that is broken or unreadable is always
    an error.
    """
    keys = _environment_keys(source.secret_key)
    problem = ""
    if source.key_file:
        try:
            keys += read_key_file(key_file_path(source.key_file, source.config_path))
        except MissingKeyError as missing:
            if keys:  # the environment's keys are enough to run; an absent file is still a mistake
                raise
            problem = str(missing)
    if not keys:
        problem = problem or f"no key to seal password SMS is configured: {NO_KEY_HINT}"
        if required:
            raise MissingKeyError(problem)
        return Sealer.missing(problem)
    return Sealer(keys)
