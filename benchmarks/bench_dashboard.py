"""Benchmark: click-to-paint in headless Chromium, and the server-side time of a page rerun.

    python benchmarks/bench_dashboard.py [--clicks 15] [--runs 10]

1. AppTest (streamlit.testing.v1), in this process: reruns of the two-gaussian page with a
   start set, warm (same start, every optimizer run cached) and with a new start each time
   (the four optimizer runs computed), and a trivial script for AppTest's own overhead.
2. Browser: a real `streamlit run` on 127.0.0.1 and headless Chromium; N clicks at distinct,
   seeded points, then 5 warm reruns (the "r" hotkey). In the component's iframe (one clock):
   the mousedown; the `streamlit:render` message carrying the new figure (its event timeStamp,
   i.e. when the iframe starts on the new props); the first animation frame whose plotly
   `gd.data` has the four paths starting within a grid cell of the click. From the WebSocket
   frames (CDP timestamps): BackMsg sent -> the plot's delta received, and -> script_finished.
   (A frame is timestamped only when the page's main thread takes it, so a script_finished
   that arrives during Plotly's render is late: only warm reruns are timed to script_finished.)
Prints the figures and a table; exits 0 whatever they are (a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import base64
import random
import signal
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import core  # noqa: E402
from app.presets import ARTICLE_OPTIMIZERS  # noqa: E402
from tests.browser import click_data_point, launch_chromium, plotly_frame, streamlit_server, wait_for_app  # noqa: E402

FUNCTION, URL_PATH, PAGE_FILE = "two_gaussians", "Two-Gaussian_bowl", ROOT / "pages" / "01_Two-Gaussian_bowl.py"
TITLES = [core.get_optimizer(n).title for n in ARTICLE_OPTIMIZERS]
(X0, X1), (Y0, Y1) = core.get_function(FUNCTION).domain
CELL = max(X1 - X0, Y1 - Y0) / 149  # how near the click a path must start (~3 px; clicks are exact)
TARGETS = {"click-to-paint": 500.0, "click -> first animation frame": 300.0, "rerun": 100.0}  # on the median; "rerun" applies to every full rerun

CLICK_HOOK = """([tx, ty, tol, titles]) => {  // in the iframe: mousedown, new props, first frame with the new paths
  const b = window.__bench = {down: null, props: null, paint: null, race: null};
  document.addEventListener('mousedown', () => { b.down = performance.now(); }, {capture: true, once: true});
  if (!window.__benchListening) {  // runs after the component's own listener (and Plotly): use e.timeStamp
    window.__benchListening = true;
    window.addEventListener('message', e => {
      const plot = e.data && e.data.type === 'streamlit:render' && e.data.args ? e.data.args.plot_obj : undefined;
      if (plot === undefined) return;
      const bench = window.__bench;
      if (plot !== window.__benchPlot && bench.down !== null && bench.props === null) bench.props = e.timeStamp;
      window.__benchPlot = plot;
    });
  }
  const drawn = () => { const data = (document.querySelector('.js-plotly-plot') || {}).data || [];
    return titles.every(name => data.some(t => t.name === name && t.x && t.x.length > 1
      && Math.abs(t.x[0] - tx) <= tol && Math.abs(t.y[0] - ty) <= tol)); };
  const racing = () => { const data = (document.querySelector('.js-plotly-plot') || {}).data || [];
    const heads = data.filter(t => (t.name || '').endsWith(' now'));  // each optimizer's moving head
    const slider = ((document.querySelector('.js-plotly-plot') || {}).layout || {}).sliders;
    // the new figure opens at its last step; the race is on once its slider is back at step 0
    return heads.length >= titles.length && slider && slider[0].active === 0; };
  const loop = () => {
    const now = performance.now();
    if (b.down !== null && b.paint === null && drawn()) b.paint = now;
    if (b.paint !== null && b.race === null && racing()) b.race = now;  // the animation's first frame: heads at the start
    if (b.race === null) requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
}"""


def start_points(n: int, seed: int = 7) -> list[tuple[float, float]]:
    """Seeded points in [-1.8, 1.8]², away from the minima (±1, 0) and from each other."""
    rng, points = random.Random(seed), []
    while len(points) < n:
        p = (round(rng.uniform(-1.8, 1.8), 3), round(rng.uniform(-1.8, 1.8), 3))
        if all(abs(p[0] - mx) + abs(p[1]) > 0.4 for mx in (-1, 1)) and all(max(abs(p[0] - q[0]), abs(p[1] - q[1])) > 0.2 for q in points):
            points.append(p)
    return points


class SocketClock:
    """The page's WebSocket frames with Chromium's timestamps (CDP Network events)."""

    def __init__(self, page):
        self.frames, self.cdp = [], page.context.new_cdp_session(page)
        self.cdp.on("Network.webSocketFrameSent", lambda e: self.frames.append(("out", e["timestamp"], 0, "")))
        self.cdp.on("Network.webSocketFrameReceived", lambda e: self.frames.append(
            ("in", e["timestamp"], len(data := e["response"]["payloadData"]), data if len(data) < 1024 else "")))
        self.cdp.send("Network.enable")

    def runs(self) -> list[tuple[float | None, float]]:
        """Completed reruns since the last call, each (ms to the first frame over 100 kB, i.e. the
        plot's delta; ms to script_finished), from the BackMsg that started it. An unfinished one is kept."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
        runs, sent, big, first = [], None, None, len(self.frames)
        for i, (direction, t, size, payload) in enumerate(self.frames):
            if direction == "out" and sent is None:
                sent, big, first = t, None, i
            elif sent is not None and size > 100_000 and big is None:
                big = (t - sent) * 1000
            elif sent is not None and payload and ForwardMsg.FromString(base64.b64decode(payload)).WhichOneof("type") == "script_finished":
                runs.append((big, (t - sent) * 1000))
                sent, first = None, i + 1
        del self.frames[:first]
        return runs

    def wait(self, page, timeout: float = 20.0) -> list[tuple[float | None, float]]:
        """Wait (pumping Playwright's events) until a rerun has finished; return the finished ones."""
        deadline, runs = time.monotonic() + timeout, []
        while not (runs := runs + self.runs()) and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        return runs


def browser_figures(figures: dict, clicks: int, deadline: float) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout, sync_playwright
    names = ("click-to-paint", "click -> first animation frame", "click -> new props in the iframe",
             "new props -> paint (Plotly)", "server: rerun -> plot delta received")
    for name in names + ("rerun, warm (server, 'r' key)",):
        figures[name] = []
    with streamlit_server() as url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.set_default_timeout(20_000)
        clock = SocketClock(page)
        page.goto(f"{url}/{URL_PATH}")
        wait_for_app(page)
        time.sleep(1)  # let the first page finish loading
        frame, locator = plotly_frame(page), page.frame_locator('iframe[title="streamlit_plotly_events.plotly_events"]')
        for i, (x, y) in enumerate(start_points(clicks + 1)):  # the first click warms the page up
            if time.monotonic() > deadline:
                print(f"  time budget spent: stopping after {max(i - 1, 0)} timed clicks")
                break
            frame.evaluate(CLICK_HOOK, [x, y, CELL, TITLES])
            clock.frames.clear()
            click_data_point(page, locator, x, y)
            try:
                frame.wait_for_function("() => window.__bench.race !== null")
            except PlaywrightTimeout:
                stages = frame.evaluate("() => window.__bench")
                print(f"  click {i:2d} at ({x:+.3f}, {y:+.3f}): no race seen within 20 s (stages: {stages})")
                continue
            b = frame.evaluate("() => window.__bench")
            server = [big for big, _ in clock.wait(page) if big is not None]
            wait_for_app(page)
            props = b["props"] or b["paint"]
            row = dict(zip(names, (b["paint"] - b["down"], b["race"] - b["down"], props - b["down"], b["paint"] - props,
                                   server[0] if server else float("nan"))))
            print(f"  click {i:2d} at ({x:+.3f}, {y:+.3f}): " + ", ".join(f"{k} {v:4.0f}" for k, v in row.items())
                  + " ms" + ("  (warm-up, not counted)" if i == 0 else ""))
            for name, value in row.items():
                if i > 0 and value == value:
                    figures[name].append(value)
        for _ in range(5 if time.monotonic() < deadline + 10 else 0):  # warm reruns: nothing changed, runs cached
            page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.focus(); }")
            clock.frames.clear()
            page.keyboard.press("r")
            figures["rerun, warm (server, 'r' key)"] += [finished for _, finished in clock.wait(page, 10)]
            wait_for_app(page)
        browser.close()


def apptest_figures(figures: dict, runs: int) -> None:
    from streamlit.testing.v1 import AppTest

    def timed(at) -> float:
        t = time.perf_counter()
        at.run()
        assert not at.exception, at.exception
        return (time.perf_counter() - t) * 1000

    at = AppTest.from_file(str(PAGE_FILE), default_timeout=60)
    at.session_state[f"{FUNCTION}.start_x"], at.session_state[f"{FUNCTION}.start_y"] = 0.5, 1.0
    timed(at)  # the first run imports the app and computes the contour grid
    from app import compute
    compute.freeze_long_lived_objects()  # as the server does after its first page
    figures["rerun, warm (AppTest)"] = [timed(at) for _ in range(runs)]
    figures["rerun, new start (AppTest)"] = cold = []
    for x, y in start_points(runs, seed=11):
        at.number_input(key=f"{FUNCTION}.start_x").set_value(x)
        at.number_input(key=f"{FUNCTION}.start_y").set_value(y)
        cold.append(timed(at))
    trivial = AppTest.from_string("import streamlit as st\nst.write('hello')", default_timeout=60)
    timed(trivial)
    figures["AppTest's overhead (trivial script)"] = [timed(trivial) for _ in range(runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=15, help="timed clicks (at least 10)")
    parser.add_argument("--runs", type=int, default=10, help="AppTest reruns of each kind")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("over 175 s")))
    signal.alarm(175)  # the whole benchmark stays under 3 minutes
    deadline, figures = time.monotonic() + 150, {}
    try:
        print(f"AppTest: {args.runs} reruns of each kind")
        apptest_figures(figures, args.runs)
        print(f"Browser: {max(args.clicks, 10)} clicks on /{URL_PATH} ({', '.join(TITLES)}), then 5 warm reruns")
        browser_figures(figures, max(args.clicks, 10), deadline)
    except Exception as error:  # a benchmark reports what it has
        print(f"stopped early: {type(error).__name__}: {error}")
    signal.alarm(0)
    print(f"\n{'metric':<38} {'n':>3} {'median':>7} {'p90':>7} {'min':>7} {'max':>7} {'target':>7}  verdict")
    for name, values in figures.items():
        if not values:
            print(f"{name:<38}   0  (no data)")
            continue
        ordered = sorted(values)
        p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
        target = TARGETS.get(name.split(",")[0])
        verdict = "" if target is None else ("OK" if statistics.median(ordered) <= target else "OVER")
        print(f"{name:<38} {len(ordered):>3} {statistics.median(ordered):>7.0f} {p90:>7.0f} {ordered[0]:>7.0f} "
              f"{ordered[-1]:>7.0f} {'' if target is None else f'<={target:.0f}':>7}  {verdict}")
    print("(milliseconds; a target applies to the median)")


if __name__ == "__main__":
    main()
