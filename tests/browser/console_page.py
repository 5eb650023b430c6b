"""What a tester does on the page, for the browser tests (Selenium, keyboard first)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

__all__ = ["ConsolePage"]

T = TypeVar("T")

_BUBBLES = """
const phone = document.querySelector('article.phone[data-number="' + arguments[0] + '"]');
if (!phone) return null;
return [...phone.querySelectorAll('.msg')].map(li => ({
  kind: li.classList.contains('mo') ? 'mo' : 'mt',
  meta: (li.querySelector('.meta') || li).textContent,
  text: (li.querySelector('.text') || li).textContent,
  state: (li.querySelector('.state') || li).textContent,
}));
"""


class ConsolePage:
    def __init__(self, driver: Any, base: str) -> None:
        self.driver = driver
        self.base = base

    def open(self, fragment: str = "") -> None:
        self.driver.get(self.base + "/" + fragment)
        self.wait(lambda: self.driver.find_element(By.ID, "live").text == "live", what="the live feed")
        self.wait(lambda: self.driver.find_elements(By.CSS_SELECTOR, "#suggestions button"), what="the phonebook")

    def wait(self, check: Callable[[], T], timeout: float = 30.0, what: str = "a condition") -> T:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                last = check()
            except (StaleElementReferenceException, NoSuchElementException):
                last = None  # the page redrew it: look again
            if last:
                return last
            time.sleep(0.1)
        raise AssertionError(f"{what}: not within {timeout} s (last: {last!r})")

    def active(self) -> WebElement:
        return self.driver.switch_to.active_element  # type: ignore[no-any-return]

    def tab_to(self, element_id: str, limit: int = 40) -> WebElement:
        """Press Tab until the element has the focus (the keyboard alone)."""
        for _ in range(limit):
            if self.active().get_attribute("id") == element_id:
                return self.active()
            self.active().send_keys(Keys.TAB)
        raise AssertionError(f"#{element_id} not reached with {limit} Tabs")

    def add_phone_by_keyboard(self, number: str) -> None:
        self.tab_to("number").send_keys(number + Keys.ENTER)
        self.wait(lambda: self.phone(number), what=f"the phone of {number}")
        focused = self.active()
        assert focused.get_attribute("id") == f"text-{number}", "the new phone's message field has the focus"

    def phone(self, number: str) -> WebElement | None:
        found = self.driver.find_elements(By.CSS_SELECTOR, f'article.phone[data-number="{number}"]')
        return found[0] if found else None

    def send(self, number: str, text: str, to: str = "1643") -> None:
        phone = self.phone(number)
        assert phone is not None
        Select(phone.find_element(By.CSS_SELECTOR, ".compose .to")).select_by_value(to)
        phone.find_element(By.CSS_SELECTOR, ".compose .text").send_keys(text + Keys.ENTER)

    def bubbles(self, number: str) -> list[dict[str, str]]:
        return self.driver.execute_script(_BUBBLES, number) or []  # type: ignore[no-any-return]

    def replies(self, number: str) -> list[dict[str, str]]:
        return [b for b in self.bubbles(number) if b["kind"] == "mt"]
