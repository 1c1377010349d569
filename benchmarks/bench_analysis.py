"""Speed of the "beyond one path" views: basins at 201x201 (computation plus figure) for the
article's four optimizers and for all of them, and a 25-point lr sweep over 2,500 starts.

    python benchmarks/bench_analysis.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

import core  # noqa: E402
from app.analysis_view import _map_png, basin_figure  # noqa: E402
from app.presets import ARTICLE_SETTINGS, library_lr  # noqa: E402
from core import analysis  # noqa: E402


def basins_with_figure(function, settings: dict) -> None:
    results = {}
    for name, (optimizer, steps) in settings.items():
        basins = analysis.basin_map(function, optimizer, steps, 201)
        results[name] = {"category": basins.category, "summary": basins.summary(), "png": _map_png(basins, function)}
    basin_figure(function, results, (0.5, 1.0)).to_json()


def median_seconds(work, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    repeats = parser.parse_args().repeats
    bowl = core.get_function("two_gaussians")
    article = {n: (core.get_optimizer(n, **h), s) for n, (h, s) in ARTICLE_SETTINGS.items()}
    every = {n: (core.get_optimizer(n, lr=library_lr("two_gaussians", n)), 300) for n in core.OPTIMIZERS}
    starts = analysis.sweep_starts(bowl, 2500)

    def sweep():
        for name, (optimizer, steps) in article.items():
            analysis.lr_sweep(bowl, optimizer, steps, np.geomspace(optimizer.lr / 100, optimizer.lr * 100, 25), starts)

    rows = [
        ("basins 201x201 + figure, the article's 4", median_seconds(lambda: basins_with_figure(bowl, article), repeats), 1.0),
        (f"basins 201x201 + figure, all {len(every)}", median_seconds(lambda: basins_with_figure(bowl, every), repeats), 3.0),
        ("lr sweep 25 x 2,500 starts, the article's 4", median_seconds(sweep, repeats), 2.0),
    ]
    print(f"{'measure':48s} {'median':>8s} {'target':>8s}")
    for label, seconds, target in rows:
        print(f"{label:48s} {seconds:7.2f}s {target:7.1f}s  {'OK' if seconds <= target else 'OVER'}")


if __name__ == "__main__":
    main()
