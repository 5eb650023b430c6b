"""The testers' page in a real browser (headless Chromium driven by Selenium)."""

from __future__ import annotations
