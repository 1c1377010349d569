"""What a new user meets first, in a real browser: the sidebar, the animation a click starts,
the contour's size on three screens, the optimizers' names on the plot, the home page's
cards. Each test looks at the screen (boxes, pixels, visible text), not at the figure's JSON."""

import io
import re
import time

import numpy as np
import pytest

import core
from app.navigation import url_path
from app.presets import ARTICLE_OPTIMIZERS
from tests.browser import ARTIFACTS, plot_frame, streamlit_server, wait_for_app

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser

PLOT_IFRAME = 'iframe[title="streamlit_plotly_events.plotly_events"]'
ARTICLE_TITLES = [core.get_optimizer(n).title for n in ARTICLE_OPTIMIZERS]


def open_page(browser, server, path, width=1400, height=1000):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{server}/{path}")
    wait_for_app(page)
    return page


def plot_box(page) -> dict:
    """The contour's plot area as drawn (plotly's axes' pixel extents), in page coordinates."""
    svg = plot_frame(page).locator(".main-svg").first
    svg.wait_for(timeout=30_000)
    corner = svg.bounding_box()
    axes = svg.evaluate("""svg => { const layout = svg.closest('.js-plotly-plot')._fullLayout;
        return [layout.xaxis._offset, layout.yaxis._offset, layout.xaxis._length, layout.yaxis._length]; }""")
    return {"x": corner["x"] + axes[0], "y": corner["y"] + axes[1], "width": axes[2], "height": axes[3]}


def pixels(page) -> np.ndarray:
    from PIL import Image

    png = page.locator(PLOT_IFRAME).screenshot(timeout=15_000)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def changed_share(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(a - b).sum(axis=-1) > 30))


def test_a_direct_link_on_a_fresh_server_shows_the_page_with_its_sections(browser):
    with streamlit_server() as server:  # a fresh server: its first run is the one Streamlit gets wrong
        page = open_page(browser, server, url_path("levi13"))
        page.wait_for_timeout(1000)
        assert page.get_by_text("Page not found").count() == 0
        assert page.locator("h1").first.inner_text() == core.get_function("levi13").title
        sidebar = page.locator('[data-testid="stSidebarNav"]')
        text = sidebar.inner_text()
        for section in ("The article's functions", "Classic test functions", "Your own"):
            assert section in text
        for title in ("Home", "Two-Gaussian bowl", "Lévi N.13", "Goldstein–Price", "Your function"):
            assert sidebar.get_by_text(title, exact=True).is_visible(), title
        assert sidebar.get_by_text(re.compile(r"View \d+ more")).count() == 0
        page.close()


def test_a_click_starts_the_race_and_the_paths_grow_step_by_step(browser, server):
    page = open_page(browser, server, url_path("two_gaussians"), 1280, 720)
    # "slow" (60 ms a step): the paths keep moving for seconds, so that a busy machine's
    # screenshots still catch them; the article's 30 ms is the default (tests/test_pages.py).
    page.get_by_text("slow", exact=True).click()
    wait_for_app(page)
    box = plot_box(page)
    page.mouse.move(box["x"] + 0.62 * box["width"], box["y"] + 0.25 * box["height"])
    page.wait_for_timeout(150)
    page.mouse.click(box["x"] + 0.62 * box["width"], box["y"] + 0.25 * box["height"])
    frame = plot_frame(page)
    frame.get_by_text("Replay").wait_for(timeout=40_000)
    shots = []
    for _ in range(8):  # the first seconds: the heads race off
        shots.append(pixels(page))
        page.wait_for_timeout(300)
    moving = [changed_share(a, b) for a, b in zip(shots, shots[1:])]
    # The paths were drawn over several screenshots, not at once ...
    assert sum(share > 0.0005 for share in moving) >= 3, moving
    # ... and it ends on the full paths: the slider reaches the longest run's last step (SGD, 500)
    # and stays there.
    label = frame.locator(".slider-current-value, .slider-label").first
    deadline = time.monotonic() + 90
    while "step 500" not in label.text_content() and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert "step 500" in label.text_content()
    page.wait_for_timeout(500)
    end = pixels(page)
    page.screenshot(path=str(ARTIFACTS / "animation-end-1280x720.png"))
    assert changed_share(shots[0], end) > 0.002  # more path than at the start
    page.wait_for_timeout(800)
    assert changed_share(end, pixels(page)) == 0  # and nothing moves any more
    page.close()


@pytest.mark.parametrize("width, height, least", [(1400, 1000, 520), (1280, 720, 400), (390, 844, 230)])
def test_the_contour_is_the_centrepiece_on_every_screen(browser, server, width, height, least):
    page = open_page(browser, server, url_path("two_gaussians") + "?start=0.5,1", width, height)
    deadline = time.monotonic() + 10  # the figure made for the plot's width replaces the first one
    box = plot_box(page)
    while not (box["width"] >= least and abs(box["width"] - box["height"]) <= 2) and time.monotonic() < deadline:
        page.wait_for_timeout(300)
        box = plot_box(page)
    page.screenshot(path=str(ARTIFACTS / f"page-{width}x{height}.png"))
    assert box["width"] >= least and box["height"] >= least, box
    assert abs(box["width"] - box["height"]) <= 2  # the square domain stays square
    if width >= 1280:  # the whole plot without scrolling
        assert box["y"] >= 0 and box["y"] + box["height"] <= height
    else:  # a phone: the figure spans the screen
        assert page.locator(PLOT_IFRAME).bounding_box()["width"] >= 0.9 * width
    page.close()


def test_on_your_function_the_whole_contour_fits_under_the_typed_expression(browser, server):
    page = open_page(browser, server, url_path("custom") + "?start=0.5,1", 1280, 720)
    plot_box(page)
    deadline = time.monotonic() + 10  # the figure made for the plot's width replaces the first one
    while True:
        page.wait_for_timeout(500)
        box = plot_box(page)
        labels = [label.bounding_box() for label in plot_frame(page).locator(".slider-label").all()]
        bottom = max((b["y"] + b["height"] for b in labels), default=float("inf"))
        if box["y"] + box["height"] <= 720 and bottom <= 720 or time.monotonic() > deadline:
            break
    assert box["width"] >= 400 and box["height"] >= 400 and box["y"] + box["height"] <= 720, box
    assert labels and bottom <= 720  # the animation's controls too
    page.close()


def test_every_enabled_optimizer_is_named_inside_the_plot(browser, server):
    page = open_page(browser, server, url_path("two_gaussians") + "?start=0.5,1", 1280, 720)
    box = plot_box(page)
    legend = plot_frame(page).locator(".legend").first
    legend_box = legend.bounding_box()
    assert box["x"] <= legend_box["x"] and legend_box["x"] + legend_box["width"] <= box["x"] + box["width"]
    assert box["y"] <= legend_box["y"] and legend_box["y"] + legend_box["height"] <= box["y"] + box["height"]
    text = legend.text_content()
    for title in ARTICLE_TITLES:
        assert title in text
    page.close()


def test_home_cards_show_whole_formulas(browser, server):
    page = open_page(browser, server, "")
    page.wait_for_timeout(500)
    cards = page.locator('[data-testid="stVerticalBlockBorderWrapper"], [data-testid="stVerticalBlock"]').filter(
        has=page.locator(".katex"))
    formulas = page.locator('[data-testid="stMarkdownContainer"] .katex, .stLatex .katex, [data-testid="stLatex"] .katex')
    assert formulas.count() >= 15
    assert page.get_by_text("property object").count() == 0
    for i in range(formulas.count()):
        formula = formulas.nth(i)
        card = formula.locator("xpath=ancestor::div[contains(@class, 'stColumn') or @data-testid='stColumn'][1]")
        f, c = formula.bounding_box(), card.bounding_box()
        assert f["x"] >= c["x"] - 1 and f["x"] + f["width"] <= c["x"] + c["width"] + 1, (i, f, c)
    page.close()


def test_the_start_is_exactly_where_the_person_clicked(browser, server):
    page = open_page(browser, server, url_path("rastrigin"))
    (x0, x1), (y0, y1) = core.get_function("rastrigin", domain=((-20.0, 20.0), (-20.0, 20.0))).domain
    plot_box(page)
    page.wait_for_timeout(1000)  # let the layout settle
    box = plot_box(page)
    px, py = box["x"] + 0.3137 * box["width"], box["y"] + 0.4421 * box["height"]
    page.mouse.move(px, py)
    page.wait_for_timeout(150)
    page.mouse.click(px, py)
    page.wait_for_function(
        """() => [...document.querySelectorAll('input')].some(i => i.getAttribute('aria-label') === 'start x' && i.value)""",
        timeout=40_000)
    wait_for_app(page)
    after = plot_box(page)
    # The plot did not move under the mouse (its first draw is up to 10 px taller, then it settles).
    assert abs(after["x"] - box["x"]) < 0.5 and abs(after["y"] - box["y"]) < 0.5, (box, after)
    assert abs(after["width"] - box["width"]) <= 0.02 * box["width"], (box, after)
    x = float(page.locator('input[aria-label="start x"]').input_value())
    y = float(page.locator('input[aria-label="start y"]').input_value())
    pixel = (x1 - x0) / box["width"]  # data units per pixel
    assert abs(x - (x0 + 0.3137 * (x1 - x0))) <= 1.5 * pixel, x
    assert abs(y - (y1 - 0.4421 * (y1 - y0))) <= 1.5 * pixel, y
    grid = (x1 - x0) / 149
    assert pixel < grid / 2  # finer than the contour grid the click used to snap to (±0.13 here)
    page.close()


def test_with_every_optimizer_on_the_charts_name_all_and_the_console_stays_clean(browser, server):
    messages = []
    page = browser.new_page(viewport={"width": 1280, "height": 720})
    page.on("console", lambda m: messages.append((m.type, m.text)))
    page.goto(f"{server}/{url_path('two_gaussians')}?start=0.5,1&opt={','.join(core.OPTIMIZERS)}")
    wait_for_app(page)
    charts = page.locator('[data-testid="stVegaLiteChart"]')
    charts.first.wait_for(timeout=40_000)
    page.wait_for_timeout(1500)
    titles = [core.get_optimizer(n).title for n in core.OPTIMIZERS]
    for i in range(2):
        chart = charts.nth(i)
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        assert box["width"] >= 300 and box["height"] >= 250, box
        text = chart.locator("svg").first.text_content()
        assert all(title in text for title in titles), [t for t in titles if t not in text]
    legend_text = plot_frame(page).locator(".legend").first.text_content()
    assert all(title in legend_text for title in titles)
    page.screenshot(path=str(ARTIFACTS / "every-optimizer-1280x720.png"), full_page=True)
    noise = [(kind, text) for kind, text in messages if kind in ("warning", "error")
             and "Failed to load resource" not in text and "Unrecognized feature" not in text
             and "allow-scripts and allow-same-origin" not in text]
    assert not noise, noise[:5]
    page.close()


def test_a_diverging_run_is_marked_where_it_left_and_the_loss_axis_stays_readable(browser, server):
    # SGD with lr 10 on the article's bowl multiplies x by −19 a step: it overflows at step 241.
    page = open_page(browser, server, url_path("two_gaussians") + "?start=1.5,1.5&sgd.lr=10", 1400, 1000)
    frame = plot_frame(page)
    label = frame.get_by_text("diverged at step", exact=False).first
    label.wait_for(timeout=30_000)
    box, mark = plot_box(page), label.bounding_box()
    assert box["x"] - 60 <= mark["x"] and mark["x"] + mark["width"] <= box["x"] + box["width"] + 60
    assert "SGD (diverged)" in frame.locator(".legend").first.text_content()
    assert page.get_by_text("Diverged, drawn up to their last finite step", exact=False).count() == 1
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.scroll_into_view_if_needed()
    ticks = chart.locator("svg").first.text_content()
    assert "1e+70" not in ticks and "1e70" not in ticks
    page.screenshot(path=str(ARTIFACTS / "diverged-1400x1000.png"), full_page=True)
    page.close()


@pytest.mark.parametrize("function_name", ["levi13", "rastrigin", "goldstein_price"])
def test_the_landscape_is_drawn_not_blank(browser, server, function_name):
    from PIL import Image

    page = open_page(browser, server, url_path(function_name), 1400, 1000)
    box = plot_box(page)
    page.wait_for_timeout(500)
    image = Image.open(io.BytesIO(page.screenshot(clip=box)))
    colours = np.asarray(image.convert("RGB")).reshape(-1, 3)
    assert len(np.unique(colours // 8, axis=0)) > 30  # a coloured landscape, not an empty plot
    page.close()


def test_a_guided_scenario_sets_its_page_up_and_says_what_to_watch(browser, server):
    """From the home page to Rastrigin's scenario, then, on that page, to another page's one
    (the bowl, visited before: its old state is replaced), at 1280×720."""
    page = open_page(browser, server, "", 1280, 720)
    page.get_by_role("link", name="Momentum powers through Rastrigin's bumps").click()
    page.wait_for_url(re.compile(r"/Rastrigin\?.*scenario=rastrigin-momentum"), timeout=30_000)
    wait_for_app(page)
    note = page.get_by_text("Watch:", exact=False).first
    note.wait_for(timeout=30_000)
    box, viewport = note.bounding_box(), page.viewport_size
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]  # readable without scrolling
    assert page.get_by_text("SGD with momentum reaches the global optimum").is_visible()
    frame = plot_frame(page)
    frame.get_by_text("Momentum", exact=True).first.wait_for(timeout=30_000)  # its paths' legend
    before = pixels(page)
    page.wait_for_timeout(1500)
    assert changed_share(before, pixels(page)) > 0.0005  # the race runs

    page.goto(f"{server}/{url_path('two_gaussians')}?start=0.5,1&opt=adam")
    wait_for_app(page)
    page.get_by_text("Guided scenarios").first.click()
    page.get_by_role("link", name="Same start, different minima").click()
    page.wait_for_url(re.compile(r"scenario=different-minima"), timeout=30_000)
    wait_for_app(page)
    page.get_by_text("SGD (black) and Momentum", exact=False).first.wait_for(timeout=30_000)
    assert page.locator('input[aria-label="start x"]').input_value() == "1.0000"
    legend = plot_frame(page).locator(".legend").first
    legend.wait_for(timeout=30_000)
    for title in ARTICLE_TITLES:  # the scenario's four, not the one optimizer of the old address
        assert legend.get_by_text(title, exact=True).count() == 1, title
    page.get_by_role("button", name="Close").click()
    page.wait_for_timeout(1500)
    assert page.get_by_text("Watch:").count() == 0 and "scenario=" not in page.url
    page.close()


def overlaps(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


@pytest.mark.parametrize("width, height", [(1400, 1000), (1280, 720), (390, 844)])
def test_the_animation_controls_fit_under_the_plot_without_a_band_or_overlap(browser, server, width, height):
    page = open_page(browser, server, f"{url_path('two_gaussians')}?start=0.5,1&speed=off", width, height)
    frame = plot_frame(page)
    frame.get_by_text("Replay").wait_for(timeout=30_000)
    page.wait_for_timeout(1500)  # the figure made for this width
    box = plot_box(page)
    buttons = [b.bounding_box() for b in frame.locator(".updatemenu-button").all()]
    rail = frame.locator(".slider-rail-rect").first.bounding_box()
    labels = [label.bounding_box() for label in frame.locator(".slider-label").all()]
    iframe = page.locator(PLOT_IFRAME).bounding_box()
    assert len(buttons) == 3 and len(labels) >= 5
    for button in buttons:
        assert not overlaps(button, rail)
    for label in labels:  # every step label whole, inside the figure
        assert not any(overlaps(label, button) for button in buttons)
        assert label["y"] + label["height"] <= iframe["y"] + iframe["height"]
    lowest = max(label["y"] + label["height"] for label in labels)
    rows = 2 if width < 700 else 1  # of controls: buttons and slider side by side, or one above the other
    assert lowest - (box["y"] + box["height"]) <= 45 + 75 * rows  # right under the plot: no empty band
    if width < 700:  # a phone: the plot spans the screen, the slider has a row of its own
        assert box["width"] >= 0.65 * width  # the frame spans it; the axis labels and colour bar take 82 px
        assert rail["y"] > max(b["y"] + b["height"] for b in buttons)
    else:
        assert lowest <= height  # the step labels are on screen too
    page.close()


def test_a_click_during_a_race_starts_a_new_race_from_the_new_start(browser, server):
    """The old race's frames went on over the new figure: the step slider jumped back and
    forth between the two races."""
    page = open_page(browser, server, f"{url_path('two_gaussians')}?speed=slow", 1400, 1000)
    frame = plot_frame(page)
    box = plot_box(page)
    label = frame.locator(".slider-current-value, .slider-label").first

    def step() -> int:
        return int(re.search(r"step (\d+)", label.text_content() or "step -1").group(1))

    for i, (fx, fy) in enumerate([(0.62, 0.25), (0.3, 0.8), (0.7, 0.75)]):
        page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        page.wait_for_timeout(150)
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        frame.get_by_text("Replay").wait_for(timeout=40_000)
        seen, deadline = [], time.monotonic() + 10
        while time.monotonic() < deadline and not (seen and seen[-1] == 0):
            seen.append(step())
            page.wait_for_timeout(50)
        assert seen[-1] == 0, (i, seen)  # the race (re)starts at step 0
        steps = [step() for _ in range(45) if page.wait_for_timeout(100) is None]  # 4.5 s of it, at 60 ms a step
        assert steps == sorted(steps) and steps[-1] >= 50, (i, steps)  # one race, going forward
    page.close()


def start_a_long_basin_grid(browser, server):
    """A page computing basins of 401² starts (tens of seconds), a second under way."""
    page = open_page(browser, server, f"{url_path('two_gaussians')}?tab=basins&basins.on=true&basins.grid=401"
                                      "&start=0.5,1&sgd.steps=5000&momentum.steps=5000")
    button = page.get_by_role("button", name=re.compile(r"Compute \(about \d+ s\)"))
    button.wait_for(timeout=30_000)
    button.click()
    page.locator('[data-testid="stProgress"]').wait_for(timeout=30_000)  # under way
    page.wait_for_timeout(1000)
    return page


def test_a_long_computation_stops_when_its_page_is_closed(browser):
    """Basins of 401² starts kept a core busy for ~50 s after the tab was closed."""
    with streamlit_server() as server:
        page = start_a_long_basin_grid(browser, server)
        page.close()
        time.sleep(1.0)  # Streamlit notices the closed socket
        before = server.cpu_seconds()
        time.sleep(2.0)
        assert server.cpu_seconds() - before < 0.5  # idle: the computation stopped


def test_a_long_computation_stops_when_its_settings_change_in_the_main_area(browser):
    """The main area is a fragment, and Streamlit does not stop a fragment's run for a newer one:
    switching the basins off went on computing the old grid (1.4 s of CPU in the next 2 s)."""
    with streamlit_server() as server:
        page = start_a_long_basin_grid(browser, server)
        page.get_by_text("Show the basins").click()  # the switch, in the main area
        deadline = time.monotonic() + 10  # the stopped run's bar goes (a stale copy may linger a moment)
        while page.locator('[data-testid="stProgress"]').count() and time.monotonic() < deadline:
            page.wait_for_timeout(200)
        assert page.locator('[data-testid="stProgress"]').count() == 0
        time.sleep(1.0)
        before = server.cpu_seconds()
        time.sleep(2.0)
        assert server.cpu_seconds() - before < 0.5  # idle: the old grid was dropped
        assert page.get_by_role("button", name=re.compile(r"Compute")).count() == 0
        page.close()


def test_the_open_tab_is_in_the_address_and_a_link_reopens_it(browser, server):
    page = open_page(browser, server, f"{url_path('two_gaussians')}?start=0.5,1&tab=sweep", 1280, 720)
    selected = page.locator('[role="tab"][aria-selected="true"]')
    selected.wait_for(timeout=30_000)
    assert selected.inner_text().strip() == "Learning-rate sensitivity"
    page.get_by_role("tab", name="3D surface").click()
    page.wait_for_url(re.compile(r"tab=surface"), timeout=30_000)
    link = page.url
    again = open_page(browser, server, link.split("/", 3)[3], 1280, 720)
    again.locator('[role="tab"][aria-selected="true"]').wait_for(timeout=30_000)
    assert again.locator('[role="tab"][aria-selected="true"]').inner_text().strip() == "3D surface"
    page.close()
    again.close()
