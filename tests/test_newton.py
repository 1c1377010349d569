"""Tests of the Newton optimizer: damped, saddle-free Newton with the function's Hessian."""

import math
import warnings

import numpy as np
import pytest

import core
from core import get_function, get_optimizer
from core.custom import CustomFunction
from core.optimizers import Newton, NewtonState, symmetric_eigen_2x2


def newton_step(optimizer, function, params, state=None, t=1):
    params = np.asarray(params, dtype=float)
    state = optimizer.init(params) if state is None else state
    return optimizer.step(params, function.gradient(params), state, t, function=function)


def random_starts(function, count, seed=0):
    (x0, x1), (y0, y1) = function.domain
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)])


# ---------------------------------------------------------------------------------------
# The closed-form 2×2 eigen-decomposition
# ---------------------------------------------------------------------------------------
def test_symmetric_eigen_2x2_matches_numpy():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 5000)) * rng.choice([1e-6, 1.0, 1e4], size=(3, 5000))
    special = np.array([[1.0, 0.0, 1.0], [2.0, 0.0, -3.0], [-3.0, 0.0, 2.0], [0.0, 0.0, 0.0], [1.0, 1e-12, 1.0],
                        [-2.0, 1e-30, 5.0], [5.0, -1e-30, -2.0], [1.0, 1.0, 1.0], [802.0, -400.0, 200.0]]).T
    a, b, c = (np.concatenate([u, v]) for u, v in zip((a, b, c), special))
    low, high, (vx, vy) = symmetric_eigen_2x2(a, b, c)
    matrices = np.stack([np.stack([a, b], -1), np.stack([b, c], -1)], -2)
    expected = np.linalg.eigvalsh(matrices)
    scale = np.abs(expected).max(axis=1) + 1e-300
    assert np.all(np.abs(low - expected[:, 0]) <= 1e-13 * scale)
    assert np.all(np.abs(high - expected[:, 1]) <= 1e-13 * scale)
    np.testing.assert_allclose(np.hypot(vx, vy), 1.0, rtol=1e-14)
    v = np.stack([vx, vy], -1)
    residual = np.einsum("nij,nj->ni", matrices, v) - high[:, None] * v  # H v = λ₂ v
    assert np.all(np.linalg.norm(residual, axis=1) <= 1e-12 * scale)
    w = np.stack([-vy, vx], -1)
    residual = np.einsum("nij,nj->ni", matrices, w) - low[:, None] * w  # H w = λ₁ w
    assert np.all(np.linalg.norm(residual, axis=1) <= 1e-12 * scale)


# ---------------------------------------------------------------------------------------
# Newton's method where the Hessian is positive definite
# ---------------------------------------------------------------------------------------
def test_newton_solves_booth_in_one_step_from_anywhere():
    booth = get_function("booth")
    starts = random_starts(booth, 500)
    params, state = newton_step(Newton(), booth, starts)
    np.testing.assert_allclose(params, np.broadcast_to([1.0, 3.0], starts.shape), rtol=0, atol=1e-12)
    assert np.all(state.hessian_evaluations == 1)
    np.testing.assert_allclose(state.curvatures, np.broadcast_to([2.0, 18.0], starts.shape), rtol=1e-14)


@pytest.mark.parametrize("name", ["matyas", "booth"])
def test_engine_runs_newton_to_the_minimum_of_a_quadratic_in_one_step(name):
    f = get_function(name)
    result = core.run(f, get_optimizer("newton"), random_starts(f, 50), steps=3)
    np.testing.assert_allclose(result.points[1], np.broadcast_to(f.minima[0].point, (50, 2)), atol=1e-12)
    assert np.all(result.outcome == core.GLOBAL)


def test_lr_scales_the_newton_step():
    booth = get_function("booth")
    start = np.array([[-4.0, 5.0]])
    half, _ = newton_step(Newton(lr=0.5), booth, start)
    np.testing.assert_allclose(half, (start + [[1.0, 3.0]]) / 2, atol=1e-12)


def test_newton_converges_quadratically_on_rosenbrock():
    f = get_function("rosenbrock")
    result = core.run(f, get_optimizer("newton"), [-1.2, 1.0], steps=8)
    errors = np.linalg.norm(result.points[:, 0] - [1.0, 1.0], axis=-1)
    assert errors[-1] < 1e-12 and result.outcome[0] == core.GLOBAL
    assert np.all(errors[5:] <= 10 * errors[4:-1] ** 2)  # quadratic: each error about the square of the last


def test_one_point_and_a_batch_take_the_same_steps():
    f = get_function("himmelblau")
    starts = random_starts(f, 20, seed=1)
    together, _ = newton_step(Newton(damping=0.3), f, starts)
    for i, start in enumerate(starts):
        alone, _ = newton_step(Newton(damping=0.3), f, start)  # shape (2,)
        assert alone.shape == (2,)
        np.testing.assert_allclose(alone, together[i], rtol=1e-15, atol=1e-15)


# ---------------------------------------------------------------------------------------
# Saddle-free where the Hessian is not positive definite
# ---------------------------------------------------------------------------------------
def test_on_a_saddle_newton_moves_away_from_it_not_to_it():
    saddle = get_function("saddle")  # f = x² − y², its saddle at the origin
    start = np.array([[0.5, 0.1]])
    params, state = newton_step(Newton(), saddle, start)
    # Plain Newton, x − H⁻¹∇f, would land on the saddle (0, 0); saddle-free Newton uses |H| = 2I.
    np.testing.assert_allclose(params, [[0.0, 0.2]], atol=1e-15)
    assert saddle(params)[0] < saddle(start)[0]
    np.testing.assert_array_equal(state.curvatures, [[-2.0, 2.0]])
    result = core.run(saddle, get_optimizer("newton"), start[0], steps=6)
    distances = np.linalg.norm(result.points[:, 0], axis=-1)
    assert np.all(np.diff(distances[1:]) > 0) and distances[-1] > 2  # away, step after step
    assert np.all(np.diff(result.losses[:, 0]) < 0)  # and downhill


def test_on_a_maximum_newton_goes_downhill():
    bump = CustomFunction(expression="-(x^2 + 3*y^2) + 0.1*x*y", domain=((-2, 2), (-2, 2)))
    starts = random_starts(bump, 100, seed=2)
    params, state = newton_step(Newton(lr=0.5), bump, starts)
    assert np.all(state.curvatures < 0)
    assert np.all(bump(params) < bump(starts))
    assert np.all(np.linalg.norm(params, axis=1) > np.linalg.norm(starts, axis=1))


def test_every_step_is_a_descent_direction():
    """|H| + δI is positive definite, so −M⁻¹∇f points downhill wherever ∇f ≠ 0."""
    for name in ("himmelblau", "rastrigin", "six_hump_camel", "goldstein_price", "levi13", "mccormick", "ackley"):
        f = get_function(name)
        starts = random_starts(f, 400, seed=3)
        params, _ = newton_step(Newton(), f, starts)
        slope = np.sum(f.gradient(starts) * (params - starts), axis=1)
        assert np.all(slope <= 0), name


# ---------------------------------------------------------------------------------------
# Damping and the floor
# ---------------------------------------------------------------------------------------
def test_damping_limits_the_step():
    f = get_function("rosenbrock")
    starts = random_starts(f, 300, seed=4)
    lengths = []
    for damping in (0.0, 1.0, 10.0, 100.0, 1e4, 1e6):
        params, _ = newton_step(Newton(damping=damping), f, starts)
        lengths.append(np.linalg.norm(params - starts, axis=1))
    lengths = np.array(lengths)
    assert np.all(np.diff(lengths, axis=0) <= 1e-12 * lengths[:-1])  # shorter at every point
    assert np.median(lengths[-1] / lengths[0]) < 1e-2
    # A large δ makes it gradient descent with step lr/δ (up to the curvature, λ/δ of it).
    params, _ = newton_step(Newton(lr=1.0, damping=1e8), f, starts)
    np.testing.assert_allclose(params - starts, -f.gradient(starts) / 1e8, rtol=2e-4)


def test_damping_on_a_quadratic_is_levenberg_marquardt():
    booth = get_function("booth")
    start = np.array([[-4.0, 5.0]])
    params, state = newton_step(Newton(damping=2.0), booth, start)
    expected = start[0] - np.linalg.solve([[12.0, 8.0], [8.0, 12.0]], booth.gradient(start[0]))
    np.testing.assert_allclose(params[0], expected, rtol=1e-14)
    np.testing.assert_allclose(state.step_size[0], np.diag(np.linalg.inv([[12.0, 8.0], [8.0, 12.0]])), rtol=1e-14)


@pytest.mark.parametrize("expression", ["abs(x) + abs(y)", "x + 2*y", "x^2 + y", "max(x, 2*y) + 0.5*x"])
def test_a_zero_curvature_cannot_blow_the_step_up(expression):
    """Without the floor a flat direction gives an infinite step; with it, at most one domain
    diagonal along each eigenvector (times lr)."""
    f = CustomFunction(expression=expression, domain=((-3, 3), (-3, 3)))
    starts = random_starts(f, 200, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        params, state = newton_step(Newton(lr=0.5), f, starts)
    reach = math.hypot(6, 6)
    lengths = np.linalg.norm(params - starts, axis=1)
    assert np.all(np.isfinite(params)) and np.all(lengths <= 0.5 * reach * math.sqrt(2) * (1 + 1e-12))
    assert np.all(lengths > 0)
    if "abs" not in expression and "max" not in expression:  # (a step that long may cross a kink)
        assert np.all(f(params) < f(starts))
    assert np.all(np.isfinite(state.step_size))


def test_no_slope_and_no_curvature_means_no_step():
    f = CustomFunction(expression="abs(x) + abs(y)")  # at the origin: ∇f = 0 (sign 0) and H = 0
    params, state = newton_step(Newton(), f, np.zeros((1, 2)))
    np.testing.assert_array_equal(params, np.zeros((1, 2)))
    np.testing.assert_array_equal(state.step_size, np.zeros((1, 2)))


# ---------------------------------------------------------------------------------------
# Hyperparameters, state and internals
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("hyperparameters", [
    {"lr": 0.0}, {"lr": -1.0}, {"lr": math.nan}, {"lr": math.inf}, {"damping": -0.1}, {"damping": math.nan},
    {"damping": math.inf}, {"damping": "1"},
])
def test_bad_hyperparameters_are_refused(hyperparameters):
    with pytest.raises(ValueError):
        get_optimizer("newton", **hyperparameters)


def test_defaults_and_registration():
    newton = get_optimizer("newton")
    assert newton.hyperparameters == {"lr": 1.0, "damping": 0.0}
    assert "newton" in core.OPTIMIZERS
    assert newton.needs_function and not newton.needs_loss
    assert newton.note and newton.paper and "Dauphin" in Newton.__doc__


def test_step_needs_the_function():
    with pytest.raises(ValueError, match="function"):
        Newton().step(np.zeros((1, 2)), np.ones((1, 2)), Newton().init(np.zeros((1, 2))), 1)


def test_state_counts_one_hessian_and_one_gradient_per_step():
    counted = []

    class Counting(type(get_function("himmelblau"))):
        def hessian(self, points):
            counted.append(np.shape(points))
            return super().hessian(points)

    f = Counting()
    starts = random_starts(f, 30, seed=6)
    recorder = {}

    class Keep(Newton):
        def step(self, params, grad, state, t, loss=None, function=None):
            params, state = super().step(params, grad, state, t, loss=loss, function=function)
            recorder["state"] = state
            return params, state

    core.run(f, Keep(), starts, steps=7)
    # one Hessian per step, of all the points at once (then the outcomes' check of the end points)
    assert counted[:7] == [(30, 2)] * 7 and len(counted) <= 8
    assert isinstance(recorder["state"], NewtonState)
    np.testing.assert_array_equal(recorder["state"].hessian_evaluations, np.full(30, 7))


def test_internals_report_the_curvatures_and_step_sizes():
    f = get_function("saddle")
    optimizer = Newton(damping=0.5)
    params, state = newton_step(optimizer, f, [[0.5, 0.1], [-1.0, 1.0]])
    internals = optimizer.internals(state, 1)
    np.testing.assert_array_equal(internals["smallest curvature"], [-2.0, -2.0])
    np.testing.assert_array_equal(internals["largest curvature"], [2.0, 2.0])
    np.testing.assert_allclose(internals["effective step size x"], [0.4, 0.4])  # 1 / (|±2| + 0.5)
    np.testing.assert_allclose(internals["effective step size y"], [0.4, 0.4])
    assert set(internals) <= set(core.optimizers.INTERNALS)


# ---------------------------------------------------------------------------------------
# The engine: many starts, noise, divergence
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["himmelblau", "rosenbrock", "saddle", "ackley", "goldstein_price", "custom"])
@pytest.mark.parametrize("record", [False, True])
def test_engine_runs_newton_from_2000_starts_without_warnings(name, record):
    f = get_function(name)
    starts = random_starts(f, 2000, seed=7)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = core.run(f, get_optimizer("newton"), starts, steps=60, record=record)
    assert result.final.shape == (2000, 2) and np.all(np.isfinite(result.final))
    if name == "himmelblau":
        assert np.mean(result.outcome == core.GLOBAL) > 0.99  # four global minima, no other
    if name == "saddle":
        assert np.all(np.abs(result.final[:, 0]) < 1e-12)  # the positive curvature solved at once
        assert np.all(result.outcome == core.NOT_CONVERGED)


def test_recorded_and_tracked_runs_agree():
    f = get_function("six_hump_camel")
    starts = random_starts(f, 2000, seed=8)
    newton = get_optimizer("newton", damping=0.1)
    tracked = core.run(f, newton, starts, steps=40, record=False)
    recorded = core.run(f, newton, starts, steps=40, record=True)
    np.testing.assert_array_equal(tracked.final, recorded.final)
    np.testing.assert_array_equal(tracked.outcome, recorded.outcome)


def test_gradient_noise_works():
    f = get_function("rosenbrock")
    starts = random_starts(f, 2000, seed=9)
    newton = get_optimizer("newton", lr=0.5, damping=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        noisy = core.run(f, newton, starts, steps=50, noise=0.5, seed=3, record=False)
        again = core.run(f, newton, starts, steps=50, noise=0.5, seed=3, record=False)
        exact = core.run(f, newton, starts, steps=50, record=False)
    np.testing.assert_array_equal(noisy.final, again.final)  # seeded
    assert not np.array_equal(noisy.final, exact.final)
    assert np.all(np.isfinite(noisy.final))
    assert np.mean(np.linalg.norm(noisy.final - [1.0, 1.0], axis=1) < 1.0) > 0.9  # still near the minimum


def test_a_start_where_the_function_is_undefined_diverges_quietly():
    f = CustomFunction(expression="log(x) + y^2", domain=((0.1, 3), (-1, 1)))
    starts = np.array([[1.0, 0.5], [-1.0, 0.5], [0.5, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = core.run(f, get_optimizer("newton"), starts, steps=10)
    assert result.outcome[1] in (core.DIVERGED, core.UNDEFINED)
    assert np.all(np.isfinite(result.final))
