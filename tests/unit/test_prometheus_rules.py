"""The shipped Prometheus files: alert rules checked and unit-tested by promtool, metrics that exist.

promtool comes with Debian's ``prometheus`` package (scripts/test installs it when
missing); without it these tests skip, except under ``CI=true`` where its absence
is a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from smsgw.ops.metrics import Metrics

DOCS = Path(__file__).resolve().parents[2] / "docs"
RULES = DOCS / "prometheus" / "alerts.yml"
RULE_TESTS = DOCS / "prometheus" / "alerts_test.yml"
SCRAPE_CONFIG = DOCS / "prometheus" / "prometheus.yml"


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but promtool is not installed (apt-get install prometheus)")
        pytest.skip("promtool not installed (apt-get install prometheus); set CI=true to require it")
    return found


def _promtool(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], capture_output=True, text=True, cwd=RULES.parent, timeout=120)


def test_the_alert_rules_are_valid(promtool: str) -> None:
    proc = _promtool(promtool, "check", "rules", RULES.name)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(_alerts())} rules found" in proc.stdout


def test_the_alert_rules_pass_their_unit_tests(promtool: str) -> None:
    proc = _promtool(promtool, "test", "rules", RULE_TESTS.name)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_example_scrape_configuration_is_valid(promtool: str) -> None:
    proc = _promtool(promtool, "check", "config", SCRAPE_CONFIG.name)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _alerts() -> list[str]:
    return re.findall(r"^\s*- alert: (\w+)", RULES.read_text(encoding="utf-8"), re.MULTILINE)


def test_every_alert_has_unit_tests_and_is_documented() -> None:
    alerts = _alerts()
    tested = set(re.findall(r"alertname: (\w+)", RULE_TESTS.read_text(encoding="utf-8")))
    documented = (DOCS / "operations.md").read_text(encoding="utf-8")
    assert alerts and len(set(alerts)) == len(alerts)
    assert set(alerts) <= tested
    assert [a for a in alerts if f"`{a}`" not in documented] == []


def queried_metrics() -> set[str]:
    """Every series name the Grafana dashboard and the alert rules query."""
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    exprs.append(RULES.read_text(encoding="utf-8"))
    return {name for expr in exprs for name in re.findall(r"smsgw_[a-z_]+", expr)}


def exported_metrics() -> set[str]:
    suffixes = {"histogram": ("_bucket", "_count", "_sum"), "counter": ("_total",), "gauge": ("",)}
    return {family.name + suffix for family in Metrics().registry.collect() for suffix in suffixes[family.type]}


def test_every_metric_the_dashboard_and_the_rules_query_is_exported() -> None:
    used = queried_metrics()
    assert used and used - exported_metrics() == set()
