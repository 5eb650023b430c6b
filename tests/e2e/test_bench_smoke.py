"""The benchmark runs end to end and prints its figures (a smoke run: nothing about speed is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAST_LINE = re.compile(
    r"^e2e_per_s=\d+ ceiling_per_s=\d+ ratio=\d+\.\d\d p50_ms=[\d.]+ p99_ms=[\d.]+ "
    r"rss_start_mb=[\d.]+ rss_end_mb=[\d.]+ cpu_us_per_mo=\d+ ceiling_p99_ms=[\d.]+"
    r"(?P<db> db_cpu_us_per_mo=\d+)? window=(?P<window>\d+)$"
)


def _bench(*args: str) -> list[str]:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "e2e.py"), "--n", "400", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.count("gateway: 400/400 acked, 400 replied, 0 failed") == proc.stdout.count("bench: n=400")
    assert proc.stdout.count("ceiling: 400/400 acked, 400 replied, 0 failed") == proc.stdout.count("bench: n=400")
    return proc.stdout.strip().splitlines()


def test_bench_e2e_completes_and_prints_a_line_per_window() -> None:
    lines = _bench("--window", "10", "50")
    last = [LAST_LINE.match(line) for line in lines[-2:]]
    assert [m["window"] if m else None for m in last] == ["10", "50"], lines[-2:]
    assert all(m is not None and m["db"] is None for m in last)


@pytest.mark.postgres
def test_bench_e2e_on_postgresql_counts_the_servers_cpu(postgres_server: object) -> None:
    lines = _bench("--window", "10", "--db", "postgresql")
    match = LAST_LINE.match(lines[-1])
    assert match is not None and match["db"] is not None, lines[-1]
