"""Temporary My LMT passwords: generated from ``secrets``, stored only as salted scrypt hashes.

The hash string is self-describing: ``scrypt$n$r$p$salt$hash`` (base64 parts),
so the cost can be raised later without breaking stored hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

__all__ = [
    "ALPHABET",
    "TemporaryPassword",
    "decoy_hash",
    "generate_password",
    "hash_password",
    "new_temporary_password",
    "verify_password",
]

#: No 0/O/o, 1/l/I/i: nothing a reader can confuse on a phone screen.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"
_R, _P, _DKLEN = 8, 1, 32


@dataclass(frozen=True, slots=True)
class TemporaryPassword:
    plain: str
    hash: str

    def __repr__(self) -> str:  # never print the password by accident
        return "TemporaryPassword(plain='***', hash='***')"


def generate_password(length: int = 10) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(plain: str, *, n: int = 2**14) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(plain.encode("utf-8"), salt=salt, n=n, r=_R, p=_P, dklen=_DKLEN, maxmem=2**27)
    return f"scrypt${n}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def decoy_hash(*, n: int = 2**14) -> str:
    """A hash in the stored format, with the cost of ``n``, that no password matches.

    Verifying a password against it costs what verifying against a real hash of the
    same parameters costs: a check for a number with no temporary password uses it,
    so that the time taken does not tell whether the number has one.
    """
    return f"scrypt${n}${_R}${_P}${_b64(secrets.token_bytes(16))}${_b64(secrets.token_bytes(_DKLEN))}"


def verify_password(plain: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            plain.encode("utf-8", "surrogatepass"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=2**27,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def new_temporary_password(length: int = 10, *, n: int = 2**14) -> TemporaryPassword:
    plain = generate_password(length)
    return TemporaryPassword(plain, hash_password(plain, n=n))
