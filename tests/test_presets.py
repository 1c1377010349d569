"""The "library defaults" preset: learning rates that do not blow up on an ordinary click."""

import numpy as np
import pytest

import core
from app.presets import LIBRARY_STEPS, library_preset

FUNCTIONS = [name for name in core.FUNCTIONS if name not in ("custom", "saddle")]


@pytest.mark.parametrize("function_name", FUNCTIONS)
def test_library_default_learning_rates_do_not_diverge_from_ordinary_starts(function_name):
    function = core.get_function(function_name)
    (x0, x1), (y0, y1) = function.domain
    xs, ys = np.meshgrid(np.linspace(x0, x1, 17), np.linspace(y0, y1, 17))  # not the tuner's 41x41 grid
    starts = np.column_stack([xs.ravel(), ys.ravel()])
    preset = library_preset(function_name)
    diverged = {}
    for name in core.OPTIMIZERS:
        optimizer = core.get_optimizer(name, **preset.hyperparameters[name])
        diverged[name] = float(np.mean(core.run(function, optimizer, starts, LIBRARY_STEPS, record=False).diverged))
    # YellowFin tunes its own step; on the six-hump camel's x⁶ corners it diverges from ~2% of
    # the starts whatever its initial lr (1e-7 to 1e-3 measured alike).
    limits = {name: 0.03 if name == "yellowfin" else 0.02 for name in diverged}
    assert all(diverged[n] <= limits[n] for n in diverged), {n: s for n, s in diverged.items() if s > limits[n]}
