"""Headless Chromium for the page's tests, a real simulator and gateway, screenshots of failures.

Debian's `chromium` and `chromium-driver` (`apt-get install -y chromium chromium-driver`;
`scripts/test` installs them as root) driven by Selenium 4, both paths given explicitly,
offline flags, a fresh profile per test. Without them the tests skip locally, and fail
with `CI=true`. A failing test leaves `test-artifacts/browser/<test>.png` (what the page
looked like) and `<test>.html` (its DOM) at the repository's root.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness import Stack

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "test-artifacts" / "browser"
DEMO_CSV = ROOT / "smsgw" / "data" / "demo_subscribers.csv"
OFFLINE_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _require_chromium() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        message = f"{', '.join(missing)} missing (apt-get install -y chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {message}")
        pytest.skip(message)


@pytest.fixture
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A fresh headless Chromium (1280 × 900), closed after the test; a screenshot if it failed."""
    _require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the page's console, for page_errors()
    for flag in [*OFFLINE_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", "--window-size=1280,900"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        report = getattr(request.node, "report_call", None)
        if report is not None and report.failed:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
            (SCREENSHOTS / f"{name}.html").write_text(driver.page_source, encoding="utf-8")
        driver.quit()


def page_errors(driver: Any) -> list[str]:
    """Errors the page's console got (script errors, refused loads, Content-Security-Policy violations)."""
    return [str(entry["message"]) for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def demo_rows() -> list[str]:
    return DEMO_CSV.read_text(encoding="utf-8").splitlines()[1:]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The simulator (its page suggesting the demo subscribers) and the gateway, with the demo data."""
    _require_chromium()
    tester = {"phonebook": str(DEMO_CSV), "secret_sources": ["1640"]}  # as a tester's simulator: passwords masked
    stack = Stack(tmp_path_factory.mktemp("demo"), simulator=tester)
    try:
        stack.start_all(demo_rows())
        yield stack
    finally:
        stack.stop()
