"""Every PDU in and out as one JSON line: time, session, direction, command, sequence,
status and the decoded key fields. Writes are buffered; the server flushes at least
once a second and at shutdown. Bind passwords are never written, and neither is the text
of an MT from a secret source or of its receipt (`redact.py`): `"text": null, "hidden": true`.
The file is created with mode 0600 (an existing one is narrowed to it).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import IO

import structlog

from smpp import Bind, BindResp, MessageIdResp, ShortMessage, command_name, status_name, user_data

from .display import shown_text
from .store import iso

__all__ = ["Recorder", "describe"]

log = structlog.get_logger(__name__)

ESM_RECEIPT = 0x04


def _hidden(body: ShortMessage, secret_sources: Collection[str]) -> bool:
    if body.source_addr in secret_sources:
        return True
    return body.esm_class & 0x3C == ESM_RECEIPT and body.destination_addr in secret_sources


def describe(body: object, secret_sources: Collection[str] = ()) -> dict[str, object]:
    """The key fields of a decoded body, JSON-ready (no text of a secret source's MT)."""
    if isinstance(body, ShortMessage) and _hidden(body, secret_sources):
        return {
            "source": body.source_addr,
            "destination": body.destination_addr,
            "esm_class": body.esm_class,
            "data_coding": body.data_coding,
            "registered_delivery": body.registered_delivery,
            "sm_length": len(body.short_message),
            "text": None,
            "hidden": True,
            **({"tlvs": {f"0x{tag:04x}": f"({len(v)} octets)" for tag, v in body.tlvs}} if body.tlvs else {}),
        }
    if isinstance(body, ShortMessage):
        payload, concat = user_data(body)
        fields: dict[str, object] = {
            "source": body.source_addr,
            "destination": body.destination_addr,
            "esm_class": body.esm_class,
            "data_coding": body.data_coding,
            "registered_delivery": body.registered_delivery,
            "sm_length": len(body.short_message),
            "text": shown_text(payload, body.data_coding),
        }
        if concat is not None:
            fields["concat"] = {
                "kind": concat.kind,
                "ref": concat.reference,
                "total": concat.total,
                "seq": concat.sequence,
            }
        if body.tlvs:
            fields["tlvs"] = {f"0x{tag:04x}": value.hex() for tag, value in body.tlvs}
        return fields
    if isinstance(body, Bind):
        return {
            "system_id": body.system_id,
            "system_type": body.system_type,
            "interface_version": body.interface_version,
        }
    if isinstance(body, MessageIdResp):
        return {"id": body.message_id}
    if isinstance(body, BindResp):
        return {"system_id": body.system_id}
    return {}


def _open_private(path: Path) -> IO[str]:
    """Open for appending, readable by the owner alone (mode 0600, also if it existed)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, "a", encoding="utf-8", buffering=1 << 16)
    except BaseException:
        os.close(fd)
        raise


class Recorder:
    def __init__(
        self, path: str | Path, clock: Callable[[], float] = time.time, secret_sources: Collection[str] = ()
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._secret_sources = frozenset(secret_sources)
        self._file: IO[str] | None = _open_private(self.path)
        self.written = 0

    def observer(self, session: int) -> Callable[[str, int, int, int, object], None]:
        """A session observer that records under this session's id."""

        def observe(direction: str, command_id: int, status: int, seq: int, body: object) -> None:
            self.pdu(session, direction, command_id, status, seq, body)

        return observe

    def pdu(self, session: int, direction: str, command_id: int, status: int, seq: int, body: object) -> None:
        if self._file is None:
            return
        try:
            line = {
                "time": iso(self._clock()),
                "session": session,
                "dir": direction,
                "command": command_name(command_id),
                "sequence": seq,
                "status": status_name(status),
                **describe(body, self._secret_sources),
            }
            self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
            self.written += 1
        except (OSError, ValueError) as err:  # a full disk must not stop the SMSC
            log.error("record_failed", path=str(self.path), error=str(err))

    def flush(self) -> None:
        if self._file is not None:
            try:
                self._file.flush()
            except OSError as err:
                log.error("record_flush_failed", path=str(self.path), error=str(err))

    def close(self) -> None:
        if self._file is not None:
            self.flush()
            self._file.close()
            self._file = None
