"""Real-browser tests: `streamlit run dashboard.py` on a free localhost port, driven by
Playwright in Debian's Chromium. Screenshots go to tests/artifacts/ (look at them)."""

import math
import time

import pytest

import core
from app.navigation import page_files, url_path
from app.presets import ARTICLE_OPTIMIZERS
from tests.browser import (ARTIFACTS, click_data_point, path_traces, plotly_frame,
                           wait_for_app)

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

ARTICLE_TITLES = [core.get_optimizer(n).title for n in ARTICLE_OPTIMIZERS]



@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()



def open_page(page, server, function_name, query: str = ""):
    page.goto(f"{server}/{url_path(function_name)}{query}")
    wait_for_app(page)
    return plotly_frame(page)


def wait_for_paths(frame, titles, start=None, timeout=40.0) -> dict:
    """Wait until every title has a path (starting at `start`, if given)."""
    deadline = time.monotonic() + timeout
    while True:
        paths = path_traces(frame)
        ready = all(t in paths for t in titles)
        if ready and start is not None:
            ready = all(math.isclose(paths[t]["x"][0], start[0], abs_tol=1e-6)
                        and math.isclose(paths[t]["y"][0], start[1], abs_tol=1e-6) for t in titles)
        if ready:
            return paths
        if time.monotonic() > deadline:
            raise AssertionError(f"paths not drawn: have {sorted(paths)}")
        time.sleep(0.2)


def start_inputs(page) -> tuple[float, float]:
    values = [page.locator(f"input[aria-label=\"{label}\"]").input_value() for label in ("start x", "start y")]
    return float(values[0]), float(values[1])


def click_fraction(page, frame, function_name, fx, fy):
    (x0, x1), (y0, y1) = core.get_function(function_name).domain
    target = (x0 + fx * (x1 - x0), y0 + fy * (y1 - y0))
    click_data_point(page, frame, *target)
    return target


@pytest.mark.parametrize("function_name", [n for n in sorted(page_files()) if n != "custom"])
def test_click_on_the_contour_starts_every_enabled_optimizer_there(page, server, function_name):
    frame = open_page(page, server, function_name)
    (x0, x1), (y0, y1) = core.get_function(function_name).domain
    cell = 2 * max(x1 - x0, y1 - y0) / 149  # the click snaps to the contour grid
    for attempt in range(2):  # on a busy machine plotly's hover can lag the mouse: a person clicks again
        target = click_fraction(page, frame, function_name, 0.3, 0.7)
        page.wait_for_function(
            """() => [...document.querySelectorAll('input')].some(i => i.getAttribute('aria-label') === 'start x' && i.value)""",
            timeout=40_000)
        wait_for_app(page)
        start = start_inputs(page)
        if abs(start[0] - target[0]) <= cell and abs(start[1] - target[1]) <= cell:
            break
    assert abs(start[0] - target[0]) <= cell and abs(start[1] - target[1]) <= cell
    paths = wait_for_paths(frame, ARTICLE_TITLES)
    for title in ARTICLE_TITLES:  # the inputs show 4 decimals
        assert abs(paths[title]["x"][0] - start[0]) < 1e-4 and abs(paths[title]["y"][0] - start[1]) < 1e-4
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.first.wait_for(timeout=40_000)
    page.wait_for_timeout(500)
    box = charts.first.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 150
    assert charts.first.locator("canvas, svg").count() > 0
    page.screenshot(path=str(ARTIFACTS / f"page-{function_name}.png"), full_page=True)


def test_changing_a_learning_rate_redraws_the_path(page, server):
    frame = open_page(page, server, "two_gaussians", "?start=0.5,1")
    before = wait_for_paths(frame, ARTICLE_TITLES, start=(0.5, 1.0))
    page.get_by_text("SGD settings").click()
    slider = page.get_by_role("slider").first
    slider.focus()
    for _ in range(3):
        page.keyboard.press("ArrowLeft")
    wait_for_app(page)
    deadline = time.monotonic() + 20
    while path_traces(frame)["SGD"]["x"] == before["SGD"]["x"]:
        assert time.monotonic() < deadline, "the SGD path did not change"
        time.sleep(0.2)
    after = path_traces(frame)
    assert after["Adam"]["x"] == before["Adam"]["x"], "only SGD's path should change"
    page.wait_for_function("() => location.search.includes('sgd.lr=')", timeout=40_000)
    page.screenshot(path=str(ARTIFACTS / "lr-changed.png"), full_page=True)


def test_a_shared_url_reopens_the_same_view(page, server, browser):
    frame = open_page(page, server, "rosenbrock")
    click_fraction(page, frame, "rosenbrock", 0.2, 0.8)
    page.wait_for_function("() => location.search.includes('start=')", timeout=40_000)
    wait_for_app(page)
    page.get_by_text("Adam settings").click()
    slider = page.get_by_role("slider").first
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => location.search.includes('adam.lr=')", timeout=40_000)
    wait_for_app(page)
    time.sleep(0.5)
    original = path_traces(frame)
    shared_url = page.url

    other = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
    other.goto(shared_url)
    wait_for_app(other)
    reopened_frame = plotly_frame(other)
    reopened = wait_for_paths(reopened_frame, list(original))
    assert reopened.keys() == original.keys()
    for title in original:
        assert reopened[title]["x"] == original[title]["x"] and reopened[title]["y"] == original[title]["y"]
    other.screenshot(path=str(ARTIFACTS / "shared-url.png"), full_page=True)
    other.context.close()


def test_a_hostile_url_shows_a_warning_and_no_traceback(page, server):
    open_page(page, server, "two_gaussians", "?start=nan,1&adam.lr=-5&sgd.steps=999999999&opt=%3Cscript%3E")
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "Ignored URL parameter" in text
    assert "Traceback" not in text and page.locator('[data-testid="stException"]').count() == 0


def test_an_address_too_long_for_streamlit_is_said_to_be_ignored(page, server):
    """Past 1,000 parameters Streamlit drops the whole query string, the valid start too; the
    page says so, readable on screen, instead of opening on its defaults without a word."""
    padding = "&".join(f"pad{i}=1" for i in range(1001))
    open_page(page, server, "two_gaussians", f"?start=0.5,1&{padding}")
    warning = page.get_by_text("The address had 1,002 parameters")
    warning.wait_for(timeout=20_000)
    box = warning.bounding_box()
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= 1000 and box["width"] > 200
    page.screenshot(path=str(ARTIFACTS / "address_too_long.png"))
    # an ordinary address says nothing of the kind
    open_page(page, server, "two_gaussians", "?start=0.5,1")
    page.wait_for_timeout(1500)
    assert page.get_by_text("The address had").count() == 0


def _colour_pixels(png: bytes, colour: str, tolerance: int = 40) -> int:
    """How many pixels of a screenshot are within `tolerance` (sum of |ΔRGB|) of `colour`."""
    import io

    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    target = np.array([int(colour[i: i + 2], 16) for i in (1, 3, 5)], dtype=np.int16)
    return int((np.abs(pixels - target).sum(axis=-1) <= tolerance).sum())


def test_a_schedule_and_lbfgs_on_a_page_are_drawn(page, server):
    """L-BFGS's path on the contour and Adam's cosine schedule in its own chart under the loss
    curves, on screen and in their colours (not just in the figure's data)."""
    from app.figures import OPTIMIZER_COLORS

    frame = open_page(page, server, "rosenbrock", "?start=-1.2,1&opt=adam,lbfgs&adam.schedule=cosine_annealing_lr"
                                                  "&lbfgs.line_search_fn=strong_wolfe&lbfgs.max_eval=25&speed=off")
    wait_for_paths(frame, ["Adam", "L-BFGS"], start=(-1.2, 1.0))
    page.wait_for_timeout(500)
    plot = page.locator('iframe[title="streamlit_plotly_events.plotly_events"]')
    assert _colour_pixels(plot.screenshot(), OPTIMIZER_COLORS["lbfgs"]) > 100  # its path, drawn
    assert frame.get_by_text("L-BFGS").first.is_visible()  # and named in the legend
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.nth(2).wait_for(timeout=20_000)  # loss, gradient, then the learning rate
    chart = charts.nth(2)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    box, loss_box = chart.bounding_box(), charts.nth(0).bounding_box()
    assert box["width"] > 300 and box["height"] > 150 and 0 <= box["y"] and box["y"] + box["height"] <= 1000
    assert abs(box["x"] - loss_box["x"]) < 2 and abs(box["width"] - loss_box["width"]) < 2  # under the loss chart
    png = chart.screenshot()
    assert _colour_pixels(png, OPTIMIZER_COLORS["adam"]) > 150  # the cosine, drawn in Adam's colour
    (ARTIFACTS / "schedule_and_lbfgs.png").write_bytes(page.screenshot())
    # no schedule: no lr chart
    open_page(page, server, "rosenbrock", "?start=-1.2,1&opt=adam,lbfgs&speed=off")
    wait_for_paths(plotly_frame(page), ["Adam", "L-BFGS"], start=(-1.2, 1.0))
    page.wait_for_timeout(1000)
    assert page.locator('[data-testid="stVegaLiteChart"]').count() == 2


def test_unstable_steps_are_marked_on_the_path_and_the_edge_is_charted(page, server):
    """SGD with lr 0.1 bounces across the bowl's well (96 of 200 steps above 2/λ_max): red
    crosses on its path, and the stability chart with its shaded unstable side, on screen."""
    query = "?start=0.5,1&opt=sgd&sgd.lr=0.1&sgd.steps=200&speed=off"
    frame = open_page(page, server, "two_gaussians", query)
    wait_for_paths(frame, ["SGD"], start=(0.5, 1.0))
    page.wait_for_timeout(800)
    plot = page.locator('iframe[title="streamlit_plotly_events.plotly_events"]')
    before = _colour_pixels(plot.screenshot(), "#dc2626")
    frame = open_page(page, server, "two_gaussians", query + "&stability.on=true")
    wait_for_paths(frame, ["SGD"], start=(0.5, 1.0))
    page.wait_for_timeout(1500)
    after = _colour_pixels(plot.screenshot(), "#dc2626")
    assert after > before + 100, (before, after)  # the crosses
    chart = page.locator('[data-testid="stVegaLiteChart"]').nth(2)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    box = chart.bounding_box()
    assert box["width"] > 300 and box["height"] > 150 and box["y"] + box["height"] <= 1000
    png = chart.screenshot()
    assert _colour_pixels(png, "#fee2e2", tolerance=12) > 2000  # the shaded unstable side
    assert _colour_pixels(png, "#000000", tolerance=60) > 100  # SGD's line
    (ARTIFACTS / "stability.png").write_bytes(page.screenshot())


def test_typed_function_type_click_and_paths_appear(page, server):
    frame = open_page(page, server, "custom")
    box = page.get_by_label("f(x, y) =", exact=True).and_(page.locator("input"))
    box.fill("sin(x)*cos(y) + 0.1*(x^2 + y^2)")
    box.press("Enter")
    wait_for_app(page)
    page.wait_for_function("() => location.search.includes('f.expression=')", timeout=40_000)
    frame = plotly_frame(page)
    click_fraction(page, frame, "custom", 0.7, 0.3)
    page.wait_for_function("() => location.search.includes('start=')", timeout=40_000)
    wait_for_app(page)
    start = start_inputs(page)
    paths = wait_for_paths(frame, ARTICLE_TITLES)
    for title in ARTICLE_TITLES:
        assert abs(paths[title]["x"][0] - start[0]) < 1e-4 and abs(paths[title]["y"][0] - start[1]) < 1e-4
    assert "(estimated)" in frame.evaluate(
        "() => JSON.stringify(document.querySelector('.js-plotly-plot').data.map(t => t.hovertemplate || ''))")
    page.screenshot(path=str(ARTIFACTS / "page-custom.png"), full_page=True)


def test_basins_and_success_table_render(page, server):
    open_page(page, server, "two_gaussians", "?start=0.5,1")
    page.get_by_role("tab", name="Basins & success rates").click()
    page.get_by_text("Show the basins").click()
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.wait_for(timeout=60_000)
    wait_for_app(page, timeout=60_000)
    images = chart.locator("image")
    assert images.count() == 4, "one basin map per enabled optimizer"
    table = page.locator('[data-testid="stDataFrame"]').last
    table.wait_for(timeout=30_000)
    chart.scroll_into_view_if_needed()
    page.wait_for_timeout(800)
    page.screenshot(path=str(ARTIFACTS / "basins.png"))


def test_presentation_mode_hides_the_sidebar_and_the_keys_play_pause_and_step(page, server):
    """?present=1: no sidebar, the contour large with large text; space plays and pauses, ←/→
    move the step shown (the slider's "step N" label, as a person reads it)."""
    frame = open_page(page, server, "two_gaussians", "?start=0.5,1&present=1")
    wait_for_paths(frame, ARTICLE_TITLES, start=(0.5, 1.0))
    page.wait_for_timeout(1500)
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    plot = page.locator('iframe[title="streamlit_plotly_events.plotly_events"]').bounding_box()
    assert plot["width"] >= 0.6 * 1400
    legend = frame.locator(".legend text").first.bounding_box()
    assert legend["height"] >= 16  # 18 px text, not the page's 12

    def shown_step() -> int:
        label = frame.locator("text", has_text="step ").first  # the slider's current value, as drawn
        return int(label.text_content().removeprefix("step ").strip())

    assert shown_step() > 0  # the full paths, no race of its own
    page.keyboard.press(" ")  # at the end: replay
    page.wait_for_timeout(1500)
    page.keyboard.press(" ")  # pause
    page.wait_for_timeout(300)
    paused = shown_step()
    page.wait_for_timeout(1000)
    assert shown_step() == paused
    page.keyboard.press("ArrowRight")
    page.wait_for_timeout(600)
    assert shown_step() > paused
    later = shown_step()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(600)
    assert shown_step() < later
    assert "present=1" in page.url
    (ARTIFACTS / "presentation.png").write_bytes(page.screenshot())
