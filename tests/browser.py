"""A real headless Chromium for the console tests: Debian's ``chromium`` driven by Selenium.

Selenium talks to Debian's ``chromedriver`` (package ``chromium-driver``), built from the same
source as the browser, so the two always match and nothing is downloaded at test time (no
Selenium Manager, no Playwright browser build). ``.ci/run`` installs both when missing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

__all__ = ["ARTIFACTS", "SAVED", "new_browser", "set_viewport", "wait_for"]

T = TypeVar("T")

#: Screenshots of the console land here (ignored by git; the test run prints the path).
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "console"
#: The screenshots this test run saved (tests/conftest.py names the folder in the summary).
SAVED: list[Path] = []

_APT_HINT = "install it with: apt-get install -y chromium chromium-driver (.ci/run does)"


def _find(name: str, *fallbacks: str) -> str:
    for candidate in (
        os.environ.get(f"NEKO_TEST_{name.upper().replace('-', '_')}"),
        name,
        *fallbacks,
    ):
        if candidate and (found := shutil.which(candidate)):
            return found
    raise RuntimeError(f"{name} not found for the console's browser tests; {_APT_HINT}")


def new_browser() -> webdriver.Chrome:
    """A headless Chromium at a 1280x800 viewport, with a fresh profile."""
    options = webdriver.ChromeOptions()
    options.binary_location = _find("chromium", "chromium-browser")
    for arg in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--window-size=1280,800",
    ):
        options.add_argument(arg)
    service = Service(executable_path=_find("chromedriver"))
    driver = webdriver.Chrome(service=service, options=options)
    set_viewport(driver, 1280, 800)
    return driver


def set_viewport(
    driver: webdriver.Chrome, width: int, height: int, *, mobile: bool = False
) -> None:
    """Make the page's viewport exactly ``width`` x ``height`` CSS pixels."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


def wait_for(driver: webdriver.Chrome, condition: Callable[[Any], T], timeout: float = 15.0) -> T:
    """Poll ``condition(driver)`` until it returns something truthy; fail after ``timeout``."""
    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)
