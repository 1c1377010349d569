"""The baselines of benchmarks/bench_core.py compute what core.run(record=False) computes.

The benchmark's speed-ups mean something only if its numpy loops do the same work and get
the same results: here on a small grid (the benchmark checks its own grid each time it runs).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import core
from app.presets import ARTICLE_SETTINGS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import bench_core  # noqa: E402


@pytest.mark.parametrize("name", sorted(ARTICLE_SETTINGS))
@pytest.mark.parametrize("loop", [bench_core.baseline_run, bench_core.handwritten_run], ids=["API", "hand-written"])
def test_baseline_equals_core_run(name, loop):
    settings, steps = ARTICLE_SETTINGS[name]
    function = bench_core.FUNCTION
    starts = bench_core.grid_starts(function, 21)
    counter = bench_core.StepCounter(function, len(starts))
    final = loop(function, name, settings, starts, steps, counter)
    outcome, steps_to_converge = bench_core.baseline_outcome(function, final, counter)
    result = core.run(function, core.get_optimizer(name, **settings), starts, steps, record=False)
    assert np.array_equal(final, result.final)
    assert np.array_equal(outcome, result.outcome)
    assert np.array_equal(steps_to_converge, result.steps_to_converge)
    converged = (outcome == core.GLOBAL) | (outcome == core.LOCAL)
    assert converged.any() and (steps_to_converge[converged] > 0).any()  # the counts are not trivially equal
    light_final = loop(function, name, settings, starts, steps)
    assert np.array_equal(light_final, final)
