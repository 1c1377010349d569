"""Tests of the run engine, core.run.

* Shapes for one start and for many, with and without recording.
* record=False gives bitwise the results of record=True, and both follow the plain loop
  (optimizer.step on the function's gradient) bit for bit, whatever the chunking and threads.
* Divergence: no exception, no RuntimeWarning, flagged at the right step, stopped at the last
  finite point.
* Gradient noise: reproducible with a seed.
* Outcomes: global, other (listed or unlisted) minimum, not converged; steps to converge.
* Input validation, and O(N) memory with record=False.
"""

from __future__ import annotations

import tracemalloc
import warnings
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

import core
from core import engine
from core.engine import DIVERGED, GLOBAL, LOCAL, NOT_CONVERGED, default_tolerance
from core.functions import Saddle, TestFunction

TWO_GAUSSIANS = core.get_function("two_gaussians")
ARTICLE_ADAM = {"lr": 0.01, "betas": (0.7, 0.999), "eps": 1e-6, "bias_correction": False}
RESULT_FIELDS = ("final", "final_loss", "final_gradient_norm", "diverged", "diverged_at", "outcome",
                 "minimum_index", "steps_to_converge")


def random_starts(function, count, seed=0):
    (x0, x1), (y0, y1) = function.domain
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)])


def assert_same_results(a, b, fields=RESULT_FIELDS):
    for field in fields:
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


@dataclass(frozen=True, kw_only=True)
class Cone(TestFunction):
    """f = |p|: its gradient p/|p| is 0/0 = NaN at the origin."""

    name: ClassVar[str] = "cone"
    title: ClassVar[str] = "Cone"
    formula: ClassVar[str] = r"\sqrt{x^2 + y^2}"
    default_domain: ClassVar = ((-1.0, 1.0), (-1.0, 1.0))

    def value(self, x, y):
        return np.sqrt(x * x + y * y)

    def partials(self, x, y):
        radius = np.sqrt(x * x + y * y)
        return x / radius, y / radius


@dataclass(frozen=True, kw_only=True)
class Slope(TestFunction):
    """f = c·x with a tiny c: a step of γc is below half an ulp of x = 1."""

    name: ClassVar[str] = "slope"
    title: ClassVar[str] = "Slope"
    formula: ClassVar[str] = "c x"
    default_domain: ClassVar = ((0.0, 2.0), (-1.0, 1.0))
    c: float = 8e-18

    def value(self, x, y):
        return self.c * x + 0 * y

    def partials(self, x, y):
        return self.c + 0 * x, 0 * y


@dataclass(frozen=True, kw_only=True)
class SteepSaddle(Saddle):
    """Overrides the public `gradient` (twice the saddle's): the engine must use it."""

    def gradient(self, points):
        return 2 * super().gradient(points)


# ---------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------
def test_shapes_of_one_start():
    result = core.run(TWO_GAUSSIANS, core.get_optimizer("sgd", lr=0.02), [0.5, 1.0], 30)
    assert result.points.shape == (31, 1, 2)
    assert result.losses.shape == result.gradient_norms.shape == (31, 1)
    assert result.final.shape == (1, 2)
    for field in ("final_loss", "final_gradient_norm", "diverged", "diverged_at", "outcome", "minimum_index",
                  "steps_to_converge"):
        assert getattr(result, field).shape == (1,), field
    assert result.diverged.dtype == bool
    np.testing.assert_array_equal(result.points[0, 0], [0.5, 1.0])
    np.testing.assert_array_equal(result.final, result.points[-1])
    np.testing.assert_array_equal(result.final_loss, result.losses[-1])
    np.testing.assert_array_equal(result.final_gradient_norm, result.gradient_norms[-1])
    np.testing.assert_array_equal(result.losses, TWO_GAUSSIANS(result.points))
    np.testing.assert_allclose(result.gradient_norms, np.linalg.norm(TWO_GAUSSIANS.gradient(result.points), axis=-1),
                               rtol=1e-15)


def test_shapes_of_many_starts():
    starts = random_starts(TWO_GAUSSIANS, 5)
    adam = core.get_optimizer("adam", **ARTICLE_ADAM)
    recorded = core.run(TWO_GAUSSIANS, adam, starts, 20)
    assert recorded.points.shape == (21, 5, 2) and recorded.losses.shape == (21, 5)
    np.testing.assert_array_equal(recorded.points[0], starts)
    light = core.run(TWO_GAUSSIANS, adam, starts, 20, record=False)
    assert light.points is None and light.losses is None and light.gradient_norms is None
    assert light.final.shape == (5, 2) and light.final.flags.c_contiguous
    assert light.outcome.shape == light.steps_to_converge.shape == (5,)


def test_one_dimensional_start_is_one_run():
    sgd = core.get_optimizer("sgd", lr=0.02)
    assert_same_results(core.run(TWO_GAUSSIANS, sgd, [0.5, 1.0], 40), core.run(TWO_GAUSSIANS, sgd, [[0.5, 1.0]], 40))


def test_zero_steps():
    result = core.run(TWO_GAUSSIANS, core.get_optimizer("sgd"), [[0.5, 1.0], [-0.9363, 0.0]], 0)
    assert result.points.shape == (1, 2, 2)
    assert list(result.outcome) == [NOT_CONVERGED, GLOBAL]
    assert_same_results(result, core.run(TWO_GAUSSIANS, core.get_optimizer("sgd"), [[0.5, 1.0], [-0.9363, 0.0]], 0,
                                         record=False))


# ---------------------------------------------------------------------------------------
# record=False is record=True, and both are the plain loop
# ---------------------------------------------------------------------------------------
RASTRIGIN_ARTICLE = {"A": 20.0, "omega": 1.0, "domain": ((-20.0, 20.0), (-20.0, 20.0))}
CASES = {
    # function, its parameters, optimizer, hyperparameters, steps
    "bowl-sgd": ("two_gaussians", {}, "sgd", {"lr": 0.02}, 300),
    "bowl-article-adam": ("two_gaussians", {}, "adam", ARTICLE_ADAM, 100),
    "bowl-momentum-oscillates": ("two_gaussians", {}, "momentum", {"lr": 0.3, "momentum": 0.9}, 120),
    "rastrigin-sgd-settles": ("rastrigin", RASTRIGIN_ARTICLE, "sgd", {"lr": 0.02}, 300),
    "rastrigin-rmsprop": ("rastrigin", RASTRIGIN_ARTICLE, "rmsprop", {"lr": 0.1, "alpha": 0.99, "eps": 1e-6}, 150),
    "rosenbrock-sgd-diverges": ("rosenbrock", {}, "sgd", {"lr": 0.003}, 200),
    "himmelblau-nadam": ("himmelblau", {}, "nadam", {"lr": 0.05}, 150),
    "six-hump-camel-adam": ("six_hump_camel", {}, "adam", {"lr": 0.02}, 200),
    "beale-adagrad": ("beale", {}, "adagrad", {"lr": 0.5, "lr_decay": 0.01}, 150),
    "saddle-lion": ("saddle", {}, "lion", {"lr": 0.01}, 100),
    "bowl-eve-needs-loss": ("two_gaussians", {}, "eve", {"lr": 0.05}, 80),
    "ackley-yellowfin": ("ackley", {}, "yellowfin", {}, 60),
}


def _case(name):
    function_name, params, optimizer_name, hyperparameters, steps = CASES[name]
    function = core.get_function(function_name, **params)
    return function, core.get_optimizer(optimizer_name, **hyperparameters), steps


@pytest.mark.parametrize("name", CASES)
def test_record_false_equals_record_true_bitwise(name):
    function, optimizer, steps = _case(name)
    starts = random_starts(function, 200, seed=len(name))
    recorded = core.run(function, optimizer, starts, steps, record=True)
    light = core.run(function, optimizer, starts, steps, record=False)
    assert_same_results(recorded, light)


def test_cases_cover_diverging_and_every_outcome():
    seen, diverged = set(), False
    for name in CASES:
        function, optimizer, steps = _case(name)
        result = core.run(function, optimizer, random_starts(function, 200, seed=len(name)), steps)
        seen |= set(result.outcome.tolist())
        diverged |= bool(result.diverged.any())
    assert seen == {GLOBAL, LOCAL, NOT_CONVERGED, DIVERGED}
    assert diverged


def plain_loop(function, optimizer, starts, steps):
    """The path the textbook way: (N, 2) arrays, the function's own gradient."""
    params, state = np.array(starts, dtype=float), optimizer.init(np.array(starts, dtype=float))
    path = [params]
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            loss = function(params) if optimizer.needs_loss else None
            params, state = optimizer.step(params, function.gradient(params), state, t, loss=loss)
            path.append(params)
    return np.array(path)


@pytest.mark.parametrize("name", ["bowl-article-adam", "rastrigin-sgd-settles", "himmelblau-nadam",
                                  "bowl-eve-needs-loss", "ackley-yellowfin"])
def test_paths_are_the_plain_loops_bit_for_bit(name):
    """The engine's layout ((2, n) rows, transposed views for the optimizer) changes no bit."""
    function, optimizer, steps = _case(name)
    starts = random_starts(function, 50, seed=3)
    result = core.run(function, optimizer, starts, steps)
    expected = plain_loop(function, optimizer, starts, steps)
    keep = ~result.diverged
    np.testing.assert_array_equal(result.points[:, keep], expected[:, keep])


@pytest.mark.parametrize("record", [True, False])
def test_chunks_change_nothing(monkeypatch, record):
    function, optimizer, steps = _case("rastrigin-sgd-settles")
    starts = random_starts(function, 100, seed=5)
    whole = core.run(function, optimizer, starts, steps, record=record)
    monkeypatch.setattr(engine, "CHUNK", 13)
    chunked = core.run(function, optimizer, starts, steps, record=record)
    assert_same_results(whole, chunked)
    if record:
        np.testing.assert_array_equal(whole.points, chunked.points)


@pytest.mark.parametrize("record", [True, False])
def test_a_point_whose_state_still_changes_keeps_moving(record):
    """Momentum on a tiny slope from x = 1: the first steps are below half an ulp, so x does
    not change (at step 8 either), but the buffer grows to c/(1 − μ) and x moves at step 12.
    The engine must not take the point for settled while its state changes."""
    result = core.run(Slope(), core.get_optimizer("momentum", lr=1.0, momentum=0.9), [1.0, 0.0], 30, record=record)
    assert result.final[0, 0] < 1.0
    if record:
        assert np.all(result.points[:12, 0, 0] == 1.0) and result.points[12, 0, 0] < 1.0


# ---------------------------------------------------------------------------------------
# Divergence
# ---------------------------------------------------------------------------------------
def first_non_finite_step(function, lr, start, steps):
    x = np.array([start], dtype=float)
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            x = x - lr * function.gradient(x)
            if not (np.all(np.isfinite(x)) and np.all(np.isfinite(function.gradient(x)))):
                return t
    return -1


@pytest.mark.parametrize("record", [True, False])
def test_divergence_is_flagged_and_stopped_without_warnings(record):
    rosenbrock = core.get_function("rosenbrock")
    starts = np.array([[0.5, 0.5], [-1.0, 2.0], [1.0, 1.0], [1.5, -0.5]])  # (1, 1) is the minimum: g = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = core.run(rosenbrock, core.get_optimizer("sgd", lr=10.0), starts, 50, record=record)
    expected = [first_non_finite_step(rosenbrock, 10.0, s, 50) for s in starts]
    np.testing.assert_array_equal(result.diverged_at, expected)
    assert list(result.diverged) == [True, True, False, True]
    assert [result.outcome_names[i] for i in (0, 2)] == ["diverged", "global minimum"]
    assert np.all(np.isfinite(result.final)) and np.all(np.isfinite(result.final_loss))
    recorded = core.run(rosenbrock, core.get_optimizer("sgd", lr=10.0), starts, 50)
    for i, step in enumerate(expected):
        if step < 0:
            continue
        last = recorded.points[step - 1, i]
        np.testing.assert_array_equal(result.final[i], last)  # the last finite point
        assert np.all(recorded.points[step:, i] == last)  # repeated after the divergence
        assert np.all(recorded.losses[step:, i] == recorded.losses[step - 1, i])
        assert result.steps_to_converge[i] == -1 and result.minimum_index[i] == -1


@pytest.mark.parametrize("name", sorted(core.OPTIMIZERS))
def test_every_optimizer_diverges_quietly(name):
    """A huge lr takes every optimizer out of the floating-point range (whole runs, per-step
    runs with noise, recorded or not): flagged, stopped at a finite point, no warning."""
    rosenbrock = core.get_function("rosenbrock")
    # Rprop's steps are capped by step_sizes[1], Adafactor's lr only caps its relative step
    # min(lr, 1/√t) (its weight decay γλ is not capped).
    hyper = {"rprop": {"step_sizes": (1e-6, 1e300)}, "adafactor": {"weight_decay": 1.0}}.get(name, {})
    optimizer = core.get_optimizer(name, lr=1e300, **hyper)
    starts = np.array([[0.5, 0.5], [-1.0, 2.0], [1.5, -0.5]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for record in (True, False):
            for noise in (0.0, 0.1):
                result = core.run(rosenbrock, optimizer, starts, 40, record=record, noise=noise, seed=1)
                assert result.diverged.all(), (record, noise, result.diverged_at)
                assert (result.outcome == core.DIVERGED).all()
                assert np.isfinite(result.final).all() and np.isfinite(result.final_loss).all()
                if record:
                    assert np.isfinite(result.points).all() and np.isfinite(result.losses).all()
        np.add(np.ones(3), 1.0)  # no floating-point flag left behind for numpy to report


@pytest.mark.parametrize("record", [True, False])
def test_non_finite_gradient_at_the_start(record):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = core.run(Cone(), core.get_optimizer("sgd", lr=0.1), [[0.0, 0.0], [0.5, 0.0]], 3, record=record)
    assert list(result.diverged_at) == [0, -1]
    np.testing.assert_array_equal(result.final[0], [0.0, 0.0])
    if record:
        assert np.all(result.points[:, 0] == 0.0)


def test_an_overridden_gradient_is_used():
    result = core.run(SteepSaddle(), core.get_optimizer("sgd", lr=0.1), [1.0, 1.0], 1, record=False)
    np.testing.assert_allclose(result.final, [[1 - 0.1 * 4, 1 + 0.1 * 4]])


# ---------------------------------------------------------------------------------------
# Noise
# ---------------------------------------------------------------------------------------
def test_noise_is_reproducible_with_a_seed():
    adam = core.get_optimizer("adam", **ARTICLE_ADAM)
    starts = random_starts(TWO_GAUSSIANS, 20)
    first = core.run(TWO_GAUSSIANS, adam, starts, 50, noise=0.5, seed=1)
    again = core.run(TWO_GAUSSIANS, adam, starts, 50, noise=0.5, seed=1)
    other = core.run(TWO_GAUSSIANS, adam, starts, 50, noise=0.5, seed=2)
    clean = core.run(TWO_GAUSSIANS, adam, starts, 50)
    np.testing.assert_array_equal(first.points, again.points)
    assert np.all(np.any(first.final != other.final, axis=1))
    assert np.all(np.any(first.final != clean.final, axis=1))
    # The recorded gradients are the exact ones, at the noisy points.
    np.testing.assert_array_equal(first.gradient_norms, np.linalg.norm(TWO_GAUSSIANS.gradient(first.points), axis=-1))
    assert_same_results(first, core.run(TWO_GAUSSIANS, adam, starts, 50, noise=0.5, seed=1, record=False))


def test_zero_noise_is_no_noise():
    sgd = core.get_optimizer("sgd", lr=0.02)
    starts = random_starts(TWO_GAUSSIANS, 10)
    assert_same_results(core.run(TWO_GAUSSIANS, sgd, starts, 60, noise=0.0, seed=3),
                        core.run(TWO_GAUSSIANS, sgd, starts, 60))


def test_noise_with_divergence_and_chunks(monkeypatch):
    """Noise draws cover whole chunks, so points that stop do not shift the others' noise."""
    monkeypatch.setattr(engine, "CHUNK", 16)
    function, optimizer, _ = _case("rosenbrock-sgd-diverges")
    starts = random_starts(function, 50, seed=9)
    recorded = core.run(function, optimizer, starts, 80, noise=0.3, seed=4)
    assert recorded.diverged.any() and not recorded.diverged.all()
    assert_same_results(recorded, core.run(function, optimizer, starts, 80, noise=0.3, seed=4, record=False))


# ---------------------------------------------------------------------------------------
# Outcomes
# ---------------------------------------------------------------------------------------
def test_outcomes_at_the_minima_and_far_from_them():
    minima = TWO_GAUSSIANS.minima
    glob = next(i for i, m in enumerate(minima) if m.is_global)
    local = next(i for i, m in enumerate(minima) if not m.is_global)
    sgd = core.get_optimizer("sgd", lr=0.02)
    for record in (True, False):
        result = core.run(TWO_GAUSSIANS, sgd, [minima[glob].point, minima[local].point], 100, record=record)
        assert list(result.outcome) == [GLOBAL, LOCAL]
        assert list(result.minimum_index) == [glob, local]
        assert list(result.steps_to_converge) == [0, 0]
        tiny = core.run(TWO_GAUSSIANS, core.get_optimizer("sgd", lr=1e-7), [1.7, 1.7], 100, record=record)
        assert tiny.outcome_names == ["not converged"]
        assert tiny.minimum_index[0] == -1 and tiny.steps_to_converge[0] == -1


def test_unlisted_minimum_is_another_minimum():
    """Rastrigin lists only its global minimum; its other wells count by their small gradient."""
    rastrigin = core.get_function("rastrigin", **RASTRIGIN_ARTICLE)
    result = core.run(rastrigin, core.get_optimizer("sgd", lr=0.02), [12.0, 0.3], 500)
    assert result.outcome_names == ["other minimum"]
    assert result.minimum_index[0] == -1
    assert 0 < result.steps_to_converge[0] < 500
    norms = result.gradient_norms[:, 0]
    small = engine.gradient_tolerance(rastrigin)
    since = result.steps_to_converge[0]
    assert np.all(norms[since:] <= small) and norms[since - 1] > small


def test_steps_to_converge_is_the_first_step_from_which_it_stayed():
    momentum = core.get_optimizer("momentum", lr=0.01, momentum=0.8)
    starts = random_starts(TWO_GAUSSIANS, 100, seed=11)
    result = core.run(TWO_GAUSSIANS, momentum, starts, 200)
    tolerance = default_tolerance(TWO_GAUSSIANS)
    minima = np.array([m.point for m in TWO_GAUSSIANS.minima])
    checked = 0
    for i in np.flatnonzero(result.minimum_index >= 0):
        distance = np.linalg.norm(result.points[:, i] - minima[result.minimum_index[i]], axis=-1)
        outside = np.flatnonzero(distance > tolerance)
        assert result.steps_to_converge[i] == (outside[-1] + 1 if len(outside) else 0)
        checked += 1
    assert checked > 50
    assert_same_results(result, core.run(TWO_GAUSSIANS, momentum, starts, 200, record=False))


# ---------------------------------------------------------------------------------------
# Validation and memory
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("steps", [-1, engine.MAX_STEPS + 1])
def test_invalid_steps(steps):
    with pytest.raises(ValueError, match="steps"):
        core.run(TWO_GAUSSIANS, core.get_optimizer("sgd"), [0.0, 0.0], steps)


@pytest.mark.parametrize("starts", [[0.0, 0.0, 0.0], [[0.0, 0.0, 0.0]], [[[0.0, 0.0]]], [np.nan, 0.0],
                                    [[0.0, np.inf]], "start", []])
def test_invalid_starts(starts):
    with pytest.raises(ValueError, match="starts"):
        core.run(TWO_GAUSSIANS, core.get_optimizer("sgd"), starts, 10)


@pytest.mark.parametrize("noise", [-0.1, np.nan, np.inf, "loud"])
def test_invalid_noise(noise):
    with pytest.raises(ValueError, match="noise"):
        core.run(TWO_GAUSSIANS, core.get_optimizer("sgd"), [0.0, 0.0], 10, noise=noise)


def test_memory_is_linear_in_the_starts_without_recording():
    count, steps = 10_000, 2_000
    booth = core.get_function("booth")  # a cheap gradient; with this lr no start settles
    starts = random_starts(booth, count)
    sgd = core.get_optimizer("sgd", lr=1e-4)
    core.run(booth, sgd, starts, 2, record=False)  # caches warm, compiled code loaded (not the run's memory)
    tracemalloc.start()
    try:
        result = core.run(booth, sgd, starts, steps, record=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.final.shape == (count, 2)
    assert peak < steps * count * 8 / 20, f"peak {peak / 2**20:.1f} MB"


@pytest.mark.parametrize("function_name", ["rosenbrock", "beale"])
def test_a_run_still_crawling_along_a_valley_is_not_called_a_minimum(function_name):
    """Both have one minimum, listed: a run ending elsewhere with a smallish gradient (Adam on
    Rosenbrock's valley at (1.5, 2.3), ‖∇f‖ ≈ 0.4) was labelled "other minimum"."""
    function = core.get_function(function_name)
    (x0, x1), (y0, y1) = function.domain
    starts = np.stack(np.meshgrid(np.linspace(x0, x1, 21), np.linspace(y0, y1, 21)), axis=-1).reshape(-1, 2)
    for name, lr in (("adam", 0.01), ("sgd", 1e-4), ("rmsprop", 0.003)):
        result = core.run(function, core.get_optimizer(name, lr=lr), starts, 300, record=False)
        unlisted = (result.outcome == core.engine.LOCAL) & (result.minimum_index < 0)
        assert not unlisted.any(), (name, result.final[unlisted][:3], result.final_gradient_norm[unlisted][:3])


def test_an_unlisted_well_is_still_a_minimum():
    rastrigin = core.get_function("rastrigin", A=20.0, omega=1.0, domain=((-20.0, 20.0), (-20.0, 20.0)))
    result = core.run(rastrigin, core.get_optimizer("sgd", lr=0.02), (15.0, 15.0), 500)
    assert result.outcome_names == ["other minimum"] and result.minimum_index[0] == -1
    np.testing.assert_allclose(result.final[0], [5.68, 5.68], atol=0.01)


def test_no_minimum_where_the_function_is_undefined():
    """log(−x² − 1 − y²) is NaN everywhere, but its gradient is finite and vanishes at 0."""
    function = core.get_function("custom", expression="log(-x**2-1-y**2)")
    starts = np.array([[0.5, 0.5], [-1.0, 2.0], [0.01, 0.0]])
    for record in (True, False):
        result = core.run(function, core.get_optimizer("adam", lr=0.05), starts, 300, record=record)
        assert set(result.outcome_names) == {"undefined"} and (result.steps_to_converge == -1).all()
        assert not result.diverged.any()

