"""The engine's compiled path: an optimizer's own `update`, compiled by numba for grids.

It is a way of running the one definition, not a second one: these tests compare it with
numpy running the same function (with tolerances, as torch.optim tests its fused paths
against its for-loops), over every element-wise optimizer and the branches of its update.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

import core
from core import engine

# Hyperparameters that reach every branch of each element-wise update.
SETTINGS = {
    "sgd": [{"lr": 0.01}, {"lr": 0.01, "weight_decay": 0.1}],
    "momentum": [{"lr": 0.01, "momentum": 0.8}, {"lr": 0.01, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}],
    "nesterov": [{"lr": 0.01, "weight_decay": 0.1}],
    "rmsprop": [{"lr": 0.01}, {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1}],
    "adam": [{"lr": 0.05}, {"lr": 0.01, "betas": (0.7, 0.999), "eps": 1e-6, "bias_correction": False},
             {"lr": 0.05, "weight_decay": 0.1}],
    "amsgrad": [{"lr": 0.05, "weight_decay": 0.1}],
    "adamw": [{"lr": 0.05}],
    "nadam": [{"lr": 0.05}, {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}],
    "radam": [{"lr": 0.05}, {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}],
    "adamax": [{"lr": 0.05, "weight_decay": 0.1}],
    "adagrad": [{"lr": 0.3, "lr_decay": 0.1, "initial_accumulator_value": 0.1, "weight_decay": 0.1}],
    "adadelta": [{"lr": 1.0, "weight_decay": 0.1}],
    "lion": [{"lr": 0.01, "weight_decay": 0.1}],
    "adabelief": [{"lr": 0.05}],
    "rprop": [{"lr": 0.01}, {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2)}],
    "asgd": [{"lr": 0.01}, {"lr": 0.01, "lambd": 0.1, "alpha": 0.5, "t0": 10, "weight_decay": 0.1}],
}
CASES = [(name, hyper) for name, settings in SETTINGS.items() for hyper in settings]
IDS = [f"{name}-{i}" for name, settings in SETTINGS.items() for i in range(len(settings))]


def test_settings_cover_every_element_wise_optimizer():
    element_wise = {name for name in core.OPTIMIZERS
                    if type(core.get_optimizer(name)).step is core.Optimizer.step}
    assert set(SETTINGS) == element_wise
    assert element_wise == set(core.OPTIMIZERS) - {"eve", "yellowfin", "adafactor", "lbfgs", "newton"}


def grid(function, n):
    (x0, x1), (y0, y1) = function.domain
    rng = np.random.default_rng(7)
    return np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])


def numpy_run(function, optimizer, starts, steps, **kwargs):
    """core.run with the compiled path switched off."""
    saved = engine.COMPILED_MIN_STARTS
    engine.COMPILED_MIN_STARTS = 10**12
    try:
        return core.run(function, optimizer, starts, steps, **kwargs)
    finally:
        engine.COMPILED_MIN_STARTS = saved


def compiled_run(function, optimizer, starts, steps, **kwargs):
    assert engine.compiled_update(optimizer, wait=True) is not None
    assert len(starts) >= engine.COMPILED_MIN_STARTS
    return core.run(function, optimizer, starts, steps, **kwargs)


def assert_close_runs(a, b):
    np.testing.assert_allclose(a.final, b.final, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(a.diverged_at, b.diverged_at)
    same_outcome = np.mean(a.outcome == b.outcome)
    assert same_outcome == 1.0, f"{(1 - same_outcome):.2%} of outcomes differ"


@pytest.mark.parametrize("name, hyper", CASES, ids=IDS)
@pytest.mark.parametrize("record", [False, True])
def test_compiled_update_runs_like_numpy(name, hyper, record):
    function = core.get_function("rosenbrock", b=2.0)
    optimizer = core.get_optimizer(name, **hyper)
    starts = grid(function, 1500)
    compiled = compiled_run(function, optimizer, starts, 60, record=record)
    plain = numpy_run(function, optimizer, starts, 60, record=record)
    assert_close_runs(compiled, plain)
    if record:
        np.testing.assert_allclose(compiled.points, plain.points, rtol=1e-12, atol=1e-12)


def test_compiled_runs_diverge_compact_and_add_noise_like_numpy():
    """Divergence mid-run (the arrays are compacted), gradient noise, several chunks."""
    function = core.get_function("rosenbrock")
    optimizer = core.get_optimizer("momentum", lr=0.003, momentum=0.5)
    starts = grid(function, 3000)
    saved = engine.CHUNK
    engine.CHUNK = 1100
    try:
        compiled = compiled_run(function, optimizer, starts, 80, record=False, noise=5.0, seed=3)
        plain = numpy_run(function, optimizer, starts, 80, record=False, noise=5.0, seed=3)
    finally:
        engine.CHUNK = saved
    assert compiled.diverged.any() and not compiled.diverged.all()
    assert_close_runs(compiled, plain)


def test_a_click_steps_with_numpy_and_never_waits_for_a_compiler():
    optimizer = core.get_optimizer("adam", lr=0.0123)
    job = engine._Job(core.get_function("booth"), optimizer, None, np.zeros((1, 2)), 5, 0.0, True)
    assert job.advance is None


def _plain_python(value):
    return value


@dataclass(frozen=True, kw_only=True)
class Uncompilable(core.Optimizer):
    """A user's element-wise optimizer whose update numba cannot compile (it calls a Python
    object numba does not know): numpy steps it, and nothing else changes."""

    name: ClassVar[str] = "uncompilable"
    title: ClassVar[str] = "Uncompilable"
    lr: float = 0.1

    def coefficients(self, t):
        return (self.lr,)

    @staticmethod
    def update(x, g, lr):
        return x - _plain_python(lr) * g


def test_an_update_numba_cannot_compile_steps_with_numpy():
    function = core.get_function("booth")
    starts = grid(function, 1200)
    assert engine.compiled_update(Uncompilable(), wait=True) is None
    result = core.run(function, Uncompilable(lr=0.05), starts, 100, record=False)
    expected = numpy_run(function, core.get_optimizer("sgd", lr=0.05), starts, 100, record=False)
    np.testing.assert_array_equal(result.final, expected.final)


def test_optimizers_that_override_step_are_not_compiled():
    for name in ("eve", "yellowfin", "adafactor", "lbfgs"):
        assert engine.compiled_update(core.get_optimizer(name), wait=True) is None


@dataclass(frozen=True, kw_only=True)
class Halving(core.Optimizer):
    """A user's element-wise optimizer, new to this process: x ← x − γ g / 2."""

    name: ClassVar[str] = "halving"
    title: ClassVar[str] = "Halving"
    lr: float = 0.1

    def coefficients(self, t):
        return (self.lr / 2,)

    @staticmethod
    def update(x, g, half_lr):
        return x - half_lr * g


def test_the_first_grid_steps_with_numpy_while_the_update_compiles_in_the_background():
    function = core.get_function("booth")
    starts = grid(function, 2000)
    optimizer = Halving()
    assert engine.compiled_update(optimizer) is None  # starts compiling, answers at once
    first = core.run(function, optimizer, starts, 50, record=False)  # numpy meanwhile
    deadline = time.monotonic() + 60
    while engine.compiled_update(optimizer) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert engine.compiled_update(optimizer) is not None
    later = core.run(function, optimizer, starts, 50, record=False)
    assert_close_runs(first, later)
    np.testing.assert_allclose(later.final, numpy_run(function, optimizer, starts, 50, record=False).final,
                               rtol=1e-12, atol=1e-12)


@dataclass(frozen=True, kw_only=True)
class ArrayCoefficients(core.Optimizer):
    """A user's element-wise optimizer whose coefficients are arrays (per-coordinate rates):
    numpy can step it, a compiled loop over numbers cannot; core.run must not fail."""

    name: ClassVar[str] = "array_coefficients"
    title: ClassVar[str] = "Array coefficients"
    lr: float = 0.05

    def coefficients(self, t):
        return (np.array([self.lr, self.lr / 2]),)

    @staticmethod
    def update(x, g, rates):
        return x - rates * g


def test_coefficients_that_are_not_numbers_step_with_numpy():
    function = core.get_function("booth")
    starts = grid(function, 1200)
    assert engine.compiled_update(ArrayCoefficients(), wait=True) is None
    result = core.run(function, ArrayCoefficients(), starts, 40, record=False)
    x = starts.copy()
    for _ in range(40):
        x = x - np.array([0.05, 0.025]) * function.gradient(x)
    np.testing.assert_allclose(result.final, x, rtol=1e-12, atol=1e-12)
