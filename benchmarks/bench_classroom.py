"""Benchmark: a classroom on one server — many sessions clicking at once, and memory over time.

    python benchmarks/bench_classroom.py [--sessions 30 --clicks 10] [--load-client both]
                                         [--long-clicks 1000 --short-sessions 200] [--memory-client ws]
                                         [--time-limit 900]

Starts `streamlit run dashboard.py` on 127.0.0.1 (tests/browser.py). Two kinds of client:

* browser: headless Debian Chromium driven by Playwright's async API (one browser, one context
  per session). Click-to-paint: from the mouse click on the contour to the moment plotly's
  `gd.data` in the component's iframe has every default path starting within a grid cell of
  the clicked point (polled in the iframe every 25 ms). On this machine the browser shares the
  two cores with the server, so with many pages its own rendering dominates the figure.
* ws: a real Streamlit client without a browser — the websocket protocol the frontend speaks
  (`/_stcore/stream`, BackMsg/ForwardMsg protobufs): it opens the page by asking for a run,
  and "clicks" by sending the plotly component's value, exactly what the component sends on a
  click. Click-to-figure: from sending the click to receiving the component's new figure whose
  paths start at the clicked point (the server's work and the wire, no rendering).

Phases:
1. Load: N sessions, spread over three function pages, open a few at a time
   (`--open-concurrency`); once all are loaded (a barrier: "30 students click at once") each
   clicks `--clicks` distinct points with a short random pause (0.2-1 s) between clicks. A
   click not shown within `--click-timeout` is lost (the session goes on with the next one).
2. Memory: one session clicking `--long-clicks` distinct points (each waited for), then
   `--short-sessions` short sessions (open a page, click once, close), a few at a time. The
   server's resident memory (VmRSS from /proc) is sampled throughout: idle at start, peak
   during load, after the first 50 clicks of the long session ("settled"), at the end and
   after a short idle time.

App errors: exceptions shown by the app (stException / exception deltas), uncaught page errors
and failed runs. Failed sessions: a session whose client gave up (e.g. a page that did not
load within 120 s; with many browser pages on two cores, usually Chromium's own overload);
its clicks not made count as lost. Every phase is bounded
in count and in time (`--time-limit` overall; partial results are printed when it is hit).
Loopback only. Exits 0 whatever the figures (a benchmark, not a test).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import core  # noqa: E402
from app.navigation import page_files, url_path  # noqa: E402
from app.presets import ARTICLE_OPTIMIZERS, default_preset_name, get_preset  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402

PAGES = ("two_gaussians", "rosenbrock", "himmelblau")
TITLES = [core.get_optimizer(n).title for n in ARTICLE_OPTIMIZERS]  # the default optimizers of every page
FRAME = 'iframe[title="streamlit_plotly_events.plotly_events"]'
COMPONENT = "streamlit_plotly_events.plotly_events"
GRID = 150  # the contour's points per side (app/compute.py)
OPEN_TIMEOUT = 120.0
TARGETS = {"p95 click-to-paint (s)": 3.0, "memory growth (MB)": 100.0}
TRUNCATED = threading.Event()  # set when a phase stopped at the time limit

PAINTED = """([tx, ty, tolx, toly, titles]) => {
  const gd = document.querySelector('.js-plotly-plot');
  const data = (gd && gd.data) || [];
  return titles.every(name => data.some(t => t.name === name && t.x && t.x.length > 1
    && Math.abs(t.x[0] - tx) <= tolx && Math.abs(t.y[0] - ty) <= toly));
}"""
RANGES = """() => { const gd = document.querySelector('.js-plotly-plot');
  return gd && gd._fullLayout && gd._fullLayout.xaxis
    ? [gd._fullLayout.xaxis.range, gd._fullLayout.yaxis.range] : null; }"""


# ---------------------------------------------------------------------------------------
# The server's memory and CPU, from /proc
# ---------------------------------------------------------------------------------------
def server_pid(port: int) -> int:
    """The `streamlit run` child of this process listening on `port` (tests/browser.py starts it)."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == me and b"streamlit" in b" ".join(cmdline) and str(port).encode() in cmdline:
            return int(entry)
    raise RuntimeError(f"no streamlit child process on port {port}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent not idle (all cores), from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """Inside the `with` block: the server's CPU as a share of one core, and the whole machine's
    busy share of all its cores (the rest is the browser, when the browser is the client)."""

    def __init__(self, server: int):
        self.server = server
        self.text = "-"

    def __enter__(self):
        self.started = time.monotonic()
        self.server0, self.machine0 = _process_cpu_seconds(self.server), _machine_busy_seconds()
        return self

    def __exit__(self, *exc):
        seconds = max(time.monotonic() - self.started, 1e-9)
        server = (_process_cpu_seconds(self.server) - self.server0) / seconds
        machine = (_machine_busy_seconds() - self.machine0) / seconds / (os.cpu_count() or 1)
        self.text = f"{server:.0%} / {machine:.0%}"


class RssSampler(threading.Thread):
    """Samples the server's VmRSS every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.25):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.samples: list[tuple[float, float]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.samples.append((time.monotonic(), rss_mb(self.pid)))
            except OSError:
                return
            self.stopped.wait(self.interval)

    def peak(self, since: float) -> float:
        return max((v for t, v in self.samples if t >= since), default=float("nan"))


# ---------------------------------------------------------------------------------------
# Pages and points
# ---------------------------------------------------------------------------------------

def page_function(function_name: str):
    """The function as the page shows it by default (its preset's parameters and domain)."""
    params = get_preset(default_preset_name(function_name), function_name).function_params
    return core.get_function(function_name, **params)


def click_points(function_name: str, count: int, rng: random.Random, lattice: int) -> list[tuple[float, float]]:
    """`count` distinct points on a lattice over the domain, in random order, away from the
    minima's markers (a browser click there selects the marker, not the contour)."""
    function = page_function(function_name)
    (x0, x1), (y0, y1) = function.domain
    minima = [((m.point[0] - x0) / (x1 - x0), (m.point[1] - y0) / (y1 - y0)) for m in function.minima]
    fractions = [0.06 + 0.88 * i / (lattice - 1) for i in range(lattice)]
    candidates = [(fx, fy) for fx in fractions for fy in fractions
                  if all(max(abs(fx - mx), abs(fy - my)) > 0.08 for mx, my in minima)]
    rng.shuffle(candidates)
    if count > len(candidates):
        candidates = candidates * (count // len(candidates) + 1)  # repeats, never consecutive
    return [(x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)) for fx, fy in candidates[:count]]


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:200]


def quantile(values: list[float], p: float) -> float | None:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p * (len(values) - 1))))] if values else None


@dataclass
class Stats:
    name: str
    sessions: int = 0
    clicks: int = 0
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    errors: list[str] = field(default_factory=list)  # shown by the app: exceptions, failed runs, page errors
    failures: list[str] = field(default_factory=list)  # of a session in the client (e.g. a page that never loaded)
    load_seconds: list[float] = field(default_factory=list)
    first_clicks: list[float] = field(default_factory=list)  # each session's first click
    cpu: str = "-"

    def row(self) -> list[str]:
        def fmt(value, digits=2):
            return "-" if value is None else f"{value:.{digits}f}"

        later = list(self.latencies)
        for first in self.first_clicks:
            later.remove(first)
        return [self.name, str(self.sessions), str(self.clicks), fmt(quantile(self.latencies, 0.5)),
                fmt(quantile(self.latencies, 0.95)), fmt(max(self.latencies, default=None)),
                fmt(quantile(later, 0.95)), str(len(self.errors)), str(len(self.failures)), str(self.lost),
                fmt(statistics.median(self.load_seconds) if self.load_seconds else None, 1), self.cpu]


# ---------------------------------------------------------------------------------------
# Clients
# ---------------------------------------------------------------------------------------
class BrowserSession:
    """One browser context on one page."""

    def __init__(self, client, server: str, function_name: str, stats: Stats, click_timeout: float):
        self.browser, self.server, self.function_name = client, server, function_name
        self.stats, self.click_timeout = stats, click_timeout
        (x0, x1), (y0, y1) = page_function(function_name).domain
        self.tolerance = (1.5 * (x1 - x0) / (GRID - 1), 1.5 * (y1 - y0) / (GRID - 1))
        self.context = self.page = None
        self.clicked = 0

    async def open(self) -> None:
        started = time.perf_counter()
        self.context = await self.browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = await self.context.new_page()
        self.page.on("pageerror", lambda error: self.stats.errors.append(f"pageerror: {str(error)[:200]}"))
        await self.page.goto(f"{self.server}/{url_path(self.function_name)}", timeout=OPEN_TIMEOUT * 1000)
        await self.page.wait_for_selector(FRAME, timeout=OPEN_TIMEOUT * 1000)
        await (await self.frame()).wait_for_function(RANGES, timeout=OPEN_TIMEOUT * 1000, polling=100)
        self.stats.load_seconds.append(time.perf_counter() - started)

    async def frame(self):
        element = await self.page.wait_for_selector(FRAME, timeout=30_000)
        return await element.content_frame()

    async def click(self, x: float, y: float) -> float | None:
        """Click (x, y); seconds until the paths start there, or None if lost."""
        from playwright.async_api import TimeoutError as PlaywrightTimeout

        self.stats.clicks += 1
        frame = await self.frame()
        (rx0, rx1), (ry0, ry1) = await frame.evaluate(RANGES)
        box = await (await frame.wait_for_selector(".nsewdrag", timeout=30_000)).bounding_box()
        px = box["x"] + (x - rx0) / (rx1 - rx0) * box["width"]
        py = box["y"] + (1 - (y - ry0) / (ry1 - ry0)) * box["height"]
        await self.page.mouse.move(px, py)
        await asyncio.sleep(0.12)  # plotly reports the click of the hovered point
        started = time.perf_counter()
        await self.page.mouse.click(px, py)
        try:
            await frame.wait_for_function(PAINTED, arg=[x, y, *self.tolerance, TITLES], polling=25,
                                          timeout=self.click_timeout * 1000)
        except PlaywrightTimeout:
            self.stats.lost += 1
            await self.check_exceptions()
            return None
        return self._record(time.perf_counter() - started)

    def _record(self, seconds: float) -> float:
        self.stats.latencies.append(seconds)
        self.clicked += 1
        if self.clicked == 1:
            self.stats.first_clicks.append(seconds)
        return seconds

    async def check_exceptions(self) -> None:
        boxes = self.page.locator('[data-testid="stException"]')
        if await boxes.count():
            self.stats.errors.append(f"stException on {self.function_name}: {(await boxes.first.inner_text())[:200]}")

    async def close(self) -> None:
        if self.context is not None:
            await self.context.close()


class WsSession(BrowserSession):
    """A Streamlit client speaking the frontend's websocket protocol, without a browser."""

    def __init__(self, client, server: str, function_name: str, stats: Stats, click_timeout: float):
        super().__init__(client, server, function_name, stats, click_timeout)
        self.ws = None
        self.component_id: str | None = None
        self.fragment_id = ""  # the fragment holding the plot: a click reruns only it, as in a browser
        self.page_hash = ""
        self.exceptions = 0

    async def open(self) -> None:
        from websockets.asyncio.client import connect

        started = time.perf_counter()
        port = urllib.parse.urlsplit(self.server).port
        self.ws = await connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                                max_size=2**27, open_timeout=OPEN_TIMEOUT)
        await self._rerun()
        await asyncio.wait_for(self._until_finished(), timeout=OPEN_TIMEOUT)
        if self.component_id is None:
            raise RuntimeError(f"no plot component on {self.function_name}")
        self.stats.load_seconds.append(time.perf_counter() - started)

    async def _rerun(self, widgets=(), fragment_id: str = "") -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        message = BackMsg()
        message.rerun_script.query_string = ""
        message.rerun_script.page_name = url_path(self.function_name)
        message.rerun_script.page_script_hash = self.page_hash
        message.rerun_script.fragment_id = fragment_id
        message.rerun_script.widget_states.widgets.extend(widgets)
        await self.ws.send(message.SerializeToString())

    async def _until_finished(self, target=None) -> float | None:
        """Read messages up to the end of the run; when the new figure's paths start at `target`,
        the time it arrived."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        shown = None
        while True:
            message = ForwardMsg()
            message.ParseFromString(await self.ws.recv())
            kind = message.WhichOneof("type")
            if kind == "script_finished":
                if message.script_finished not in (ForwardMsg.FINISHED_SUCCESSFULLY,
                                                   ForwardMsg.FINISHED_EARLY_FOR_RERUN,
                                                   ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY):
                    self.stats.errors.append(f"run ended with status {message.script_finished} "
                                             f"on {self.function_name}")
                return shown
            if kind == "page_not_found":
                raise RuntimeError(f"page not found: {self.function_name}")
            if kind == "new_session":
                self.page_hash = message.new_session.page_script_hash
            if kind != "delta" or message.delta.WhichOneof("type") != "new_element":
                continue
            element = message.delta.new_element
            which = element.WhichOneof("type")
            if which == "exception":
                self.stats.errors.append(f"exception on {self.function_name}: {element.exception.message[:200]}")
            elif which == "component_instance" and element.component_instance.component_name == COMPONENT:
                self.component_id = element.component_instance.id
                self.fragment_id = message.delta.fragment_id
                if target is not None and shown is None and self._starts_at(element, target):
                    shown = time.perf_counter()

    def _starts_at(self, element, target) -> bool:
        figure = json.loads(json.loads(element.component_instance.json_args)["plot_obj"])
        paths = {t.get("name"): t for t in figure["data"] if len(t.get("x") or []) > 1}
        return all(name in paths and abs(paths[name]["x"][0] - target[0]) <= self.tolerance[0]
                   and abs(paths[name]["y"][0] - target[1]) <= self.tolerance[1] for name in TITLES)

    async def click(self, x: float, y: float) -> float | None:
        """What the component sends on a click: its value, a JSON text of the clicked points."""
        from streamlit.proto.WidgetStates_pb2 import WidgetState

        self.stats.clicks += 1
        points = json.dumps([{"x": x, "y": y, "curveNumber": 0, "pointNumber": 0, "pointIndex": 0}])
        started = time.perf_counter()
        await self._rerun([WidgetState(id=self.component_id, json_value=json.dumps(points))], self.fragment_id)
        try:
            shown = await asyncio.wait_for(self._until_finished((x, y)), timeout=self.click_timeout)
        except asyncio.TimeoutError:  # lost; the run goes on: read to its end so that the next click is in step
            self.stats.lost += 1
            await asyncio.wait_for(self._until_finished(), timeout=OPEN_TIMEOUT)
            return None
        if shown is None:
            self.stats.lost += 1
            return None
        return self._record(shown - started)

    async def check_exceptions(self) -> None:
        pass  # exception deltas are counted as they arrive

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


# ---------------------------------------------------------------------------------------
# Phases
# ---------------------------------------------------------------------------------------
# The attack mix (issue: no input stalls the server): websocket clients that open "Your function"
# over and over, each time with a new expression sympy takes seconds to differentiate (abs()
# nested deep, a new constant each time so that no refusal comes from the cache).
def slow_expression(nesting: int, k: int) -> str:
    return "abs(" * nesting + "x-1" + f"+y+{k})" * nesting


async def attacker(server: str, nesting: int, first: int, stop: asyncio.Event, refused: list[float]) -> None:
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.asyncio.client import connect

    port = urllib.parse.urlsplit(server).port
    k = first
    while not stop.is_set():
        async with connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                           max_size=2**27) as ws:
            message = BackMsg()
            message.rerun_script.query_string = urllib.parse.urlencode({"f.expression": slow_expression(nesting, k)})
            message.rerun_script.page_name = url_path("custom")
            started = time.perf_counter()
            await ws.send(message.SerializeToString())
            while True:
                reply = ForwardMsg()
                reply.ParseFromString(await ws.recv())
                if reply.WhichOneof("type") == "script_finished":
                    break
            refused.append(time.perf_counter() - started)
        k += 1


async def load_phase(session_class, client, server: str, stats: Stats, sessions: int, clicks: int,
                     click_timeout: float, deadline: float, seed: int, open_concurrency: int) -> None:
    """Sessions open a few at a time (students arriving), then all click at once."""
    all_loaded = asyncio.Event()
    loaded = 0
    opening = asyncio.Semaphore(open_concurrency)

    async def one(index: int) -> None:
        nonlocal loaded
        function_name = PAGES[index % len(PAGES)]
        rng = random.Random(seed + index)
        points = click_points(function_name, clicks, rng, lattice=9)
        session = session_class(client, server, function_name, stats, click_timeout)
        attempted = finished = 0
        try:
            try:
                async with opening:
                    await session.open()
            finally:
                loaded += 1
                if loaded == sessions:
                    all_loaded.set()
            stats.sessions += 1
            await asyncio.wait_for(all_loaded.wait(), timeout=max(1.0, deadline - time.monotonic()))
            for x, y in points:
                if time.monotonic() > deadline:
                    TRUNCATED.set()
                    return
                attempted += 1
                await session.click(x, y)
                finished += 1
                await asyncio.sleep(rng.uniform(0.2, 1.0))  # a student looks at the paths
            await session.check_exceptions()
        except Exception as error:  # noqa: BLE001 - counted, reported, the others go on
            stats.failures.append(f"session {index} ({function_name}): {type(error).__name__}: {_first_line(error)}")
            stats.clicks += len(points) - attempted  # the clicks it never made count as lost
            stats.lost += len(points) - attempted  # (a click that failed was counted by click())
        finally:
            await session.close()

    await asyncio.gather(*(one(i) for i in range(sessions)))


async def long_session(session_class, client, server: str, stats: Stats, clicks: int, click_timeout: float,
                       deadline: float, on_click, seed: int) -> None:
    session = session_class(client, server, "two_gaussians", stats, click_timeout)
    points = click_points("two_gaussians", clicks, random.Random(seed), lattice=40)
    try:
        await session.open()
        stats.sessions += 1
        for i, (x, y) in enumerate(points, start=1):
            if time.monotonic() > deadline:
                print(f"  long session: time limit after {i - 1} clicks", flush=True)
                TRUNCATED.set()
                break
            await session.click(x, y)
            on_click(i)
        await session.check_exceptions()
    except Exception as error:  # noqa: BLE001
        stats.failures.append(f"long session: {type(error).__name__}: {_first_line(error)}")
    finally:
        await session.close()


async def short_sessions(session_class, client, server: str, stats: Stats, count: int, concurrency: int,
                         click_timeout: float, deadline: float, seed: int) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            if time.monotonic() > deadline:
                TRUNCATED.set()
                return
            index = queue.get_nowait()
            function_name = PAGES[index % len(PAGES)]
            session = session_class(client, server, function_name, stats, click_timeout)
            try:
                await session.open()
                stats.sessions += 1
                (x, y), = click_points(function_name, 1, random.Random(seed + index), lattice=9)
                await session.click(x, y)
                await session.check_exceptions()
            except Exception as error:  # noqa: BLE001
                stats.failures.append(f"short session {index}: {type(error).__name__}: {_first_line(error)}")
            finally:
                await session.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))


# ---------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------
SETTLED = "settled (after 50 clicks of the long session)"


def print_report(phases: list[Stats], memory: dict[str, float], elapsed: float, complete: bool) -> None:
    header = ["phase", "sessions", "clicks", "p50 s", "p95 s", "max s", "p95 w/o 1st", "app errors", "failed", "lost",
              "open s (p50)", "CPU server/machine"]
    rows = [header] + [s.row() for s in phases]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    print()
    print(f"Classroom benchmark ({'complete' if complete else 'PARTIAL: time limit hit'}, {elapsed:.0f} s, "
          f"{os.cpu_count()} CPUs). Times in seconds: browser = click-to-paint, ws = click-to-figure received.")
    print("CPU: the server as a share of one core / the whole machine as a share of all cores, over the phase "
          "(other programs on the machine included).")
    for r in rows:
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print("\nServer resident memory (VmRSS, MB):")
    for name, value in memory.items():
        print(f"  {name:<48} {value:8.1f}")
    for s in phases:
        for label, problems in (("app error", s.errors), ("failed session", s.failures)):
            for problem in problems[:5]:
                print(f"  {label} ({s.name}): {problem}")
            if len(problems) > 5:
                print(f"  … and {len(problems) - 5} more ({label}, {s.name})")
    print("\nTargets:")
    for s in phases:
        if s.name.startswith("load") and s.latencies:
            p95 = quantile(s.latencies, 0.95)
            verdict = "OK" if p95 <= TARGETS["p95 click-to-paint (s)"] else "MISSED"
            print(f"  {s.name}: p95 {p95:.2f} s <= {TARGETS['p95 click-to-paint (s)']} s: {verdict}")
    total_errors = sum(len(s.errors) + len(s.failures) for s in phases)
    total_lost = sum(s.lost for s in phases)
    print(f"  zero errors (app errors and failed sessions): {'OK' if total_errors == 0 else f'MISSED ({total_errors})'}; "
          f"zero lost clicks: {'OK' if total_lost == 0 else f'MISSED ({total_lost})'}")
    if SETTLED in memory and "end" in memory:
        growth = max(memory["end"], memory.get("peak during memory phase", 0)) - memory[SETTLED]
        verdict = "OK" if growth <= TARGETS["memory growth (MB)"] else "MISSED"
        print(f"  memory: max(end, peak) − settled = {growth:.1f} MB <= {TARGETS['memory growth (MB)']:.0f} MB: "
              f"{verdict}")


async def run(args, server: str, pid: int, sampler: RssSampler, phases: list[Stats], memory: dict) -> None:
    from playwright.async_api import async_playwright

    deadline = time.monotonic() + args.time_limit
    kinds = {"browser": ["browser"], "ws": ["ws"], "both": ["ws", "browser"]}
    async with async_playwright() as playwright:
        browser = None
        if "browser" in kinds[args.load_client] + [args.memory_client]:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        clients = {"browser": (BrowserSession, browser), "ws": (WsSession, None)}
        try:
            if args.sessions and args.clicks:
                for kind in kinds[args.load_client]:
                    stats = Stats(f"load {args.sessions}×{args.clicks} ({kind})")
                    phases.append(stats)
                    print(f"{stats.name} …", flush=True)
                    t0 = time.monotonic()
                    with CpuMeter(pid) as meter:
                        await load_phase(*clients[kind], server, stats, args.sessions, args.clicks,
                                         args.click_timeout, deadline, args.seed, args.open_concurrency)
                    stats.cpu = meter.text
                    memory[f"peak during load ({kind})"] = sampler.peak(t0)
                    memory[f"after load ({kind})"] = rss_mb(pid)
            if args.sessions and args.clicks and args.attackers:
                stats = Stats(f"load {args.sessions}×{args.clicks} (ws) while {args.attackers} attackers send "
                              f"abs() nested {args.nesting} deep")
                phases.append(stats)
                print(f"{stats.name} …", flush=True)
                stop, refused = asyncio.Event(), []
                attacks = [asyncio.create_task(attacker(server, args.nesting, 1000 * i, stop, refused))
                           for i in range(args.attackers)]
                await asyncio.sleep(2.0)  # the attacks under way
                with CpuMeter(pid) as meter:
                    await load_phase(WsSession, None, server, stats, args.sessions, args.clicks,
                                     args.click_timeout, deadline, args.seed + 1, args.open_concurrency)
                stop.set()
                await asyncio.gather(*attacks, return_exceptions=True)
                stats.cpu = meter.text
                if refused:
                    stats.cpu += (f"; attacks answered: {len(refused)}, median {statistics.median(refused):.2f} s, "
                                  f"max {max(refused):.2f} s")
            if args.long_clicks:
                kind = args.memory_client
                stats = Stats(f"long session, {args.long_clicks} clicks ({kind})")
                phases.append(stats)
                print(f"{stats.name} …", flush=True)
                t0 = time.monotonic()

                def on_click(i: int) -> None:
                    if i == min(50, args.long_clicks):
                        memory[SETTLED] = rss_mb(pid)
                    if i % 100 == 0:
                        memory[f"long session, after {i} clicks"] = rss_mb(pid)
                        print(f"  {i} clicks, RSS {rss_mb(pid):.0f} MB", flush=True)

                with CpuMeter(pid) as meter:
                    await long_session(*clients[kind], server, stats, args.long_clicks, args.click_timeout,
                                       deadline, on_click, args.seed)
                stats.cpu = meter.text
                memory["after the long session"] = rss_mb(pid)
                if args.short_sessions:
                    stats = Stats(f"short sessions ×{args.short_sessions} ({kind})")
                    phases.append(stats)
                    print(f"{stats.name}, {args.short_concurrency} at a time …", flush=True)
                    with CpuMeter(pid) as meter:
                        await short_sessions(*clients[kind], server, stats, args.short_sessions,
                                             args.short_concurrency, args.click_timeout, deadline, args.seed)
                    stats.cpu = meter.text
                memory["peak during memory phase"] = sampler.peak(t0)
                memory["end"] = rss_mb(pid)
                cooldown = min(args.cooldown, max(0.0, deadline + 60 - time.monotonic()))
                if cooldown:
                    await asyncio.sleep(cooldown)
                    memory[f"end + {cooldown:.0f} s idle"] = rss_mb(pid)
        finally:
            if browser is not None:
                await browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--clicks", type=int, default=10, help="clicks per session of the load phase")
    parser.add_argument("--load-client", choices=("browser", "ws", "both"), default="both")
    parser.add_argument("--open-concurrency", type=int, default=4,
                        help="load phase: sessions opening at the same time (they all click at once)")
    parser.add_argument("--long-clicks", type=int, default=1000, help="clicks of the long session (0: skip)")
    parser.add_argument("--short-sessions", type=int, default=200, help="short sessions after it (0: skip)")
    parser.add_argument("--short-concurrency", type=int, default=4)
    parser.add_argument("--memory-client", choices=("browser", "ws"), default="ws")
    parser.add_argument("--click-timeout", type=float, default=30.0, help="seconds before a click counts as lost")
    parser.add_argument("--time-limit", type=float, default=900.0, help="seconds for all phases together")
    parser.add_argument("--cooldown", type=float, default=15.0, help="idle seconds before the last RSS reading")
    parser.add_argument("--attackers", type=int, default=3,
                        help="after the load phase, the same load (ws) while this many attackers run (0: skip)")
    parser.add_argument("--nesting", type=int, default=30, help="the attackers' abs() nesting depth")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for name in ("sessions", "clicks", "long_clicks", "short_sessions"):
        if not 0 <= getattr(args, name) <= 5000:
            parser.error(f"--{name.replace('_', '-')} must be between 0 and 5000")
    args.short_concurrency = max(1, min(args.short_concurrency, 16))
    args.open_concurrency = max(1, min(args.open_concurrency, 64))
    args.time_limit = max(10.0, min(args.time_limit, 3 * 3600))

    phases: list[Stats] = []
    memory: dict[str, float] = {}
    started = time.monotonic()
    complete = False
    with streamlit_server() as server:
        pid = server_pid(urllib.parse.urlsplit(server).port)
        sampler = RssSampler(pid)
        sampler.start()
        time.sleep(1.0)
        memory["start (server idle)"] = rss_mb(pid)
        print(f"server {server} (pid {pid}), RSS {memory['start (server idle)']:.0f} MB; load average "
              f"{Path('/proc/loadavg').read_text().split()[0]} before starting", flush=True)
        try:
            asyncio.run(asyncio.wait_for(run(args, server, pid, sampler, phases, memory),
                                         timeout=args.time_limit + 120 + args.cooldown))
            complete = not TRUNCATED.is_set()
        except (asyncio.TimeoutError, KeyboardInterrupt):
            print("stopped: time limit or interrupt; partial results", flush=True)
        finally:
            sampler.stopped.set()
            try:
                memory.setdefault("end", rss_mb(pid))
            except OSError:
                pass
    print_report(phases, memory, time.monotonic() - started, complete)
    print(f"Load average (1, 5, 15 min) at the end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    main()
