"""The fused loops (core/fused.py) equal the reference code bit for bit.

Every fused optimizer step against `Optimizer.step`, every fused gradient and value against
`TestFunction.partials` and `TestFunction.value`, and the fused bookkeeping against its numpy
formulas: on random inputs spread over many magnitudes, with special values (±0, ±inf, NaN,
huge) mixed in, and for the steps on degenerate gradients and losses too (zero, repeating,
small whole numbers).
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest

import core
from core import fused
from core import fused_gradients
from core.fused_gradients import compiled_kind, fused_value

SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e300, -1e300, 5e-324, 1.0, -1.0])


def planes(rng, n, special=True):
    """(2, n) values over many magnitudes, some special."""
    values = rng.normal(size=(2, n)) * 10.0 ** rng.integers(-3, 4, size=(2, n))
    if special:
        values[:, :: 7] = rng.choice(SPECIAL, size=values[:, ::7].shape)
    return values


def losses(rng, n, special=True):
    """(n,) positive losses over many magnitudes, some special."""
    values = np.abs(rng.normal(size=n)) * 10.0 ** rng.integers(-3, 4, size=n)
    if special:
        values[::7] = rng.choice(SPECIAL, size=values[::7].shape)
    return values


def degenerate_inputs(rng, n, previous_grad, previous_loss):
    """The next (2, n) gradient and (n,) loss of a round where the tuners' special cases occur.
    By point i mod 5 the gradient is: always zero (YellowFin's h_max = 0); small whole numbers,
    sometimes zero (h_min = 0); the previous one again; small whole numbers (exact arithmetic,
    so the variance C is often exactly 0); random, ~1e-155 at the first step and ~1e153 after
    (a tiny h_min against a huge C: a = ∞). Half the losses repeat the previous ones; the
    others are a few values at, below and above Eve's f* (0, 1 or −2.5 in OPTIMIZER_SETTINGS)."""
    grad = rng.integers(-2, 3, size=(2, n)).astype(float)
    grad[:, 0::5] = 0.0
    sometimes_zero = grad[:, 1::5]
    sometimes_zero[:, rng.random(sometimes_zero.shape[1]) < 0.4] = 0.0
    if previous_grad is not None:
        grad[:, 2::5] = previous_grad[:, 2::5]
    extreme = grad[:, 4::5]
    extreme[:] = rng.normal(size=extreme.shape) * (1e-155 if previous_grad is None else 1e153)
    loss = rng.choice([0.0, 1.0, -2.5, 2.0, 3.5, 1e3, 0.25], size=n)
    if previous_loss is not None:
        repeat = rng.random(n) < 0.5
        loss[repeat] = previous_loss[repeat]
    return grad, loss


def as_engine_arrays(values):
    """(n, 2) views of (2, n) arrays, as the engine passes them."""
    return np.ascontiguousarray(values).T



def bitwise_equal(a, b):
    """Equal bit for bit, NaNs included (any NaN payload counts as NaN)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    assert a.shape == b.shape
    both_nan = np.isnan(a) & np.isnan(b)
    bits_equal = a.view(np.int64) == b.view(np.int64)
    return bool(np.all(both_nan | bits_equal))


OPTIMIZER_SETTINGS = {
    "sgd": [{"lr": 0.02}, {"lr": 0.3, "weight_decay": 0.1}],
    "momentum": [{"lr": 0.01, "momentum": 0.8}, {"lr": 0.1, "momentum": 0.95, "dampening": 0.3, "weight_decay": 0.01}],
    "nesterov": [{"lr": 0.01, "momentum": 0.9}, {"lr": 0.2, "momentum": 0.5, "weight_decay": 0.05}],
    "rmsprop": [{"lr": 0.01, "alpha": 0.99, "eps": 1e-6}, {"lr": 0.05, "centered": True, "momentum": 0.9},
                {"lr": 0.1, "weight_decay": 0.1, "momentum": 0.5}],
    "adam": [{"lr": 0.01, "betas": (0.7, 0.999), "eps": 1e-6, "bias_correction": False},
             {"lr": 0.1}, {"lr": 0.1, "betas": (0.3, 0.9), "weight_decay": 0.2}],
    "amsgrad": [{"lr": 0.05}, {"lr": 0.5, "betas": (0.6, 0.8), "weight_decay": 0.1}],
    "adamw": [{"lr": 0.05}, {"lr": 0.5, "weight_decay": 0.3}],
    "nadam": [{"lr": 0.05}, {"lr": 0.5, "weight_decay": 0.1}, {"lr": 0.5, "weight_decay": 0.1,
                                                              "decoupled_weight_decay": True}],
    "radam": [{"lr": 0.05}, {"lr": 0.5, "weight_decay": 0.1, "betas": (0.9, 0.5)},
              {"lr": 0.5, "weight_decay": 0.1, "decoupled_weight_decay": True}],
    "adamax": [{"lr": 0.05}, {"lr": 0.5, "weight_decay": 0.1, "betas": (0.2, 0.6)}],
    "adagrad": [{"lr": 0.05}, {"lr": 0.5, "lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.3}],
    "adadelta": [{"lr": 1.0}, {"lr": 0.5, "rho": 0.5, "weight_decay": 0.1, "eps": 1e-3}],
    "lion": [{"lr": 0.01}, {"lr": 0.1, "betas": (0.5, 0.7), "weight_decay": 0.3}],
    "adabelief": [{"lr": 0.05}, {"lr": 0.5, "betas": (0.4, 0.6), "eps": 1e-8}],
    "eve": [{}, {"lr": 0.1, "betas": (0.5, 0.9, 0.7), "eps": 1e-3, "lower_threshold": 0.5, "upper_threshold": 2.0,
                 "f_star": 1.0},
            {"lr": 0.5, "lower_threshold": 1.0, "upper_threshold": 1.0, "f_star": -2.5},
            {"lr": 0.01, "betas": (0.0, 0.0, 0.0), "eps": 0.0, "upper_threshold": 1e6}],
    "yellowfin": [{}, {"lr": 0.1, "momentum": 0.9, "beta": 0.5, "curv_win_width": 1},
                  {"lr": 1e-3, "momentum": 0.5, "beta": 0.9, "curv_win_width": 3},
                  {"lr": 1.0, "beta": 0.0, "curv_win_width": 2}, {"beta": 0.75, "curv_win_width": 10.0}],
}


def test_every_optimizer_has_settings_here_and_a_plan():
    for name in core.OPTIMIZERS:
        assert name in OPTIMIZER_SETTINGS, name
        assert isinstance(fused.steps_of(core.get_optimizer(name)), fused.PlannedSteps), name


def planned_state_fields(optimizer, state) -> list:
    """The arrays of `PlannedSteps` state in the order and layout of `optimizer.init`'s fields."""
    planes, window = state
    if isinstance(optimizer, core.optimizers.YellowFin):  # fused._yellowfin_initial's planes
        return [planes[0].T, window, planes[2, 0], planes[3, 0], planes[1].T, *planes[4:, 0]]
    reference = optimizer.init(np.zeros((planes.shape[2], 2)))
    return [plane.T if array.ndim == 2 else plane[0] for plane, array in zip(planes, reference)]


@pytest.mark.parametrize("name,settings", [(n, s) for n, all_settings in OPTIMIZER_SETTINGS.items()
                                           for s in all_settings])
def test_planned_steps_equal_reference(name, settings):
    """Each step through the optimizer's plan (the kernels whole runs use) equals
    `Optimizer.step` bit for bit, its new point and every state array, on random, special and
    degenerate inputs, also at far steps."""
    rng = np.random.default_rng(zlib.crc32(f"{name}{settings}".encode()))
    optimizer = core.get_optimizer(name, **settings)
    steps = fused.steps_of(optimizer)
    assert isinstance(steps, fused.PlannedSteps)
    n = 257

    def inputs(kind, grad, loss):
        """The next step's (2, n) gradient and (n,) loss (None unless the optimizer needs it)."""
        if kind == "degenerate":
            grad, loss = degenerate_inputs(rng, n, grad, loss)
            return grad, loss if optimizer.needs_loss else None
        grad = planes(rng, n, kind == "special")
        return grad, losses(rng, n, kind == "special") if optimizer.needs_loss else None

    with np.errstate(all="ignore"):
        for kind, count in (("random", 12), ("special", 12), ("degenerate", 24)):
            params = as_engine_arrays(planes(rng, n, kind == "special"))
            state, planned = optimizer.init(params), steps.init(n)
            assert all(bitwise_equal(got, expected) for got, expected in zip(planned_state_fields(optimizer, planned),
                                                                             state))
            grad = loss = None
            for t in range(1, count + 1):
                grad, loss = inputs(kind, grad, loss)
                expected_params, state = optimizer.step(params, as_engine_arrays(grad), state, t, loss=loss)
                got_xy, planned = steps.step(np.ascontiguousarray(params.T), grad, planned, t, loss=loss)
                assert bitwise_equal(got_xy.T, expected_params), (name, t)
                for field, got, expected in zip(state._fields, planned_state_fields(optimizer, planned), state):
                    assert bitwise_equal(got, expected), (name, t, field)
                params = expected_params
            for t in (100, 1000, 99_999):  # far steps: bias corrections near 1
                grad, loss = inputs(kind, grad, loss)
                assert bitwise_equal(steps.step(np.ascontiguousarray(params.T), grad, planned, t, loss=loss)[0].T,
                                     optimizer.step(params, as_engine_arrays(grad), state, t, loss=loss)[0])


def test_reference_steps_equal_the_optimizer():
    """Without a plan (YellowFin without numpy's loops) the engine steps `Optimizer.step`."""
    optimizer = core.get_optimizer("yellowfin", lr=0.1, curv_win_width=3)
    steps = fused.ReferenceSteps(optimizer)
    rng = np.random.default_rng(4)
    xy, state = rng.normal(size=(2, 9)), steps.init(9)
    params, expected = xy.T.copy(), optimizer.init(np.zeros((9, 2)))
    for t in range(1, 6):
        grad = rng.normal(size=(2, 9))
        xy, state = steps.step(xy, grad, state, t)
        params, expected = optimizer.step(params, grad.T, expected, t)
        assert xy.flags.c_contiguous and bitwise_equal(xy.T, params)
    keep = np.arange(9) % 2 == 0
    assert all(bitwise_equal(got, want[keep]) for got, want in zip(steps.take(state, keep), expected))
    assert steps.unchanged(state, state).all() and not steps.unchanged(state, optimizer.init(np.zeros((9, 2)))).all()


@pytest.mark.parametrize("name", sorted(core.FUNCTIONS))
def test_fused_gradient_equals_reference(name):
    if fused.fused_gradient(core.get_function(name)) is None:
        pytest.skip(f"{name} has no fused gradient")
    rng = np.random.default_rng(7)
    for params in ({}, OTHER_PARAMS.get(name, {})):
        function = core.get_function(name, **params)
        gradient = fused.fused_gradient(function)
        (x0, x1), (y0, y1) = function.domain
        inside = np.stack([rng.uniform(x0, x1, 5000), rng.uniform(y0, y1, 5000)])
        wide = planes(rng, 3000)
        with np.errstate(all="ignore"):
            for xy in (inside, wide, np.ascontiguousarray(inside[:, :1]), np.asfortranarray(wide)):
                expected = np.stack(np.broadcast_arrays(*function.partials(xy[0], xy[1])))
                assert bitwise_equal(gradient(xy), expected), (name, params)


@pytest.mark.parametrize("width", [0.2, 3.0, 2.0**-40, 2.0**-41, 1e-300, 1e300])
def test_two_gaussian_gradient_with_tiny_y(width):
    """The bowl's exponents take y² as 0 for |y| < 2⁻⁵¹¹ (no subnormal arithmetic) when the
    widths c, d ≥ 2⁻⁴⁰ allow; the gradient and value stay the reference's bit for bit: for x
    far from ±1, at ±1 exactly and off by a hair, and for widths that do not allow it."""
    rng = np.random.default_rng(23)
    n = 6000
    y = 10.0 ** rng.uniform(-330, -140, n) * rng.choice([-1.0, 1.0], n)
    y[::11] = 0.0
    x = rng.uniform(-2, 2, n)
    centre = rng.choice([-1.0, 1.0], n)
    offsets = 10.0 ** rng.uniform(-330, -140, n) * rng.choice([-1.0, 1.0], n)
    x[:2000] = centre[:2000]
    x[2000:4000] = centre[2000:4000] + offsets[2000:4000]  # (x ∓ 1)² tiny too: exp(0) = exp(tiny) = 1
    function = core.get_function("two_gaussians", c=width, d=width)
    xy = np.stack([x, y])
    with np.errstate(all="ignore"):
        expected = np.stack(function.partials(x, y))
        assert bitwise_equal(fused.fused_gradient(function)(xy), expected)
        assert bitwise_equal(fused_value(function)(xy), function.value(x, y))


NO_FUSED_VALUE = {"custom": "a typed function runs its own reference code"}
OTHER_PARAMS = {  # besides the defaults: the article's pictures, integer parameters
    "two_gaussians": {"a": 1, "b": 0.5, "c": 0.7, "d": 3},
    "rastrigin": {"A": 20, "omega": 1},
    "rosenbrock": {"a": 1.5, "b": 2},
}


def test_every_builtin_function_has_a_fused_value():
    for name in core.FUNCTIONS:
        if name not in NO_FUSED_VALUE:
            assert fused_value(core.get_function(name)) is not None, name


@pytest.mark.parametrize("name", sorted(core.FUNCTIONS))
def test_fused_value_equals_reference(name):
    if name in NO_FUSED_VALUE:
        pytest.skip(f"{name} has no fused value: {NO_FUSED_VALUE[name]}")
    rng = np.random.default_rng(11)
    for params in ({}, OTHER_PARAMS.get(name, {})):
        function = core.get_function(name, **params)
        value = fused_value(function)
        (x0, x1), (y0, y1) = function.domain
        inside = np.stack([rng.uniform(x0, x1, 5000), rng.uniform(y0, y1, 5000)])
        wide = planes(rng, 3000)
        with np.errstate(all="ignore"):
            for xy in (inside, wide, np.ascontiguousarray(inside[:, :1])):
                got = value(xy)
                assert got.dtype == float and got.shape == xy.shape[1:] and got.base is None, name
                expected = np.broadcast_to(function.value(xy[0], xy[1]), xy.shape[1:])
                assert bitwise_equal(got, expected), (name, params)


def test_track_equals_numpy_formulas():
    rng = np.random.default_rng(3)
    n = 1000
    xy, grad = planes(rng, n, special=False), planes(rng, n, special=False)
    xy[:, :100] = rng.choice([-0.9363, 0.9053, 0.0], size=(2, 100)) + rng.normal(scale=0.01, size=(2, 100))
    minima = np.array([[-0.9363, 0.0], [0.9053, 0.0]])
    tolerance2, gradient_tolerance2 = 0.02**2, 0.5**2
    since = np.zeros((3, n))
    since[:, ::3] = 5.0
    expected = since.copy()
    for k, (mx, my) in enumerate(minima):
        dx, dy = xy[0] - mx, xy[1] - my
        expected[k] = np.maximum(expected[k], np.copysign(9.0, dx * dx + (dy * dy - tolerance2)))
    gradient_excess = grad[0] * grad[0] + (grad[1] * grad[1] - gradient_tolerance2)
    expected[2] = np.maximum(expected[2], np.copysign(9.0, gradient_excess))
    assert fused.track(xy[0], xy[1], grad[0], grad[1], minima[:, 0].copy(), minima[:, 1].copy(),
                       tolerance2, gradient_tolerance2, since, 9.0)
    assert np.array_equal(since, expected)
    grad[1, 17] = np.nan
    assert not fused.track(xy[0], xy[1], grad[0], grad[1], minima[:, 0].copy(), minima[:, 1].copy(),
                           tolerance2, gradient_tolerance2, since, 10.0)


@pytest.mark.parametrize("tolerance2", [0.25, 1e-4, 2.0**-900, 2.0**-950, 1e-310, 0.0, 1e300])
def test_track_signs_with_tiny_and_edge_distances(tolerance2):
    """track squares differences below 2⁻⁵¹¹ as 0 (no subnormal arithmetic) when the squared
    tolerance allows; the signs, hence `since`, stay those of the exact formulas: on ball
    edges, with tiny offsets, and for tolerances that do not allow the shortcut."""
    rng = np.random.default_rng(17)
    n = 4000
    magnitudes = 10.0 ** rng.uniform(-330, 2, (2, n))
    xy = magnitudes * rng.choice([-1.0, 1.0], (2, n))
    xy[:, rng.random(n) < 0.1] = 0.0
    edge = np.sqrt(tolerance2)
    xy[1, :500] = edge  # on the ball's edge (for the minimum at 0) ...
    xy[0, :500] = 10.0 ** rng.uniform(-330, -150, 500) * rng.choice([-1.0, 1.0], 500)  # ... off by a hair
    xy[1, 500:600] = np.nextafter(edge, 0.0)
    grad = xy[::-1].copy()
    grad[:, 600:700] = [[edge], [0.0]]
    minima = np.array([[0.0, 0.0], [1e-300, -1e-300]])
    since = np.zeros((3, n))
    with np.errstate(all="ignore"):
        expected = since.copy()
        for k, (mx, my) in enumerate(minima):
            dx, dy = xy[0] - mx, xy[1] - my
            expected[k] = np.maximum(expected[k], np.copysign(4.0, dx * dx + (dy * dy - tolerance2)))
        expected[2] = np.maximum(expected[2], np.copysign(4.0, grad[0] * grad[0] + (grad[1] * grad[1] - tolerance2)))
    fused.track(xy[0], xy[1], grad[0], grad[1], minima[:, 0].copy(), minima[:, 1].copy(), tolerance2, tolerance2,
                since, 4.0)
    assert np.array_equal(since, expected)
    if 0 < tolerance2 < 1e100:  # points inside and outside
        assert (expected == 4.0).any() and (expected == 0.0).any()


def numpy_conclude(xy, grad, minima, tolerance2, gradient_tolerance2, inside_from, flat_from):
    """engine._Landscape.conclude as numpy formulas (what fused.conclude replaced)."""
    n = xy.shape[1]
    label, converged_since = np.full(n, -1), np.full(n, -1)
    flat = np.signbit(grad[0] * grad[0] + (grad[1] * grad[1] - gradient_tolerance2))
    label[flat], converged_since[flat] = -2, flat_from[flat]
    excess = np.array([(xy[0] - mx) * (xy[0] - mx) + ((xy[1] - my) * (xy[1] - my) - tolerance2) for mx, my in minima])
    nearest = np.argmin(excess, axis=0)
    near = np.signbit(excess[nearest, np.arange(n)])
    label[near], converged_since[near] = nearest[near], inside_from[nearest[near], np.arange(n)[near]]
    return label, converged_since


def test_conclude_equals_numpy_formulas():
    """Labels and steps to converge, with ties between minima, NaN and infinite points and
    gradients, ±0 and points exactly on a ball's edge."""
    rng = np.random.default_rng(5)
    n = 3000
    minima = np.array([[-1.0, 0.0], [1.0, 0.0], [1.0, 0.0], [0.0, 2.0]])  # a repeated minimum: a tie
    xy, grad = planes(rng, n), planes(rng, n)
    xy[:, :1500] = minima[rng.integers(0, 4, 1500)].T + rng.normal(scale=0.03, size=(2, 1500))
    xy[:, 1500:1600] = [[0.0], [0.0]]  # equidistant from the first two
    xy[:, 1600:1610] = [[1.05], [0.0]]  # on the edge of the balls at (1, 0)
    grad[:, :2000:2] *= 1e-3
    tolerance2, gradient_tolerance2 = 0.05**2, 0.01**2
    inside_from, flat_from = rng.integers(0, 500, (4, n)).astype(float), rng.integers(0, 500, n).astype(float)
    label, converged_since = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    with np.errstate(all="ignore"):
        expected = numpy_conclude(xy, grad, minima, tolerance2, gradient_tolerance2, inside_from, flat_from)
    fused.conclude(xy[0], xy[1], grad[0], grad[1], minima[:, 0].copy(), minima[:, 1].copy(), tolerance2,
                   gradient_tolerance2, inside_from, flat_from, label, converged_since)
    assert np.array_equal(label, expected[0]) and np.array_equal(converged_since, expected[1])
    assert {-2, -1, 0, 1, 3} <= set(label.tolist()) and 2 not in label  # ties go to the first


COMPILED_FUNCTIONS = tuple(name for name in core.FUNCTIONS if name != "custom")  # every built-in


def test_whole_runs_cover_the_compiled_functions():
    for name in core.FUNCTIONS:
        function = core.get_function(name) if name != "custom" else None
        assert (function is not None and compiled_kind(function) is not None) == (name in COMPILED_FUNCTIONS)


def test_without_numpys_loops_the_functions_that_need_them_have_no_whole_run(monkeypatch):
    monkeypatch.setattr(fused_gradients, "LOOPS", None)
    adam = core.get_optimizer("adam")
    assert fused.whole_run(core.get_function("two_gaussians"), adam) is None
    assert fused.tracked_run(core.get_function("rastrigin"), adam) is None
    assert fused.tracked_run(core.get_function("rosenbrock"), adam) is not None
    assert fused.tracked_run(core.get_function("rosenbrock"), core.get_optimizer("yellowfin")) is None  # its tuner's sinh


def test_whole_runs_start_every_point_from_the_same_state():
    """fused._initial_state gives the kernels one point's initial state for all points."""
    params = np.random.default_rng(3).normal(size=(7, 2)) * 10
    for name, all_settings in OPTIMIZER_SETTINGS.items():
        for settings in all_settings:
            optimizer = core.get_optimizer(name, **settings)
            plan = fused._plan(optimizer)
            if plan is None:
                continue
            initial, width = fused._initial_state(optimizer)
            if name == "yellowfin":  # its own planes (fused._yellowfin_initial), from any one point's state
                assert all((array == array[:1]).all() for array in optimizer.init(params))
                assert np.array_equal(initial, fused._yellowfin_initial(optimizer.init(params[:1])))
                assert width == optimizer.curv_win_width and not optimizer.init(params).curvatures.any()
                continue
            assert width == 0
            for k, array in enumerate(optimizer.init(params)):
                expected = initial[k] if array.ndim == 2 else initial[k, 0]
                assert np.array_equal(array, np.broadcast_to(expected, array.shape)), (name, settings, k)


def spread_starts(function, count: int) -> np.ndarray:
    """`count` starts over (and a little beyond) the domain, plus two whose gradient overflows."""
    rng = np.random.default_rng(zlib.crc32(function.name.encode()))
    (x0, x1), (y0, y1) = function.domain
    starts = np.stack([rng.uniform(x0 - 0.2 * (x1 - x0), x1 + 0.2 * (x1 - x0), count),
                       rng.uniform(y0 - 0.2 * (y1 - y0), y1 + 0.2 * (y1 - y0), count)], axis=1)
    starts[[5, count - 3]] = [[1e200, -1e200], [-3e155, 2e155]]
    return starts


@pytest.mark.parametrize("function_name", COMPILED_FUNCTIONS)
def test_whole_run_equals_the_per_step_run(function_name, monkeypatch):
    """A recorded run inside numba (core.fused.whole_run) records the same bits as the
    per-step code, for every optimizer setting above, diverging runs included."""
    function = core.get_function(function_name)
    starts = spread_starts(function, 40)
    for name, all_settings in OPTIMIZER_SETTINGS.items():
        for settings in all_settings:
            optimizer = core.get_optimizer(name, **settings)
            assert fused.whole_run(function, optimizer) is not None, name
            whole = core.run(function, optimizer, starts, 150)
            with monkeypatch.context() as patch:
                patch.setattr(core.engine, "whole_run", lambda *args: None)
                per_step = core.run(function, optimizer, starts, 150)
            assert np.array_equal(whole.points, per_step.points, equal_nan=True), (name, settings)
            assert np.array_equal(whole.gradient_norms, per_step.gradient_norms, equal_nan=True), (name, settings)
            assert np.array_equal(whole.outcome, per_step.outcome) and np.array_equal(whole.diverged_at,
                                                                                    per_step.diverged_at)


@pytest.mark.parametrize("function_name", ["two_gaussians", "rosenbrock"])
def test_noisy_whole_run_equals_the_per_step_run(function_name, monkeypatch):
    """With gradient noise, a whole recorded run (its chunk's draws made beforehand) records
    the per-step code's bits, for every optimizer setting, over several chunks."""
    monkeypatch.setattr(core.engine, "CHUNK", 16)  # 40 starts: four chunks, four generators
    function = core.get_function(function_name)
    starts = spread_starts(function, 40)
    for name, all_settings in OPTIMIZER_SETTINGS.items():
        for settings in all_settings:
            optimizer = core.get_optimizer(name, **settings)
            whole = core.run(function, optimizer, starts, 60, noise=0.3, seed=9)
            with monkeypatch.context() as patch:
                patch.setattr(core.engine, "whole_run", lambda *args: None)
                per_step = core.run(function, optimizer, starts, 60, noise=0.3, seed=9)
            assert np.array_equal(whole.points, per_step.points, equal_nan=True), (name, settings)
            assert np.array_equal(whole.gradient_norms, per_step.gradient_norms, equal_nan=True), (name, settings)
            noiseless = core.run(function, optimizer, starts, 60)
            assert not np.array_equal(whole.points, noiseless.points, equal_nan=True), (name, settings)


@pytest.mark.parametrize("function_name", COMPILED_FUNCTIONS)
def test_tracked_run_equals_the_per_step_run(function_name, monkeypatch):
    """record=False inside numba (core.fused.tracked_run, blocks of fused.BLOCK points) gives
    the per-step engine's results bit for bit, for every optimizer setting above: final
    points, losses, gradient norms, outcomes, minima, steps to converge and divergence
    steps (runs that diverge at the start and during the run, in both blocks)."""
    function = core.get_function(function_name)
    starts = spread_starts(function, fused.BLOCK + 77)
    outcomes = set()
    for name, all_settings in OPTIMIZER_SETTINGS.items():
        for settings in all_settings:
            optimizer = core.get_optimizer(name, **settings)
            assert fused.tracked_run(function, optimizer) is not None, name
            tracked = core.run(function, optimizer, starts, 120, record=False)
            with monkeypatch.context() as patch:
                patch.setattr(core.engine, "tracked_run", lambda *args: None)
                per_step = core.run(function, optimizer, starts, 120, record=False)
            for field in ("final", "final_loss", "final_gradient_norm", "diverged_at", "outcome", "minimum_index",
                          "steps_to_converge"):
                assert bitwise_equal(getattr(tracked, field), getattr(per_step, field)), (name, settings, field)
            outcomes.update(tracked.outcome.tolist())
    assert core.NOT_CONVERGED in outcomes
    assert (core.DIVERGED in outcomes) == (function_name != "ackley")  # Ackley's gradient is bounded
    assert (core.GLOBAL in outcomes) == bool(function.minima)  # the saddle has none


@pytest.mark.parametrize("name,params", sorted(OTHER_PARAMS.items()))
def test_tracked_run_with_other_parameters_equals_the_per_step_run(name, params, monkeypatch):
    function = core.get_function(name, **params)
    starts = spread_starts(function, 300)
    for optimizer_name in ("sgd", "momentum", "rmsprop", "adam"):
        for settings in OPTIMIZER_SETTINGS[optimizer_name]:
            optimizer = core.get_optimizer(optimizer_name, **settings)
            tracked = core.run(function, optimizer, starts, 80, record=False)
            whole = core.run(function, optimizer, starts, 80)
            with monkeypatch.context() as patch:
                patch.setattr(core.engine, "tracked_run", lambda *args: None)
                patch.setattr(core.engine, "whole_run", lambda *args: None)
                per_step = core.run(function, optimizer, starts, 80, record=False)
                per_step_recorded = core.run(function, optimizer, starts, 80)
            assert bitwise_equal(tracked.final, per_step.final)
            assert bitwise_equal(whole.points, per_step_recorded.points)
            assert np.array_equal(tracked.steps_to_converge, per_step.steps_to_converge)
