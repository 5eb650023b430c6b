"""Making and rotating the sealing key: what ``smsgw key new`` and ``smsgw key rotate`` do.

A key file holds one Fernet key per line, newest first; it is written with mode
0600 and never overwritten in place: ``new_key_file`` refuses an existing file,
``rotate_key_file`` writes the new key and the old ones to a temporary file in
the same folder and renames it over the old file (a crash leaves one or the other).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet

from .sealing import SealingError, read_key_file

__all__ = ["new_key", "new_key_file", "rotate_key_file"]

_HEADER = "# smsgw sealing keys, newest first: the first seals, every one opens. Never beside the database.\n"


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _write_exclusive(path: Path, keys: list[str]) -> None:
    """Create ``path`` (mode 0600) holding ``keys``; FileExistsError if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        data = (_HEADER + "".join(key + "\n" for key in keys)).encode("ascii")
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def new_key_file(path: Path) -> None:
    """Write a new key file at ``path``; refuses to overwrite anything."""
    try:
        _write_exclusive(path, [new_key()])
    except FileExistsError:
        raise SealingError(
            f"{path} exists: refusing to overwrite a key (use `smsgw key rotate` to add a new key to it)"
        ) from None
    except FileNotFoundError:
        raise SealingError(f"{path}: its folder does not exist") from None
    except OSError as exc:
        raise SealingError(f"cannot write {path}: {exc.strerror}") from None


def rotate_key_file(path: Path) -> int:
    """Put a new key first in the key file at ``path``, keeping the old ones; returns how many keys it holds."""
    old = [key.decode("ascii") for key in read_key_file(path)]
    keys = [new_key(), *old]
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        _write_exclusive(temporary, keys)
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise SealingError(f"cannot write {path}: {exc.strerror}") from None
    return len(keys)
