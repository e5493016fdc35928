"""Headless Chromium driven by Selenium, for the report tests and the report benchmark.

Uses the Debian ``chromium`` and ``chromium-driver`` packages (``.ci/run`` installs them);
Selenium is told both paths, so it never looks for or downloads a browser of its own.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = (
    None
    if CHROMIUM and CHROMEDRIVER
    else "Debian packages chromium and chromium-driver are not installed (.ci/run installs them)"
)

PROBE = """
window.__alerts = [];
window.__csp = [];
window.alert = function (m) { window.__alerts.push(String(m)); };
window.confirm = function (m) { window.__alerts.push(String(m)); return false; };
window.prompt = function (m) { window.__alerts.push(String(m)); return null; };
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""
"""Installed before any script of the page: records dialogs and CSP violations."""


@contextmanager
def chromium(profile: Path, width: int = 1366, height: int = 900) -> Iterator[Any]:
    """A headless Chromium WebDriver with its own profile folder; performance log on."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    assert CHROMIUM is not None
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": PROBE})
        yield driver
    finally:
        driver.quit()


def requests_seen(driver: Any) -> list[str]:
    """URLs of every request the browser sent or tried since the last call (DevTools log)."""
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return urls
