"""Fixtures shared by the whole test suite.

Hypothesis runs derandomized under CI (``CI`` set), so the property tests
explore the same examples on every CI run.

``chromium_browser``: one headless Debian Chromium for the session, driven by
Python Playwright's sync API.  Playwright allows one sync driver per thread,
so every browser test (JupyterLab pages, the evidence pack, Binder) takes its
pages from this fixture instead of starting a driver of its own.  The
browser is never downloaded: a missing ``/usr/bin/chromium`` fails the test
with the command that installs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# CI explores the same examples on every run (a red CI must be reproducible);
# local runs explore new ones each time and keep failures in .hypothesis/.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make browser-deps, or "
                    "apt-get install -y chromium); the tests never download a browser")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
