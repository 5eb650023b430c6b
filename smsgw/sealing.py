"""Sealing sensitive reply texts (temporary passwords) while they wait in the outbox.

The database never holds a password in clear: the outbox row keeps a placeholder
and the Fernet-encrypted text, which the sender unseals just before submitting
and erases once the SMSC accepted it. The key comes from ``SMSGW_SECRET_KEY``
(``[security] secret_key``) or from ``[security] key_file``, created with mode
0600 on first use. Every process that shares the database must share the key.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

__all__ = ["SEALED_PLACEHOLDER", "Sealer", "SealingError", "load_sealer"]

SEALED_PLACEHOLDER = "[sealed: temporary password SMS]"


class SealingError(Exception):
    """The key is unusable, or a sealed text cannot be opened with it."""


class Sealer:
    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise SealingError("the secret key is not a valid Fernet key (32 url-safe base64 bytes)") from exc

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def unseal(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError) as exc:
            raise SealingError("sealed text cannot be opened with this key") from exc


def load_sealer(secret_key: str, key_file: str | os.PathLike[str]) -> Sealer:
    if secret_key:
        return Sealer(secret_key.encode("ascii"))
    path = Path(key_file)
    if not path.exists():
        key = Fernet.generate_key()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, key + b"\n")
        finally:
            os.close(fd)
    try:
        return Sealer(path.read_bytes().strip())
    except OSError as exc:
        raise SealingError(f"cannot read key file {path}: {exc.strerror}") from exc
