"""A password SMS through the real simulator and gateway: what stays on disk, and keys that rotate.

- Once the password SMS was accepted (and its receipt came), no file of the
  gateway's SQLite database (``gw.db``, ``-wal``, ``-shm``) holds the password or
  any Fernet token (the writer clears the sealed text, then checkpoints and
  truncates the WAL).
- A password SMS queued under the old key is still sent after ``smsgw key rotate``.
"""

from __future__ import annotations

from pathlib import Path

from .harness import DEMO, Stack

TOKEN_PREFIX = b"gAAAAA"  # every Fernet token starts so


def _password(text: str) -> str:
    return text.split(": ")[1].split(" ")[0]


def _files_holding(stack: Stack, *needles: bytes) -> list[str]:
    found = []
    for suffix in ("", "-wal", "-shm"):
        path = Path(str(stack.db_path) + suffix)
        if path.exists() and any(needle in path.read_bytes() for needle in needles):
            found.append(path.name)
    return found


def test_after_a_password_sms_no_database_file_holds_the_password_or_a_token(stack: Stack) -> None:
    sender = "37120000002"
    cursor = stack.send(sender, "P", "1640")
    [sms] = stack.replies(cursor, expect=1, to=sender)
    password = _password(sms["text"])
    assert len(password) == 10
    stack.wait_until(
        lambda: [row["state"] for row in stack.outbox(sender)] == ["delivered"], what="the receipt of the password SMS"
    )
    assert Path(str(stack.db_path) + "-wal").exists()  # the gateway still runs: its WAL is live
    # The wipe follows the commit that cleared the token (or the next one if a reader held it up).
    stack.wait_until(
        lambda: _files_holding(stack, password.encode(), TOKEN_PREFIX) == [],
        timeout=10,
        what="database files free of the password and of any sealed token",
    )


def test_a_password_sms_sealed_before_a_key_rotation_is_sent_after_it(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    try:
        stack.import_subscribers(DEMO)
        queued = stack.smsgw("mo", "37120000001", "1640", "P").stdout  # sealed with the first key, not sent yet
        [(to, source, text)] = [line.split("\t") for line in queued.splitlines()]
        rotated = stack.smsgw("key", "rotate")
        assert "1 older key(s) kept" in rotated.stdout
        keys = [line for line in stack.key_file.read_text().splitlines() if line and not line.startswith("#")]
        assert len(keys) == 2
        stack.start_simulator()
        stack.start_gateway()
        [sms] = stack.replies(0, expect=1, to=to, timeout=20)
        assert (sms["source"], sms["text"]) == (source, text)
        # and a new one is sealed with the new key, and sent too
        assert len(stack.converse("37120000002", "P", "1640")) == 1
    finally:
        stack.stop()
