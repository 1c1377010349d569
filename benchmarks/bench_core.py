"""Benchmark of the run engine (core.run) against a plain numpy loop doing the same work.

    python benchmarks/bench_core.py [--repeats 5] [--skip-memory]

1. Grid: the article's four optimizers with their settings (app.presets.ARTICLE_SETTINGS)
   from a 201x201 grid of starts over the two-gaussian bowl's domain. The baselines are
   loops a competent person writes without optimizing:
   - the API loop: per step the function's own `gradient` on the (N, 2) array and the
     optimizer's update formula;
   - the hand-written loop: the bowl's gradient formulas written out on separate, contiguous
     x and y arrays (fewer passes over memory; the same numbers bit for bit).
   Each runs twice: doing the same work as core.run(..., record=False), i.e. also counting
   per step, for every start, the steps to converge (`StepCounter`, a few numpy passes per
   minimum), and doing less, final points only. Either way the outcome of every start is
   classified at the end. Everything runs in this process, alternately; the medians of the
   repeats are compared, and the outcomes and steps to converge must be identical (the final
   points are compared bitwise too). No baseline checks for divergence (none happens here):
   that work core.run does and they skip.
2. Memory: a 1001x1001 grid x 1000 steps of the article's Adam with record=False, in a fresh
   subprocess: its peak resident memory (ru_maxrss, the whole process with Python and
   numpy) and the peak of traced allocations (tracemalloc), and its time.
3. One dashboard-sized recorded run: 1 start, 1000 steps, record=True, per optimizer.

core.run compiles each optimizer's update once per process (in the background in the app);
the script compiles the four first and prints the time.

4. A dashboard click: the article's four recorded runs from one start, with their steps.

Prints a table. Exits 1 if more than a handful of outcomes differ (MAX_OUTCOME_DIFFERENCES:
starts on a basin boundary, where a last-bit difference of the order of operations can tip
the run); the speed figures are reported, not tested: the machine is shared, so medians are
quoted.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import core  # noqa: E402
from app.presets import ARTICLE_SETTINGS  # noqa: E402
from core.engine import default_tolerance, gradient_tolerance  # noqa: E402

FUNCTION = core.get_function("two_gaussians")
GRID = 201
MEMORY_GRID, MEMORY_STEPS, MEMORY_LIMIT_MB = 1001, 1000, 500
MAX_OUTCOME_DIFFERENCES = 10  # of the 4 x 40,401 runs


def grid_starts(function, resolution: int) -> np.ndarray:
    (x0, x1), (y0, y1) = function.domain
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


# ---------------------------------------------------------------------------------------
# The baseline: a straightforward numpy loop
# ---------------------------------------------------------------------------------------
class StepCounter:
    """What record=False returns besides the final points, kept the straightforward way: per
    step and listed minimum, the step from which each run has stayed inside the minimum's
    tolerance ball, and the step from which its gradient has stayed small (core.run's
    `steps_to_converge` is the one of the minimum, or flat spot, it ends at)."""

    def __init__(self, function, n: int):
        self.minima = [m.point for m in function.minima]
        self.squared_tolerance = default_tolerance(function) ** 2
        self.squared_gradient_tolerance = gradient_tolerance(function) ** 2
        self.inside_since = np.zeros((len(self.minima), n), dtype=np.int64)
        self.flat_since = np.zeros(n, dtype=np.int64)

    def observe(self, t: int, x, y, gx, gy) -> None:
        """Points (x, y) with gradients (gx, gy) after step t ("inside": the sign bit of
        squared distance − squared tolerance, as core.run tests it)."""
        for since, (mx, my) in zip(self.inside_since, self.minima):
            dx, dy = x - mx, y - my
            np.putmask(since, ~np.signbit(dx * dx + (dy * dy - self.squared_tolerance)), t + 1)
        np.putmask(self.flat_since, ~np.signbit(gx * gx + (gy * gy - self.squared_gradient_tolerance)), t + 1)


def baseline_run(function, name: str, hyperparameters: dict, starts: np.ndarray, steps: int,
                 counter: StepCounter | None = None) -> np.ndarray:
    """Final points of the article's optimizer `name` (update formulas as the article codes
    them, in torch's order of operations), every start at once; `counter` observes every step."""
    lr = hyperparameters["lr"]
    x = starts.copy()
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    with np.errstate(all="ignore"):
        g = function.gradient(x)
        if counter:
            counter.observe(0, x[:, 0], x[:, 1], g[:, 0], g[:, 1])
        for t in range(1, steps + 1):
            if name == "sgd":
                x = x - lr * g
            elif name == "momentum":
                m = g if t == 1 else hyperparameters["momentum"] * m + g
                x = x - lr * m
            elif name == "rmsprop":
                alpha = hyperparameters["alpha"]
                v = alpha * v + (1 - alpha) * g * g
                x = x - lr * g / (np.sqrt(v) + hyperparameters["eps"])
            elif name == "adam":
                beta1, beta2 = hyperparameters["betas"]
                m = m + (1 - beta1) * (g - m)
                v = beta2 * v + (1 - beta2) * g * g
                x = x - lr * m / (np.sqrt(v) + hyperparameters["eps"])
            else:
                raise ValueError(name)
            g = function.gradient(x)
            if counter:
                counter.observe(t, x[:, 0], x[:, 1], g[:, 0], g[:, 1])
    return x


def handwritten_run(function, name: str, hyperparameters: dict, starts: np.ndarray, steps: int,
                    counter: StepCounter | None = None) -> np.ndarray:
    """baseline_run with the bowl's gradient written out on separate x and y arrays."""
    a, b, c, d = function.a, function.b, function.c, function.d
    lr = hyperparameters["lr"]
    x, y = starts[:, 0].copy(), starts[:, 1].copy()
    mx, my, vx, vy = (np.zeros_like(x) for _ in range(4))

    def gradient(x, y):
        y2, x_right, x_left = y * y, x - 1, x + 1
        right = (2 * a / c) * np.exp((x_right * x_right + y2) * (-1 / c))
        left = (2 * b / d) * np.exp((x_left * x_left + y2) * (-1 / d))
        return 2 * x + right * x_right + left * x_left, (2 + right + left) * y

    with np.errstate(all="ignore"):
        gx, gy = gradient(x, y)
        if counter:
            counter.observe(0, x, y, gx, gy)
        for t in range(1, steps + 1):
            if name == "sgd":
                x, y = x - lr * gx, y - lr * gy
            elif name == "momentum":
                mu = hyperparameters["momentum"]
                mx, my = (gx, gy) if t == 1 else (mu * mx + gx, mu * my + gy)
                x, y = x - lr * mx, y - lr * my
            elif name == "rmsprop":
                alpha, eps = hyperparameters["alpha"], hyperparameters["eps"]
                vx, vy = alpha * vx + (1 - alpha) * gx * gx, alpha * vy + (1 - alpha) * gy * gy
                x, y = x - lr * gx / (np.sqrt(vx) + eps), y - lr * gy / (np.sqrt(vy) + eps)
            elif name == "adam":
                (beta1, beta2), eps = hyperparameters["betas"], hyperparameters["eps"]
                mx, my = mx + (1 - beta1) * (gx - mx), my + (1 - beta1) * (gy - my)
                vx, vy = beta2 * vx + (1 - beta2) * gx * gx, beta2 * vy + (1 - beta2) * gy * gy
                x, y = x - lr * mx / (np.sqrt(vx) + eps), y - lr * my / (np.sqrt(vy) + eps)
            else:
                raise ValueError(name)
            gx, gy = gradient(x, y)
            if counter:
                counter.observe(t, x, y, gx, gy)
    return np.stack([x, y], axis=1)


def baseline_outcome(function, final: np.ndarray, counter: StepCounter | None = None):
    """GLOBAL / LOCAL / NOT_CONVERGED / DIVERGED of each final point, as core.run defines them,
    and with a counter the steps to converge (−1 where the run did not converge); else None."""
    with np.errstate(all="ignore"):
        gradient = function.gradient(final)
        finite = np.all(np.isfinite(final), axis=1) & np.all(np.isfinite(gradient), axis=1)
        minima = np.array([m.point for m in function.minima])
        is_global = np.array([m.is_global for m in function.minima])
        squared = ((final[:, None, :] - minima[None]) ** 2).sum(axis=-1)
        nearest = squared.argmin(axis=1)
        near = squared[np.arange(len(final)), nearest] <= default_tolerance(function) ** 2
        flat = (gradient**2).sum(axis=1) <= gradient_tolerance(function) ** 2
    outcome = np.full(len(final), core.NOT_CONVERGED)
    outcome[flat] = core.LOCAL
    outcome[near] = np.where(is_global[nearest[near]], core.GLOBAL, core.LOCAL)
    outcome[~finite] = core.DIVERGED
    if counter is None:
        return outcome, None
    steps = np.full(len(final), -1)
    steps[flat] = counter.flat_since[flat]
    steps[near] = counter.inside_since[nearest[near], np.flatnonzero(near)]
    steps[~finite] = -1
    return outcome, steps


# ---------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------
# (name, loop, whether it counts the steps to converge as core.run does); the first is the
# reference the others' results are compared with.
BASELINES = (("API loop", baseline_run, True), ("hand-written loop", handwritten_run, True),
             ("API loop, final points only", baseline_run, False),
             ("hand-written loop, final points only", handwritten_run, False))
CONTENDERS = tuple(name for name, _, _ in BASELINES) + ("core.run",)
COUNTING = {name for name, _, counts in BASELINES if counts} | {"core.run"}


def time_grid(repeats: int):
    """Per contender the total seconds of each repeat; per contender but the first, the
    starts whose outcome, final point or steps to converge differ from the first's."""
    starts = grid_starts(FUNCTION, GRID)
    optimizers = {name: (core.get_optimizer(name, **settings), settings, steps)
                  for name, (settings, steps) in ARTICLE_SETTINGS.items()}
    start = time.perf_counter()
    for optimizer, _, steps in optimizers.values():  # the function's minima, solved once; the updates compiled
        core.run(FUNCTION, optimizer, starts[:10], 2, record=False)
        core.engine.compiled_update(optimizer, wait=True)
    print(f"  the four updates compiled in {time.perf_counter() - start:.1f} s (once per process; "
          "the app does it in the background)", flush=True)
    times = {contender: [] for contender in CONTENDERS}
    mismatched = {contender: [0, 0, 0] for contender in CONTENDERS[1:]}  # outcomes, points, steps
    for repeat in range(repeats):
        totals = dict.fromkeys(CONTENDERS, 0.0)
        for name, (optimizer, settings, steps) in optimizers.items():
            results = {}
            for contender, loop, counts in BASELINES:
                start = time.perf_counter()
                counter = StepCounter(FUNCTION, len(starts)) if counts else None
                final = loop(FUNCTION, name, settings, starts, steps, counter)
                results[contender] = (final, *baseline_outcome(FUNCTION, final, counter))
                totals[contender] += time.perf_counter() - start
            start = time.perf_counter()
            result = core.run(FUNCTION, optimizer, starts, steps, record=False)
            totals["core.run"] += time.perf_counter() - start
            results["core.run"] = result.final, result.outcome, result.steps_to_converge
            if repeat == 0:
                reference_final, reference_outcome, reference_steps = results[CONTENDERS[0]]
                for contender in CONTENDERS[1:]:
                    final, outcome, steps_to_converge = results[contender]
                    counts = mismatched[contender]
                    counts[0] += int(np.sum(outcome != reference_outcome))
                    counts[1] += int(np.sum(np.any(final != reference_final, axis=1)))
                    if steps_to_converge is not None:
                        counts[2] += int(np.sum(steps_to_converge != reference_steps))
        for contender, total in totals.items():
            times[contender].append(total)
        print(f"  repeat {repeat + 1}: " + ", ".join(f"{c} {t:.3f} s" for c, t in totals.items()), flush=True)
    return times, mismatched, len(starts)


MEMORY_CHILD = """
import json, resource, sys, time, tracemalloc
sys.path.insert(0, {root!r})
import numpy as np
import core
from app.presets import ARTICLE_SETTINGS
settings, _ = ARTICLE_SETTINGS["adam"]
f = core.get_function("two_gaussians")
(x0, x1), (y0, y1) = f.domain
xs, ys = np.linspace(x0, x1, {grid}), np.linspace(y0, y1, {grid})
starts = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
if {traced}:
    tracemalloc.start()
start = time.perf_counter()
result = core.run(f, core.get_optimizer("adam", **settings), starts, {steps}, record=False)
seconds = time.perf_counter() - start
traced = tracemalloc.get_traced_memory()[1] if {traced} else None
print(json.dumps({{"seconds": seconds, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "traced_mb": None if traced is None else traced / 2**20,
                  "global_share": float(np.mean(result.outcome == core.GLOBAL))}}))
"""


def measure_memory(steps: int, traced: bool) -> dict:
    code = MEMORY_CHILD.format(root=str(ROOT), grid=MEMORY_GRID, steps=steps, traced=traced)
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def time_single_runs(repeats: int = 7) -> dict[str, float]:
    times = {}
    for name, (settings, _) in ARTICLE_SETTINGS.items():
        optimizer = core.get_optimizer(name, **settings)
        core.run(FUNCTION, optimizer, [0.5, 1.0], 1000)  # warm the caches
        samples = []
        for _ in range(repeats):
            start = time.perf_counter()
            core.run(FUNCTION, optimizer, [0.5, 1.0], 1000)
            samples.append(time.perf_counter() - start)
        times[name] = statistics.median(samples)
    return times


def time_clicks(repeats: int = 21) -> float:
    """Median seconds of a dashboard click's runs: the article's four, recorded, one start."""
    runs = [(core.get_optimizer(name, **settings), steps) for name, (settings, steps) in ARTICLE_SETTINGS.items()]
    samples = []
    for i in range(repeats):
        start_point = [0.5 - 0.01 * i, 1.0]
        start = time.perf_counter()
        for optimizer, steps in runs:
            core.run(FUNCTION, optimizer, start_point, steps)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--skip-memory", action="store_true", help="skip the 1001x1001 x 1000 steps run")
    args = parser.parse_args()

    print(f"Grid: {GRID}x{GRID} starts, the article's four optimizers, two-gaussian bowl "
          f"(CHUNK={core.engine.CHUNK})")
    times, mismatched, n = time_grid(max(args.repeats, 1))
    medians = {contender: statistics.median(samples) for contender, samples in times.items()}
    engine = medians["core.run"]

    memory = traced = None
    if not args.skip_memory:
        print(f"Memory: {MEMORY_GRID}x{MEMORY_GRID} grid x {MEMORY_STEPS} steps, Adam, record=False ...", flush=True)
        memory = measure_memory(MEMORY_STEPS, traced=False)
        traced = measure_memory(50, traced=True)  # the traced peak does not grow with the steps

    single = time_single_runs()
    click = time_clicks()

    rows = [(f"baseline: {contender}", f"{medians[contender]:.3f} s") for contender in CONTENDERS[:-1]]
    rows += [("core.run(record=False)", f"{engine:.3f} s")]
    rows += [(f"speed-up against the {contender}", f"{medians[contender] / engine:.2f}x") for contender in CONTENDERS[:-1]]
    for contender, (outcomes, points, steps) in mismatched.items():
        rows += [(f"starts whose outcome differs from the API loop's: {contender}",
                  f"{outcomes} of {n} (x4 optimizers)"),
                 (f"starts whose final point differs bitwise: {contender}", f"{points}")]
        if contender in COUNTING:
            rows += [(f"starts whose steps to converge differ: {contender}", f"{steps}")]
    if memory:
        rows += [
            (f"{MEMORY_GRID}x{MEMORY_GRID} x {MEMORY_STEPS} steps, Adam, record=False: time",
             f"{memory['seconds']:.1f} s"),
            ("  peak resident memory of that process (ru_maxrss)", f"{memory['maxrss_mb']:.0f} MB"
             f" (limit {MEMORY_LIMIT_MB} MB)"),
            ("  peak traced numpy/Python allocations (tracemalloc, 50 steps)", f"{traced['traced_mb']:.0f} MB"),
        ]
    rows += [(f"record=True, 1 start, 1000 steps, {name} (median)", f"{seconds * 1e3:.1f} ms")
             for name, seconds in single.items()]
    rows += [("a click: the article's four recorded from one start, their steps (median)", f"{click * 1e3:.1f} ms")]
    width = max(len(label) for label, _ in rows)
    print()
    for label, value in rows:
        print(f"{label:<{width}}  {value}")
    print(f"\nmedians of {len(times['core.run'])} repeats; own process maxrss "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if memory and memory["maxrss_mb"] > MEMORY_LIMIT_MB:
        print(f"WARNING: peak memory above {MEMORY_LIMIT_MB} MB")
    if mismatched["core.run"][0] > MAX_OUTCOME_DIFFERENCES:
        print(f"FAIL: more than {MAX_OUTCOME_DIFFERENCES} outcomes differ from the baseline")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
