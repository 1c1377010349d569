"""Tests of L-BFGS (core.optimizers.LBFGS), one iteration of torch.optim.LBFGS per step.

* Paths and evaluation counts against torch's (tests/data/lbfgs_reference.npz, made by
  tests/data/make_lbfgs_reference.py), on the steps where the paths are stable.
* Many starts at once equal each start alone, whatever stage each is at.
* torch's early exits (tolerance_grad, tolerance_change) and the one-trial line search of
  torch's default max_eval.
* Validation, the trial points, the internals, quiet divergence.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import core
from core import get_optimizer

REFERENCE = Path(__file__).parent / "data" / "lbfgs_reference.npz"
WOLFE = {"line_search_fn": "strong_wolfe"}


def _load_reference():
    with np.load(REFERENCE) as data:
        return (json.loads(str(data["cases"])), data["starts"], data["points"], data["evaluations"],
                data["stable"])


CASES, STARTS, POINTS, EVALUATIONS, STABLE = _load_reference()


def _case_id(case: dict) -> str:
    hyper = ",".join(f"{k}={v}" for k, v in case["hyperparameters"].items()) or "defaults"
    return f"{case['function']}-{hyper}"


def _steps(optimizer, function, starts, steps):
    """Drive `optimizer` as the engine does: points (steps+1, N, 2) and states after each step."""
    params = np.array(starts, dtype=float)
    state = optimizer.init(params)
    points, states = [params], []
    for t in range(1, steps + 1):
        params, state = optimizer.step(params, function.gradient(params), state, t, function=function)
        points.append(params)
        states.append(state)
    return np.array(points), states


# ---------------------------------------------------------------------------------------
# Against torch.optim.LBFGS
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("index", range(len(CASES)), ids=[_case_id(c) for c in CASES])
def test_matches_torch(index):
    """core.run's paths equal torch's to 1e-9 where they are stable, and every step makes as
    many evaluations of f and ∇f as torch's (its func_evals increase)."""
    case = CASES[index]
    function = core.get_function(case["function"], **case["function_params"])
    optimizer = get_optimizer("lbfgs", **case["hyperparameters"])
    steps = EVALUATIONS.shape[1]
    result = core.run(function, optimizer, STARTS[index], steps)
    stable = STABLE[index]
    np.testing.assert_allclose(result.points[stable], POINTS[index][stable], rtol=1e-9, atol=1e-12)

    points, states = _steps(optimizer, function, STARTS[index], steps)
    np.testing.assert_array_equal(points, result.points)  # the engine adds nothing
    evaluations = np.array([state.evaluations for state in states])
    np.testing.assert_array_equal(evaluations, EVALUATIONS[index])


def test_reference_is_stable_enough_and_covers_the_options():
    """Most steps are compared (see make_lbfgs_reference.py on the left-out stretches), and the
    cases cover both line searches, defaults and every hyperparameter, on 3+ functions."""
    assert STABLE.mean() > 0.95 and STABLE.mean(axis=(1, 2)).min() > 0.8
    hypers = [c["hyperparameters"] for c in CASES]
    assert {} in hypers and WOLFE in hypers
    assert {key for h in hypers for key in h} == set(get_optimizer("lbfgs").hyperparameters)
    assert len({c["function"] for c in CASES}) >= 3
    assert EVALUATIONS.max() > 5, "some line searches zoom"


# ---------------------------------------------------------------------------------------
# Many starts at once
# ---------------------------------------------------------------------------------------
MIXED_STARTS = np.array([
    [1.0, 1.0],  # the minimum: stops at tolerance_grad from the first step
    [-1.2, 1.0], [0.3, -0.5], [1.5, 2.0], [-0.5, 2.5], [0.9, 0.8], [1.0 + 1e-9, 1.0], [-1.9, -0.9],
])


@pytest.mark.parametrize("hyperparameters", [
    {}, {"history_size": 2, "lr": 0.5}, {**WOLFE, "max_eval": 25}, {**WOLFE, "max_eval": 4, "history_size": 3},
    WOLFE, {"tolerance_change": 1e-3, "tolerance_grad": 1e-4},
], ids=["defaults", "short-memory", "wolfe-25", "wolfe-4", "wolfe-1", "tolerances"])
def test_many_starts_equal_each_start_alone(hyperparameters):
    """Points at different stages (early exits, memories of different lengths, line searches
    of different lengths) step together exactly as they step alone."""
    function = core.get_function("rosenbrock")
    optimizer = get_optimizer("lbfgs", **hyperparameters)
    together, states = _steps(optimizer, function, MIXED_STARTS, 60)
    assert len({int(n) for n in states[-1].num_old}) >= 2, "memories of different lengths"
    for i, start in enumerate(MIXED_STARTS):
        alone, alone_states = _steps(optimizer, function, start[None], 60)
        np.testing.assert_array_equal(alone[:, 0], together[:, i])
        for a, b in zip(alone_states[-1], states[-1]):
            np.testing.assert_array_equal(a[0], b[i])
    result = core.run(function, optimizer, MIXED_STARTS, 60, record=False)
    np.testing.assert_array_equal(result.final, together[-1])


def test_dropping_diverged_points_keeps_the_others_exact():
    """The engine drops diverged points from the state (`keep`): the others go on unchanged."""
    function = core.get_function("rosenbrock")
    optimizer = get_optimizer("lbfgs", lr=1.0, history_size=5)
    starts = np.array([[-1.2, 1.0], [1e50, 0.0], [0.3, -0.5]])  # the second overflows at step 2
    result = core.run(function, optimizer, starts, 40, record=False)
    assert list(result.diverged_at) == [-1, 2, -1]
    alone = core.run(function, optimizer, starts[[0, 2]], 40, record=False)
    np.testing.assert_array_equal(result.final[[0, 2]], alone.final)


# ---------------------------------------------------------------------------------------
# torch's early exits and the one-trial line search
# ---------------------------------------------------------------------------------------
QUADRATIC = core.get_function("booth")  # (x + 2y − 7)² + (2x + y − 5)², minimum (1, 3)


def test_tolerance_grad_returns_before_anything():
    """max|g| ≤ tolerance_grad: no move and the state kept, but for the one evaluation."""
    optimizer = get_optimizer("lbfgs", tolerance_grad=1e-3, **WOLFE, max_eval=5)
    params = np.array([[0.0, 0.0], [1.0, 3.0 + 1e-5]])  # the second: max|g| = 1e-4
    grad = QUADRATIC.gradient(params)
    assert np.abs(grad[1]).max() <= 1e-3 < np.abs(grad[0]).max()
    state = optimizer.init(params)
    new, after = optimizer.step(params, grad, state, 1, function=QUADRATIC)
    np.testing.assert_array_equal(new[1], params[1])
    assert after.n_iter.tolist() == [1, 0] and after.evaluations.tolist()[1] == 1
    assert np.isnan(after.trials[1]).all() and after.step_length[1] == 0
    for name in ("d", "t", "prev_flat_grad", "H_diag", "old_dirs", "old_stps", "ro", "num_old"):
        np.testing.assert_array_equal(getattr(after, name)[1], getattr(state, name)[1])
    assert not np.array_equal(new[0], params[0])


def test_tolerance_change_stops_where_d_is_no_descent_direction():
    """gᵀd > −tolerance_change: torch counts the iteration (d, t, the gradient are updated) but
    does not move."""
    optimizer = get_optimizer("lbfgs", tolerance_change=1.0)
    params = np.array([[1.0, 3.05], [0.0, 0.0]])  # gᵀd = −‖g‖²: −0.41 and ~−1e3
    grad = QUADRATIC.gradient(params)
    new, state = optimizer.step(params, grad, optimizer.init(params), 1)
    np.testing.assert_array_equal(new[0], params[0])
    assert state.n_iter.tolist() == [1, 1] and state.step_length[0] == 0 and state.evaluations.tolist() == [1, 1]
    np.testing.assert_array_equal(state.d[0], -grad[0])
    np.testing.assert_array_equal(state.prev_flat_grad[0], grad[0])
    assert state.t[0] == min(1.0, 1.0 / np.abs(grad[0]).sum())  # the t torch keeps in its state
    np.testing.assert_allclose(new[1], params[1] - state.t[1] * grad[1], rtol=1e-15)


def test_first_step_and_curvature_pairs():
    """Step 1 is −min(1, 1/‖g‖₁)·lr·g; each later step stores the pair (s, y) of the step
    before, where yᵀs > 1e-10, with γ = sᵀy / yᵀy."""
    lr = 0.5
    optimizer = get_optimizer("lbfgs", lr=lr)
    start = np.array([[0.0, 0.0]])
    points, states = _steps(optimizer, QUADRATIC, start, 3)
    g = QUADRATIC.gradient(start)[0]
    np.testing.assert_allclose(points[1, 0], start[0] - min(1.0, 1 / np.abs(g).sum()) * lr * g, rtol=1e-15)
    assert [int(s.num_old[0]) for s in states] == [0, 1, 2]
    s = points[1, 0] - points[0, 0]
    y = QUADRATIC.gradient(points[1, 0]) - g
    np.testing.assert_allclose(states[1].H_diag[0], s @ y / (y @ y), rtol=1e-14)
    np.testing.assert_allclose(states[1].old_stps[0, -1], s, rtol=1e-15)
    np.testing.assert_allclose(states[1].ro[0, -1], 1 / (s @ y), rtol=1e-14)


def test_no_pair_without_positive_curvature():
    """Along a concave direction yᵀs < 0: nothing is stored, the memory stays as it was."""
    saddle = core.get_function("saddle")
    optimizer = get_optimizer("lbfgs", lr=0.01)
    points, states = _steps(optimizer, saddle, np.array([[0.0, 0.5]]), 5)
    assert all(int(s.num_old[0]) == 0 for s in states) and all(s.H_diag[0] == 1.0 for s in states)


def test_default_max_eval_tries_one_point_and_may_never_move():
    """torch's max_eval for max_iter=1 is 1: the search evaluates its first trial and keeps it
    only if f is lower there. From (−1.2, 1) on Rosenbrock it never is, and it never moves."""
    function = core.get_function("rosenbrock")
    optimizer = get_optimizer("lbfgs", **WOLFE)
    points, states = _steps(optimizer, function, np.array([[-1.2, 1.0], [0.3, -0.5]]), 10)
    assert np.all(points[:, 0] == [-1.2, 1.0])
    assert not np.array_equal(points[-1, 1], points[0, 1])
    for state in states:
        assert state.trials.shape == (2, 1, 2) and state.evaluations.tolist() == [2, 2]
        assert function(state.trials[0, 0]) >= function(np.array([-1.2, 1.0]))
    np.testing.assert_array_equal(states[-1].trials[0], states[-2].trials[0])  # the same trial again


def test_trials_are_the_line_search_points():
    """The trial points of the last step: evaluations − 1 of them, on the line x + τ d, NaN
    after; the step ends at one of them."""
    function = core.get_function("himmelblau")
    optimizer = get_optimizer("lbfgs", **WOLFE, max_eval=25)
    points, states = _steps(optimizer, function, np.array([[0.0, 0.0], [-1.0, 3.5], [4.0, -4.0]]), 12)
    assert max(int(s.evaluations.max()) for s in states) > 2
    for t, state in enumerate(states, start=1):
        assert state.trials.shape == (3, 25, 2)
        for i in range(3):
            tried = ~np.isnan(state.trials[i, :, 0])
            count = int(tried.sum())
            assert count == state.evaluations[i] - 1 and tried[:count].all()
            if state.step_length[i] > 0:
                assert any(np.array_equal(points[t, i], p) for p in state.trials[i, :count])
                direction = state.trials[i, :count] - points[t - 1, i]
                cross = direction[:, 0] * state.d[i, 1] - direction[:, 1] * state.d[i, 0]
                np.testing.assert_allclose(cross, 0.0, atol=1e-12 * np.abs(direction).max())


# ---------------------------------------------------------------------------------------
# Validation, internals, divergence
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, message", [
    ({"lr": 0.0}, "invalid lr 0.0; accepted range (0.0, inf)"),
    ({"history_size": 0}, "invalid history_size 0; accepted: a whole number in [1, 1000]"),
    ({"history_size": 2.5}, "invalid history_size 2.5; accepted: a whole number in [1, 1000]"),
    ({"history_size": 1001}, "invalid history_size 1001; accepted: a whole number in [1, 1000]"),
    ({"max_eval": 0}, "invalid max_eval 0; accepted: a whole number in [1, 100]"),
    ({"max_eval": "5"}, "invalid max_eval '5'; accepted: a whole number in [1, 100]"),
    ({"tolerance_grad": -1e-7}, "invalid tolerance_grad -1e-07; accepted range [0.0, inf)"),
    ({"tolerance_change": float("nan")}, "invalid tolerance_change nan; accepted range [0.0, inf)"),
    ({"line_search_fn": "wolfe"}, "invalid line_search_fn 'wolfe'; accepted: None or 'strong_wolfe'"),
    ({"max_iter": 20}, "unknown hyperparameter(s) max_iter"),
])
def test_rejects_bad_hyperparameters(kwargs, message):
    with pytest.raises(ValueError) as error:
        get_optimizer("lbfgs", **kwargs)
    assert str(error.value).startswith("lbfgs: ") and message in str(error.value)


def test_accepts_whole_floats_and_torch_defaults():
    assert get_optimizer("lbfgs", history_size=10.0, max_eval=25.0).init(np.zeros((1, 2))).old_dirs.shape == (1, 10, 2)
    assert get_optimizer("lbfgs").hyperparameters == {
        "lr": 1.0, "history_size": 100, "tolerance_grad": 1e-7, "tolerance_change": 1e-9,
        "line_search_fn": None, "max_eval": 1,
    }


def test_line_search_needs_the_function():
    optimizer = get_optimizer("lbfgs", **WOLFE)
    params = np.array([[0.0, 0.0]])
    with pytest.raises(ValueError, match="needs function="):
        optimizer.step(params, QUADRATIC.gradient(params), optimizer.init(params), 1)


def test_internals_and_effective_step_size():
    """τ (the effective step size) times d is the step; the other quantities are finite."""
    function = core.get_function("rosenbrock")
    optimizer = get_optimizer("lbfgs", **WOLFE, max_eval=25, history_size=4)
    points, states = _steps(optimizer, function, MIXED_STARTS, 20)
    for t, state in enumerate(states, start=1):
        step = optimizer.effective_step_size(state, t) * state.d
        np.testing.assert_allclose(points[t] - points[t - 1], step, rtol=1e-12, atol=1e-15)
        inside = optimizer.internals(state, t)
        assert set(inside) <= set(core.optimizers.INTERNALS)
        assert all(v.shape == (len(MIXED_STARTS),) and np.isfinite(v).all() for v in inside.values())
        assert np.all(inside["history length"] <= 4) and np.all(inside["evaluations"] >= 1)


@pytest.mark.parametrize("hyperparameters", [{}, {**WOLFE, "max_eval": 25}])
def test_diverges_quietly_with_a_huge_lr(hyperparameters):
    """Infinities inside the line search raise nothing; the engine stops the runs."""
    rosenbrock = core.get_function("rosenbrock")
    optimizer = get_optimizer("lbfgs", lr=1e300, **hyperparameters)
    starts = np.array([[0.5, 0.5], [-1.0, 2.0], [1.5, -0.5]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for record in (True, False):
            result = core.run(rosenbrock, optimizer, starts, 30, record=record, noise=0.1, seed=1)
            assert np.isfinite(result.final).all()
    np.add(np.ones(3), 1.0)  # no floating-point flag left behind


def test_gradient_noise_reaches_only_the_first_evaluation():
    """With noise, the step's own gradient is noisy (as torch's closure would be); the line
    search evaluates f and ∇f exactly: core.run equals this loop with the engine's draws."""
    function = core.get_function("two_gaussians")
    optimizer = get_optimizer("lbfgs", **WOLFE, max_eval=10)
    starts, noise, seed, steps = MIXED_STARTS[:4] * 0.5, 0.3, 3, 20
    result = core.run(function, optimizer, starts, steps, noise=noise, seed=seed)
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0])  # one chunk's draws
    params, state = starts, optimizer.init(starts)
    for t in range(1, steps + 1):
        grad = function.gradient(params) + noise * rng.standard_normal((2, len(starts))).T
        params, state = optimizer.step(params, grad, state, t, function=function)
        np.testing.assert_array_equal(params, result.points[t])
    assert not np.allclose(result.points, core.run(function, optimizer, starts, steps).points)
