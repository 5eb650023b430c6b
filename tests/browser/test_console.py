"""The testers' page against a real simulator and a real gateway, in headless Chromium (issue 13)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from tests.e2e.harness import Stack

from .conftest import DEMO_CSV, page_errors
from .console_page import ConsolePage

LATVIAN = re.compile("[āčēģīķļņšūžĀČĒĢĪĶĻŅŠŪŽ]")


def api_replies(demo: Stack, number: str) -> list[str]:
    """The texts of the MTs the simulator received over SMPP for `number`, oldest first."""
    return [r["text"] for r in demo.get(f"/api/traffic/{number}")["traffic"] if r["kind"] == "mt"]


def test_a_top_up_shows_both_replies_then_delivrd(demo: Stack, browser: Any) -> None:
    page = ConsolePage(browser, demo.base)
    page.open()
    page.add_phone_by_keyboard("37120000001")  # Tab to the number, type it, Enter: the keyboard alone
    page.active().send_keys("V 29000001 5\n")  # the new phone's message field has the focus
    sender = page.wait(lambda: [b for b in page.replies("37120000001") if "29000001" in b["text"]], what="the reply")
    karte = page.wait(lambda: page.replies("37129000001"), what="the Karte's phone, opened by the reply it got")
    page.wait(
        lambda: all("DELIVRD" in b["state"] for b in page.replies("37120000001") + page.replies("37129000001")),
        what="both replies delivered",
    )
    assert re.search(r"\b5[.,]00\b", sender[0]["text"]) and re.search(r"\b5[.,]00\b", karte[0]["text"])
    assert "from 1643" in sender[0]["meta"] and "from 1643" in karte[0]["meta"]
    mo = page.wait(
        lambda: [b for b in page.bubbles("37120000001") if b["kind"] == "mo" and "acknowledged" in b["state"]],
        what="the MO acknowledged by the gateway",
    )
    assert [b["text"] for b in mo] == ["V 29000001 5"]
    # the page shows exactly what the gateway submitted over SMPP
    assert [b["text"] for b in page.replies("37120000001")] == api_replies(demo, "37120000001")
    assert [b["text"] for b in page.replies("37129000001")] == api_replies(demo, "37129000001")
    roles = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "article.phone .phone-role")]
    assert roles == ["Latvian postpaid", "LMT Karte, valid until 2027-12-31"]
    assert page_errors(browser) == []  # no script error, nothing the Content-Security-Policy refused


def test_a_latvian_reply_renders_intact(demo: Stack, browser: Any) -> None:
    page = ConsolePage(browser, demo.base)
    page.open()
    page.add_phone_by_keyboard("37120000004")
    page.send("37120000004", "HELP")
    [reply] = page.wait(lambda: page.replies("37120000004"), what="the reply to HELP")
    [sent] = api_replies(demo, "37120000004")
    assert reply["text"] == sent and LATVIAN.search(reply["text"]), reply
    assert "UCS-2" in reply["meta"]
    if len(sent) > 70:
        assert "parts joined" in reply["meta"]  # a long UCS-2 reply comes in parts: shown as one
    page.wait(lambda: "DELIVRD" in page.replies("37120000004")[0]["state"], what="its receipt")


def test_a_password_reply_shows_on_the_phone_masked(demo: Stack, browser: Any) -> None:
    page = ConsolePage(browser, demo.base)
    page.open()
    page.add_phone_by_keyboard("37120000006")
    page.send("37120000006", "P", to="1640")
    [reply] = page.wait(lambda: page.replies("37120000006"), what="the password SMS")
    assert "parole: •••••••••• (" in reply["text"] and "password masked" in reply["meta"]  # lv: "… parole: X (…"
    assert re.search(r"[A-HJ-NP-Za-km-z2-9]{10}", reply["text"]) is None
    page.wait(lambda: "DELIVRD" in page.replies("37120000006")[0]["state"], what="its receipt")


def test_a_throttle_injected_from_the_page_still_ends_in_a_delivered_reply(demo: Stack, browser: Any) -> None:
    page = ConsolePage(browser, demo.base)
    page.open()
    Select(browser.find_element(By.ID, "fault-kind")).select_by_value("throttle")
    count = browser.find_element(By.ID, "fault-count")
    count.clear()
    count.send_keys("2")
    browser.find_element(By.CSS_SELECTOR, "#fault-form button[type=submit]").click()
    page.wait(lambda: "throttle — 2 submits left" in browser.find_element(By.ID, "faults").text, what="the fault")
    before = demo.status()["counters"].get("submits_rejected", 0)
    page.add_phone_by_keyboard("37120000002")
    page.active().send_keys("S\n")
    page.wait(lambda: page.replies("37120000002"), timeout=60, what="the reply despite the throttle")
    page.wait(lambda: "DELIVRD" in page.replies("37120000002")[0]["state"], what="its receipt")
    assert demo.status()["counters"]["submits_rejected"] - before == 2  # the SMSC throttled twice
    page.wait(lambda: browser.find_element(By.ID, "faults").text == "", what="the spent fault gone from the list")


def run_script(page: ConsolePage, browser: Any) -> str:
    browser.find_element(By.CSS_SELECTOR, "#script-form button[type=submit]").click()
    return page.wait(
        lambda: re.search(r"PASSED|FAILED", text := browser.find_element(By.ID, "script-verdict").text) and text,
        timeout=60,
        what="the script's verdict",
    )


def test_a_script_runs_and_passes_and_a_broken_one_shows_its_difference(demo: Stack, browser: Any) -> None:
    page = ConsolePage(browser, demo.base)
    page.open()
    Select(browser.find_element(By.ID, "script-name")).select_by_value("sos_not_allowed.txt")
    assert "> 37120000003 1643 29000002 5" in browser.find_element(By.ID, "script-text").get_attribute("value")
    verdict = run_script(page, browser)
    assert verdict == "sos_not_allowed.txt: PASSED (3 steps)"
    steps = browser.find_elements(By.CSS_SELECTOR, "#script-result .step")
    assert len(steps) == 3 and all("ok" in s.get_attribute("class").split() for s in steps)
    assert "got: 37120000003 ← 1643:" in steps[0].text  # each step shows the reply's text
    Select(browser.find_element(By.ID, "script-name")).select_by_value("")
    text = browser.find_element(By.ID, "script-text")
    text.clear()
    text.send_keys("> 37120000007 1643 HELP\n< 37120000007 1643 ^this is not the reply$\n")
    timeout = browser.find_element(By.ID, "script-timeout")
    timeout.clear()
    timeout.send_keys("3")
    assert run_script(page, browser) == "pasted script: FAILED (1 of 1 steps)"
    [step] = browser.find_elements(By.CSS_SELECTOR, "#script-result .step")
    assert "bad" in step.get_attribute("class").split()
    assert "✗ line 2 < 37120000007 1643 ^this is not the reply$" in step.text
    assert "expected an MT matching it within 3 s; got:" in step.text
    [reply] = api_replies(demo, "37120000007")
    assert f"37120000007 ← 1643: {reply}" in step.text  # what came instead, in full


def test_usable_at_360_pixels(demo: Stack, browser: Any, tmp_path: Path) -> None:
    phone_screen = {"width": 360, "height": 800, "deviceScaleFactor": 1, "mobile": True}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", phone_screen)  # a window cannot be that narrow
    page = ConsolePage(browser, demo.base)
    page.open()
    width = browser.execute_script("return window.innerWidth")
    assert width == 360
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width  # no sideways scrolling
    page.add_phone_by_keyboard("37120000008")
    page.active().send_keys("S\n")
    page.wait(lambda: page.replies("37120000008"), what="the reply at 360 px")
    phone = page.phone("37120000008")
    assert phone is not None and phone.rect["width"] <= width
    send = phone.find_element(By.CSS_SELECTOR, ".compose button")
    assert send.is_displayed() and send.rect["x"] + send.rect["width"] <= width
    assert page_errors(browser) == []


def test_the_token_comes_in_the_fragment_and_stays_in_the_tab(tmp_path: Path, browser: Any) -> None:
    stack = Stack(tmp_path, simulator={"token": "page-token-1", "phonebook": str(DEMO_CSV)})
    stack.start_simulator()
    try:
        page = ConsolePage(browser, stack.base)
        page.open("#token=page-token-1")
        assert browser.current_url == stack.base + "/"  # the fragment is gone from the address bar
        assert browser.execute_script("return sessionStorage.getItem('smsc-sim-token')") == "page-token-1"
        assert browser.find_element(By.ID, "token-box").is_displayed() is False
        browser.execute_script("sessionStorage.clear()")
        browser.get(stack.base + "/")
        page.wait(lambda: browser.find_element(By.ID, "token-box").is_displayed(), what="the token form")
        field = browser.find_element(By.ID, "token")
        field.send_keys("page-token-1\n")
        page.wait(lambda: browser.find_element(By.ID, "live").text == "live", what="the feed with the typed token")
    finally:
        stack.stop()
