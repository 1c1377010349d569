"""Helpers for the real-browser tests: a Streamlit server on a free localhost port and
Debian's Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerURL(str):
    """The server's base URL, and its process (to measure its CPU time)."""

    def __new__(cls, url: str, process: subprocess.Popen):
        self = super().__new__(cls, url)
        self.process = process
        return self

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


@contextlib.contextmanager
def streamlit_server(script: str = "dashboard.py", timeout: float = 60.0):
    """Start `streamlit run script` on a free port; yield its base URL; stop it."""
    port = free_port()
    log = open(ARTIFACTS / f"server-{port}.log", "w") if ARTIFACTS.exists() else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start (exit code {process.poll()})")
            time.sleep(0.2)
        yield ServerURL(url, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def wait_for_app(page, timeout: float = 30_000) -> None:
    """Wait until Streamlit has finished running the script."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    page.wait_for_function(
        """() => { const s = document.querySelector('[data-testid="stStatusWidget"]');
                   return !s || !s.innerText.includes('Running'); }""",
        timeout=timeout,
    )
    page.wait_for_timeout(300)


def plot_frame(page):
    """The streamlit-plotly-events iframe."""
    page.wait_for_selector('iframe[title="streamlit_plotly_events.plotly_events"]', timeout=30_000)
    return page.frame_locator('iframe[title="streamlit_plotly_events.plotly_events"]')


def data_to_page(frame, x: float, y: float) -> tuple[float, float]:
    """Page coordinates of the data point (x, y) on the contour's axes."""
    box = frame.locator(".nsewdrag").first.bounding_box()
    axes = frame.locator(".main-svg").first.evaluate(
        """svg => { const gd = svg.closest('.js-plotly-plot');
                    return {x: gd._fullLayout.xaxis.range, y: gd._fullLayout.yaxis.range}; }"""
    )
    (x0, x1), (y0, y1) = axes["x"], axes["y"]
    px = box["x"] + (x - x0) / (x1 - x0) * box["width"]
    py = box["y"] + (1 - (y - y0) / (y1 - y0)) * box["height"]
    return px, py


HOVER_NEAR = """([x, y]) => {
    const gd = document.querySelector('.js-plotly-plot'), hover = gd._hoverdata;
    if (!hover || !hover.length) return false;
    const near = (value, target, range) => Math.abs(value - target) <= 0.03 * Math.abs(range[1] - range[0]);
    return hover.some(p => near(p.x, x, gd._fullLayout.xaxis.range) && near(p.y, y, gd._fullLayout.yaxis.range));
}"""


def click_data_point(page, frame, x: float, y: float) -> None:
    """Move to (x, y), wait until plotly hovers a point there (it clicks the last hovered
    point, and a busy machine can lag behind the mouse), then click."""
    px, py = data_to_page(frame, x, y)
    for nudge in (0, 1, -1):
        page.mouse.move(px + nudge, py)
        try:
            frame.wait_for_function(HOVER_NEAR, arg=[x, y], timeout=5_000)
            break
        except Exception:  # noqa: BLE001 - move again; the caller's assertions report a miss
            continue
    page.wait_for_timeout(120)
    page.mouse.click(px + nudge, py)


def plotly_frame(page):
    """The Playwright Frame of the component's iframe (to evaluate script in it)."""
    plot_frame(page).locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    for frame in page.frames:
        if "plotly_events" in frame.url or "component" in frame.url:
            if frame.locator(".js-plotly-plot").count():
                return frame
    raise AssertionError("no plotly frame found")


def traces(frame) -> list[dict]:
    """Name, x and y of every trace of the figure as plotly.js holds it."""
    return frame.evaluate(
        """() => document.querySelector('.js-plotly-plot').data
                 .map(t => ({name: t.name || '', type: t.type, x: Array.from(t.x || []), y: Array.from(t.y || [])}))"""
    )


def path_traces(frame) -> dict[str, dict]:
    return {t["name"]: t for t in traces(frame) if t["type"] == "scatter" and len(t["x"]) > 1}
