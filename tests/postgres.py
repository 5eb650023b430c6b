"""A throwaway PostgreSQL server for the test suite (Debian's binaries, no Docker).

``initdb`` into a temporary directory and ``pg_ctl`` on a free loopback port.
As root (CI, sessions) the server runs as the ``postgres`` user through
``runuser``, because ``initdb`` refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.ports import free_port

__all__ = ["PostgresServer", "find_binaries"]


def find_binaries() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not candidates and shutil.which("initdb"):
        candidates = [shutil.which("initdb") or ""]
    for initdb in candidates:
        folder = Path(initdb).parent
        if (folder / "pg_ctl").exists():
            return folder
    return None


class PostgresServer:
    def __init__(self, binaries: Path, *, durable: bool = False) -> None:
        self.binaries = binaries
        self.durable = durable  # the server's default durability (fsync on); else faster, for tests
        self.port = free_port()
        self.user = "smsgw"
        self.root = Path(tempfile.mkdtemp(prefix="smsgw-pg-"))
        self._as_root = os.geteuid() == 0

    def _cmd(self, *args: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *args] if self._as_root else list(args)

    def start(self) -> str:
        if self._as_root:
            shutil.chown(self.root, "postgres", "postgres")
        data = self.root / "data"
        subprocess.run(
            self._cmd(str(self.binaries / "initdb"), "-D", str(data), "-A", "trust", "-U", self.user, "-E", "UTF8"),
            check=True,
            capture_output=True,
        )
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(
            self._cmd(
                str(self.binaries / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(self.root / "log"),
                "-w",
                "start",
            ),
            check=True,
            capture_output=True,
        )
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{self.user}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        subprocess.run(
            self._cmd(str(self.binaries / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop"),
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)
