"""Tests of `Optimizer.internals`, the uniform look inside every optimizer's state.

* Every optimizer returns at least one documented quantity, a finite array per point.
* Adam, RMSprop and momentum SGD against hand computations of their state.
* The effective step size is the factor on the direction the step actually took.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import core
from core import get_optimizer
from core.optimizers import INTERNALS
from core.inside import trace

ROSENBROCK = core.get_function("rosenbrock", b=2.0)
STARTS = np.array([[-1.0, 1.5], [0.5, -0.5], [1.2, 1.1], [0.0, 0.0], [1.0, 1.0]])  # (1, 1): g = 0

# Settings that reach every branch that changes what internals report.
SETTINGS = {
    "sgd": {}, "momentum": {"momentum": 0.8}, "nesterov": {}, "rmsprop": {"momentum": 0.5, "centered": True},
    "adam": {}, "amsgrad": {}, "adamw": {}, "nadam": {}, "radam": {}, "adamax": {},
    "adagrad": {"lr_decay": 0.1}, "adadelta": {}, "lion": {}, "adabelief": {}, "eve": {},
    "yellowfin": {"beta": 0.9, "curv_win_width": 3},
    "rprop": {"step_sizes": (1e-3, 0.1)}, "asgd": {"lambd": 0.1, "t0": 1}, "adafactor": {"d": 1.5},
    "lbfgs": {"history_size": 3},  # its line search needs the function: tests/test_lbfgs.py
    "newton": {"damping": 0.1},
}


def test_settings_cover_every_optimizer():
    assert set(SETTINGS) == set(core.OPTIMIZERS)


def _run(optimizer, starts, steps, gradient=ROSENBROCK.gradient, function=ROSENBROCK):
    """States after each step, driven as the engine drives them."""
    params, state = starts, optimizer.init(starts)
    states = []
    for t in range(1, steps + 1):
        loss = function(params) if optimizer.needs_loss else None
        extra = {"function": function} if optimizer.needs_function else {}
        params, state = optimizer.step(params, gradient(params), state, t, loss=loss, **extra)
        states.append(state)
    return states


@pytest.mark.parametrize("name", core.OPTIMIZERS)
@pytest.mark.parametrize("extra", [False, True], ids=["defaults", "settings"])
def test_internals_are_finite_per_point_arrays(name, extra):
    optimizer = get_optimizer(name, lr=0.01, **(SETTINGS[name] if extra else {}))
    for t, state in enumerate(_run(optimizer, STARTS, 8), start=1):  # past RAdam's warm-up
        internals = optimizer.internals(state, t)
        assert internals, "at least one quantity"
        assert set(internals) <= set(INTERNALS), "documented names"
        assert {"effective step size x", "effective step size y"} <= set(internals)
        for key, value in internals.items():
            assert isinstance(value, np.ndarray), key
            assert value.shape in ((len(STARTS),), (len(STARTS), 2), ()), key  # (): the same at every point
            assert np.all(np.isfinite(value)), key


@pytest.mark.parametrize("name", core.OPTIMIZERS)
def test_internals_do_not_change_the_state(name):
    optimizer = get_optimizer(name, **SETTINGS[name])
    state = _run(optimizer, STARTS, 3)[-1]
    copies = [a.copy() for a in state]
    optimizer.internals(state, 3)
    for a, b in zip(state, copies):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", core.OPTIMIZERS)
def test_internals_of_one_point_are_its_own(name):
    """What the engine does: the internals of a sub-batch are the rows of the full batch's."""
    optimizer = get_optimizer(name, **SETTINGS[name])
    state = _run(optimizer, STARTS, 4)[-1]
    together = optimizer.internals(state, 4)
    alone = optimizer.internals(type(state)(*(a[2:3] for a in state)), 4)
    assert set(alone) == set(together)
    for key in together:
        if together[key].shape == ():  # the same at every point (a stateless optimizer's step size)
            np.testing.assert_array_equal(alone[key], together[key])
        else:
            np.testing.assert_array_equal(alone[key], together[key][2:3])


def test_expected_quantities():
    """Each optimizer reports what it has: momenta, second moments, Eve's d, YellowFin's tuning."""
    step_only = {"effective step size x", "effective step size y"}
    first = {"first moment norm"}
    second = {"second moment x", "second moment y"}
    expected = {
        "sgd": step_only, "momentum": step_only | first, "nesterov": step_only | first,
        "rmsprop": step_only | second, "adam": step_only | first | second,
        "amsgrad": step_only | first | second, "adamw": step_only | first | second,
        "nadam": step_only | first | second, "radam": step_only | first | second,
        "adamax": step_only | first, "adagrad": step_only | second, "adadelta": step_only | second,
        "lion": step_only | first, "adabelief": step_only | first | second,
        "eve": step_only | first | second | {"feedback d"},
        "yellowfin": step_only | {"tuned lr", "tuned momentum", "velocity norm", "h_min", "h_max",
                                  "variance C", "distance D"},
        "rprop": step_only, "asgd": step_only | {"averaged x", "averaged y"}, "adafactor": step_only | second,
        "lbfgs": step_only | {"direction norm", "initial Hessian scale", "history length", "evaluations"},
        "newton": step_only | {"smallest curvature", "largest curvature"},
    }
    assert set(expected) == set(core.OPTIMIZERS)
    for name, names in expected.items():
        optimizer = get_optimizer(name)
        assert set(optimizer.internals(_run(optimizer, STARTS, 2)[-1], 2)) == names, name
    rmsprop = get_optimizer("rmsprop", momentum=0.9)  # with momentum, its buffer is shown
    assert "first moment norm" in rmsprop.internals(_run(rmsprop, STARTS, 2)[-1], 2)


# ---------------------------------------------------------------------------------------
# Against hand computations
# ---------------------------------------------------------------------------------------
def _quadratic_gradient(x, y):
    """∇ of (x − 1)² + 10 y²."""
    return 2 * (x - 1), 20 * y


def _internals_path(optimizer, start, steps):
    params = np.array([start], dtype=float)
    state = optimizer.init(params)
    out = []
    for t in range(1, steps + 1):
        grad = np.stack(_quadratic_gradient(params[:, 0], params[:, 1]), axis=-1)
        params, state = optimizer.step(params, grad, state, t)
        out.append({k: float(np.ravel(v)[0]) for k, v in optimizer.internals(state, t).items()})
    return out


@pytest.mark.parametrize("bias_correction", [True, False])
def test_adam(bias_correction):
    lr, beta1, beta2, eps = 0.1, 0.8, 0.9, 1e-3
    start = (0.2, 0.5)
    theta, m, v = list(start), [0.0, 0.0], [0.0, 0.0]
    expected = []
    for t in range(1, 5):
        g = _quadratic_gradient(*theta)
        step_sizes = []
        for i in range(2):
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] ** 2
            correction1 = 1 - beta1**t if bias_correction else 1.0
            correction2 = 1 - beta2**t if bias_correction else 1.0
            step_sizes.append(lr / (math.sqrt(v[i] / correction2) + eps))
            theta[i] -= step_sizes[i] * m[i] / correction1
        expected.append({
            "effective step size x": step_sizes[0], "effective step size y": step_sizes[1],
            "first moment norm": math.hypot(*m), "second moment x": v[0], "second moment y": v[1],
        })
    optimizer = get_optimizer("adam", lr=lr, betas=(beta1, beta2), eps=eps, bias_correction=bias_correction)
    for got, want in zip(_internals_path(optimizer, start, 4), expected):
        assert got.keys() == want.keys()
        for key in want:
            assert got[key] == pytest.approx(want[key], rel=1e-12), key


@pytest.mark.parametrize("centered", [False, True])
def test_rmsprop(centered):
    lr, alpha, eps = 0.01, 0.9, 1e-6
    start = (0.2, 0.5)
    theta, v, mean = list(start), [0.0, 0.0], [0.0, 0.0]
    expected = []
    for _ in range(4):
        g = _quadratic_gradient(*theta)
        step_sizes = []
        for i in range(2):
            v[i] = alpha * v[i] + (1 - alpha) * g[i] ** 2
            mean[i] = alpha * mean[i] + (1 - alpha) * g[i]
            variance = v[i] - mean[i] ** 2 if centered else v[i]
            step_sizes.append(lr / (math.sqrt(variance) + eps))
            theta[i] -= step_sizes[i] * g[i]
        expected.append({"effective step size x": step_sizes[0], "effective step size y": step_sizes[1],
                         "second moment x": v[0], "second moment y": v[1]})
    optimizer = get_optimizer("rmsprop", lr=lr, alpha=alpha, eps=eps, centered=centered)
    for got, want in zip(_internals_path(optimizer, start, 4), expected):
        assert got.keys() == want.keys()
        for key in want:
            assert got[key] == pytest.approx(want[key], rel=1e-12), key


def test_momentum():
    lr, mu = 0.02, 0.7
    start = (0.2, 0.5)
    theta, b = list(start), [0.0, 0.0]
    expected = []
    for t in range(1, 6):
        g = _quadratic_gradient(*theta)
        b = list(g) if t == 1 else [mu * b[i] + g[i] for i in range(2)]
        theta = [theta[i] - lr * b[i] for i in range(2)]
        expected.append(math.hypot(*b))
    got = _internals_path(get_optimizer("momentum", lr=lr, momentum=mu), start, 5)
    np.testing.assert_allclose([i["first moment norm"] for i in got], expected, rtol=1e-13)
    assert all(i["effective step size x"] == i["effective step size y"] == lr for i in got)


def test_sgd_step_size_is_its_lr():
    got = _internals_path(get_optimizer("sgd", lr=0.03), (0.2, 0.5), 2)
    assert got == [{"effective step size x": 0.03, "effective step size y": 0.03}] * 2


# ---------------------------------------------------------------------------------------
# The effective step size is the factor on the direction the step took
# ---------------------------------------------------------------------------------------
def _direction(name, optimizer, before, after, grad, t):
    """The direction that step t multiplied by the effective step size (state before/after)."""
    if name in ("adam", "amsgrad", "adamw", "adabelief", "radam", "eve", "adamax"):
        if not getattr(optimizer, "bias_correction", True):
            return after.exp_avg
        return after.exp_avg / (1 - optimizer.betas[0] ** t)
    if name in ("sgd", "rmsprop", "adagrad"):
        return grad
    if name == "momentum":
        return after.momentum_buffer
    if name == "yellowfin":  # x_t − x_{t−1} = −α g + μ (x_{t−1} − x_{t−2})
        return grad - (after.tuned_momentum / after.tuned_lr)[:, None] * before.velocity
    if name == "rprop":  # the sign of the gradient it kept (0 where the sign flipped)
        return np.sign(after.prev)
    if name in ("asgd", "adafactor"):
        return grad
    raise AssertionError(name)


@pytest.mark.parametrize("name, hyperparameters", [
    ("sgd", {}), ("momentum", {"momentum": 0.8}), ("rmsprop", {}), ("rmsprop", {"centered": True}),
    ("adam", {}), ("adam", {"bias_correction": False}), ("amsgrad", {}), ("adamw", {"weight_decay": 0.0}),
    ("radam", {}), ("adamax", {}), ("adagrad", {"lr_decay": 0.2}), ("adabelief", {}), ("eve", {"f_star": -1.0}),
    ("yellowfin", {"beta": 0.9, "momentum": 0.4}), ("rprop", {}), ("asgd", {"lambd": 0.0}), ("adafactor", {}),
])
def test_effective_step_size_times_direction_is_the_step(name, hyperparameters):
    optimizer = get_optimizer(name, lr=0.01, **hyperparameters)
    params = STARTS[:4]
    state = optimizer.init(params)
    for t in range(1, 9):  # RAdam rectifies from t = 6
        grad = ROSENBROCK.gradient(params)
        loss = ROSENBROCK(params) if optimizer.needs_loss else None
        new_params, new_state = optimizer.step(params, grad, state, t, loss=loss)
        step_size = optimizer.effective_step_size(new_state, t)
        assert step_size.shape in (params.shape, (2,))  # (2,): the same at every point
        direction = _direction(name, optimizer, state, new_state, grad, t)
        np.testing.assert_allclose(new_params - params, -step_size * direction, rtol=1e-9, atol=1e-15)
        params, state = new_params, new_state


def test_asgd_reports_its_averaged_point_the_mean_of_its_points_since_t0():
    function = core.get_function("two_gaussians")
    asgd = core.get_optimizer("asgd", lr=0.02, t0=10)
    traced = trace(function, asgd, (0.5, 1.0), 40)
    averaged = np.column_stack([traced.internals["averaged x"], traced.internals["averaged y"]])
    np.testing.assert_allclose(averaged[:12], traced.points[1:13])  # up to step t₀ + 2: the point itself
    for t in (20, 40):  # then the mean of the points since step t₀ + 2 (torch: μ_t = 1 / max(1, t − 1 − t₀))
        np.testing.assert_allclose(averaged[t - 1], traced.points[12: t + 1].mean(axis=0), rtol=1e-12)
