"""The benchmark runs end to end and prints its figures (a smoke run: nothing about speed is asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAST_LINE = re.compile(
    r"^e2e_per_s=\d+ ceiling_per_s=\d+ ratio=\d+\.\d\d p50_ms=[\d.]+ p99_ms=[\d.]+ "
    r"rss_start_mb=[\d.]+ rss_end_mb=[\d.]+$"
)


def test_bench_e2e_completes_and_prints_its_line() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "e2e.py"), "--n", "400", "--window", "10"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert LAST_LINE.match(lines[-1]), lines[-1]
    assert "gateway: 400/400 acked, 400 replied, 0 failed" in proc.stdout
    assert "ceiling: 400/400 acked, 400 replied, 0 failed" in proc.stdout
