"""Headless Chromium for the tests that look at a page (tests/e2e/test_audit_html.py).

Debian's ``chromium`` and ``chromium-driver`` packages, installed with apt when missing (as root,
the way tests/samba/dc.py installs Samba), driven by Selenium through ``/usr/bin/chromedriver``.
No browser or driver is downloaded: the binaries are given to Selenium explicitly, so Selenium
Manager has nothing to fetch. Under CI=true a browser that cannot be had fails the test; locally
without root it skips.

Usage as a script (to install ahead of a test run)::

    .venv/bin/python -m tests.support.browser
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

PACKAGES = ["chromium", "chromium-driver"]
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_CANDIDATES = ["/usr/bin/chromium", "/usr/lib/chromium/chromium"]


class BrowserUnavailable(RuntimeError):
    """Chromium cannot be installed or started here; the sentence says why."""


def chromium_binary() -> str | None:
    return next((p for p in CHROMIUM_CANDIDATES if os.access(p, os.X_OK)), None)


def chromium_installed() -> bool:
    return chromium_binary() is not None and os.access(CHROMEDRIVER, os.X_OK)


def ensure_chromium() -> str:
    """The Chromium binary, installed with apt first if missing (root only)."""
    if not chromium_installed():
        if os.geteuid() != 0:
            raise BrowserUnavailable(
                "Chromium is not installed and installing it needs root (apt-get install chromium chromium-driver)"
            )
        if shutil.which("apt-get") is None:
            raise BrowserUnavailable("Chromium is not installed and this system has no apt-get")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
        if subprocess.run(cmd, capture_output=True, env=env).returncode != 0:
            _run(["apt-get", "update", "-q"], env)
            _run(cmd, env)
    binary = chromium_binary()
    if binary is None or not os.access(CHROMEDRIVER, os.X_OK):
        raise BrowserUnavailable(
            f"apt-get install {' '.join(PACKAGES)} finished but chromium or {CHROMEDRIVER} is missing"
        )
    return binary


def _run(cmd: list[str], env: dict[str, str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-12:]
        raise BrowserUnavailable(f"{' '.join(cmd[:3])} failed ({proc.returncode}): " + "\n".join(tail))


def start_chromium(width: int = 1366, height: int = 900) -> WebDriver:
    """A headless Chromium whose viewport (not window) is width × height CSS pixels.

    Fails the test under CI=true or as root when the browser cannot be had; skips otherwise."""
    try:
        binary = ensure_chromium()
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for arg in (
            "--headless=new",
            "--no-sandbox",  # root in a container: Chromium's sandbox needs user namespaces
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--hide-scrollbars",  # screenshots and scrollWidth without a scrollbar's 15 px
            "--force-device-scale-factor=1",
            "--lang=en-US",
            f"--window-size={width},{height}",
        ):
            options.add_argument(arg)
        driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    except Exception as exc:  # BrowserUnavailable, WebDriverException, an import error
        message = f"headless Chromium is required for this test: {exc}"
        if os.environ.get("CI", "").lower() == "true" or os.geteuid() == 0:
            pytest.fail(message)
        pytest.skip(message)
    set_viewport(driver, width, height)
    return driver


def set_viewport(driver: WebDriver, width: int, height: int) -> None:
    """Emulate a width × height viewport (a phone at 390 px is narrower than headless windows go)."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )


if __name__ == "__main__":
    print(ensure_chromium())
    sys.exit(0)
