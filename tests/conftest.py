"""Fixtures shared by the real-browser test files: one server and one Chromium per module."""

import pytest

from tests.browser import ARTIFACTS, launch_chromium, streamlit_server


@pytest.fixture(scope="module")
def server():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with streamlit_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()
