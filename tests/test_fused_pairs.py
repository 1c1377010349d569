"""The per-pair passes (core/fused_pairs.py) against the staged tracked run (core/fused.py),
which tests/test_fused.py checks against the per-step engine and that against the reference
code: final points, gradients, tracker rows and divergence steps, bit for bit.

Each pass compiles in ~4-9 s (then numba's disk cache keeps it), so the choice is lean: on
the bowl every optimizer with its last setting of tests/test_fused.py (weight decay and
flags on: the values read at run time) and the article's four (zero weight decay, flags
off: constants of the pass); every other function with one optimizer, in turn."""

from __future__ import annotations

import numpy as np
import pytest

import core
from core import engine, fused, fused_pairs
from app.presets import ARTICLE_SETTINGS
from tests.test_fused import OPTIMIZER_SETTINGS, OTHER_PARAMS, bitwise_equal, spread_starts

PAIR_FUNCTIONS = tuple(name for name in core.FUNCTIONS if name not in ("custom", "ackley"))
PAIR_OPTIMIZERS = tuple(name for name in OPTIMIZER_SETTINGS if name not in ("eve", "yellowfin"))
STEPS = 150


def paired_and_staged(function, optimizer, starts, steps=STEPS):
    landscape = engine._landscape(function, engine.default_tolerance(function))
    arguments = (np.ascontiguousarray(starts.T), steps, landscape.minima, landscape.squared_tolerance,
                 landscape.squared_gradient_tolerance)
    paired = fused_pairs.pair_run(function, optimizer)
    assert paired is not None, (function.name, optimizer.name)
    return paired(*arguments), fused.tracked_run(function, optimizer)(*arguments)


def assert_same(paired, staged, context):
    for field, got, expected in zip(("final", "final_gradient", "since", "diverged_at"), paired, staged):
        assert bitwise_equal(got, expected), (context, field)


def test_pairs_cover_the_functions_and_optimizers_said():
    for function_name in core.FUNCTIONS:
        if function_name == "custom":
            continue
        function = core.get_function(function_name)
        for name in OPTIMIZER_SETTINGS:
            has_pass = fused_pairs.pair_run(function, core.get_optimizer(name)) is not None
            assert has_pass == (function_name in PAIR_FUNCTIONS and name in PAIR_OPTIMIZERS), (function_name, name)


@pytest.mark.parametrize("name,settings", [(n, OPTIMIZER_SETTINGS[n][-1]) for n in PAIR_OPTIMIZERS]
                         + [(n, ARTICLE_SETTINGS[n][0]) for n in ARTICLE_SETTINGS])
def test_every_optimizer_setting_on_the_bowl(name, settings):
    """Two blocks of starts (fused_pairs.BLOCK + 77), two of them far out (±1e200, one in
    each block), and a learning rate 10,000 times larger, with which the plain gradient steps
    overflow during the run (runs leave the block at different steps)."""
    function = core.get_function("two_gaussians")
    starts = spread_starts(function, fused_pairs.BLOCK + 77)
    for lr_scale in (1.0, 1e4):
        optimizer = core.get_optimizer(name, **{**settings, "lr": settings.get("lr", 1.0) * lr_scale})
        paired, staged = paired_and_staged(function, optimizer, starts)
        assert_same(paired, staged, (name, settings, lr_scale))
        if lr_scale > 1 and name in ("sgd", "momentum", "nesterov"):  # the others' steps are bounded
            diverged_at = paired[3]
            assert (diverged_at > 0).sum() > 2 and len(set(diverged_at[diverged_at > 0])) > 1, (name, settings)


@pytest.mark.parametrize("function_name", [n for n in PAIR_FUNCTIONS if n != "two_gaussians"])
def test_every_function(function_name):
    """Each function with one optimizer, in turn."""
    function = core.get_function(function_name)
    name = PAIR_OPTIMIZERS[PAIR_FUNCTIONS.index(function_name) % len(PAIR_OPTIMIZERS)]
    starts = spread_starts(function, fused_pairs.BLOCK + 77)
    settings = OPTIMIZER_SETTINGS[name][0]
    paired, staged = paired_and_staged(function, core.get_optimizer(name, **settings), starts)
    assert_same(paired, staged, (function_name, name, settings))


@pytest.mark.parametrize("function_name,params", sorted(OTHER_PARAMS.items()))
def test_other_parameters(function_name, params):
    function = core.get_function(function_name, **params)
    starts = spread_starts(function, 500)
    paired, staged = paired_and_staged(function, core.get_optimizer("sgd", **OPTIMIZER_SETTINGS["sgd"][0]), starts)
    assert_same(paired, staged, (function_name, params))


def test_steps_zero_and_one():
    function = core.get_function("rosenbrock")
    starts = spread_starts(function, 300)
    optimizer = core.get_optimizer("momentum", momentum=0.9, lr=0.001)
    for steps in (0, 1, 2):
        paired, staged = paired_and_staged(function, optimizer, starts, steps)
        assert_same(paired, staged, steps)


def test_the_engine_takes_a_compiled_pass_for_big_chunks_only(monkeypatch, tmp_path):
    """core.run goes through a pair's pass for chunks of PAIR_MIN_POINTS starts or more once
    the pass is compiled (`warm`, which leaves a marker for other processes), never before
    (compiling takes seconds) nor for a smaller chunk; always with the staged run's results."""
    monkeypatch.setattr(fused_pairs, "_MARKERS", tmp_path)
    calls = []
    call = fused_pairs.PairRun.__call__

    def counting(self, *arguments):
        calls.append(arguments[0].shape[1])
        return call(self, *arguments)

    monkeypatch.setattr(fused_pairs.PairRun, "__call__", counting)
    # a pair no other test compiles (its weight decay of 1 is a constant of the pass)
    function, optimizer = core.get_function("matyas"), core.get_optimizer("adagrad", lr=0.3, weight_decay=1.0)
    (x0, x1), (y0, y1) = function.domain
    grid = np.stack(np.meshgrid(np.linspace(x0, x1, 70), np.linspace(y0, y1, 70)), axis=-1).reshape(-1, 2)
    assert len(grid) >= fused_pairs.PAIR_MIN_POINTS > len(grid) // 2  # one chunk: in one call
    cold = core.run(function, optimizer, grid, 80, record=False)
    assert calls == [] and not list(tmp_path.iterdir())
    assert fused_pairs.warm(function, optimizer)
    assert calls == [1] and len(list(tmp_path.iterdir())) == 1
    warm = core.run(function, optimizer, grid, 80, record=False)
    small = core.run(function, optimizer, grid[:500], 80, record=False)
    assert calls == [1, len(grid)]
    for field in ("final", "final_loss", "outcome", "minimum_index", "steps_to_converge", "diverged_at"):
        assert bitwise_equal(getattr(warm, field), getattr(cold, field)), field
        assert bitwise_equal(getattr(small, field), getattr(cold, field)[:500]), field


def test_a_marker_stands_for_the_pass_in_another_process(monkeypatch, tmp_path):
    """A pass compiled in one process leaves a marker, by which the next process takes it (from
    numba's disk cache); the marker names the code version, so edited code is not taken for
    compiled."""
    function, optimizer = core.get_function("two_gaussians"), core.get_optimizer("sgd", lr=0.02)
    monkeypatch.setattr(fused_pairs, "_MARKERS", tmp_path)
    paired = fused_pairs.pair_run(function, optimizer)
    minima = len(function.minima)
    fused_pairs._mark_compiled(paired.key, minima)
    assert paired.compiled(minima)
    monkeypatch.setattr(fused_pairs, "_CODE_VERSION", "other code")
    assert not fused_pairs._marker(paired.key, minima).exists()
