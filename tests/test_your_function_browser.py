"""The "Your function" page in a real browser: what a person sees when typing f(x, y) (the
examples as buttons, a warning beside a blank half, messages that quote what was typed, log
colours for a typed Rosenbrock)."""

import io

import numpy as np
import pytest

from app.navigation import url_path
from tests.browser import plot_frame, wait_for_app

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

PLOT_IFRAME = 'iframe[title="streamlit_plotly_events.plotly_events"]'


def open_custom(browser, server, query=""):
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.goto(f"{server}/{url_path('custom')}{query}")
    wait_for_app(page)
    return page


def type_expression(page, text: str) -> None:
    field = page.get_by_label("f(x, y) =", exact=True)
    field.fill(text)
    field.press("Enter")
    wait_for_app(page)


def in_viewport(page, locator) -> bool:
    box, viewport = locator.bounding_box(), page.viewport_size
    return box is not None and 0 <= box["y"] and box["y"] + box["height"] <= viewport["height"] + 400


def landscape_pixels(page) -> np.ndarray:
    from PIL import Image

    png = page.locator(PLOT_IFRAME).screenshot(timeout=15_000)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def test_messages_quote_what_was_typed_and_where(browser, server):
    page = open_custom(browser, server)
    type_expression(page, "__import__('os')")
    message = page.get_by_text("is not allowed", exact=False).first
    message.wait_for(timeout=30_000)
    assert "__import__" in message.inner_text()  # as typed, not Markdown's bold "import"
    assert message.locator("code").first.inner_text() == "__import__"
    type_expression(page, "x^2 + y^2 +")
    message = page.get_by_text("incomplete expression", exact=False).first
    message.wait_for(timeout=30_000)
    assert "column 11" in message.inner_text() and in_viewport(page, message)
    page.close()


def test_an_undefined_half_is_named_and_an_example_button_fills_the_expression(browser, server):
    page = open_custom(browser, server)
    type_expression(page, "log(x) + y^2")
    warning = page.get_by_text("undefined (not a real number) on 50% of the domain", exact=False).first
    warning.wait_for(timeout=30_000)
    assert warning.is_visible()
    plot_frame(page).locator(".main-svg").first.wait_for(timeout=30_000)
    before = landscape_pixels(page)
    page.get_by_role("button", name="(1-x)^2 + 100*(y-x^2)^2").click()
    wait_for_app(page)
    assert page.get_by_label("f(x, y) =", exact=True).input_value() == "(1-x)^2 + 100*(y-x^2)^2"
    page.get_by_text("undefined (not a real number)", exact=False).first.wait_for(state="detached", timeout=30_000)
    colourbar = plot_frame(page).get_by_text("log₁₀(f − f_min)", exact=False).first  # log colours, chosen
    colourbar.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    assert float(np.mean(np.abs(landscape_pixels(page) - before).sum(axis=-1) > 30)) > 0.2  # a new landscape
    page.close()
