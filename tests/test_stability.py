"""core.stability: the edge of stability along a path.

* sharpness is λ_max of the Hessian where each step was taken (exact on quadratics);
* each family's threshold is checked against the run itself: on f = ½(a x² + b y²) the run
  decays just below it and grows just above it (GD, heavy ball with dampening and weight decay,
  Nesterov, Adam and NAdam with a frozen preconditioner, Newton);
* the effective sharpness is the step's own contraction: for the methods without momentum,
  (x_{t−1} − x_t)/x_{t−1} per coordinate on a diagonal quadratic, and Adam's as documented;
* `unstable` flags exactly the steps above the threshold, schedules change it step by step,
  and every array has the trace's length.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

import core
from core.functions import Minimum, TestFunction
from core.inside import trace
from core.stability import (NO_THRESHOLD, RULES, has_threshold, largest_eigenvalue, stability,
                            threshold_rule)


@dataclass(frozen=True, kw_only=True)
class Quadratic(TestFunction):
    """f = ½(a x² + 2c xy + b y²), Hessian [[a, c], [c, b]] everywhere."""

    name: ClassVar[str] = "quadratic"
    title: ClassVar[str] = "Quadratic"
    formula: ClassVar[str] = r"\tfrac12(a x^2 + 2c xy + b y^2)"
    default_domain: ClassVar = ((-2.0, 2.0), (-2.0, 2.0))

    a: float = 1.0
    b: float = 1.0
    c: float = 0.0

    def value(self, x, y):
        return 0.5 * (self.a * x * x + 2 * self.c * x * y + self.b * y * y)

    def partials(self, x, y):
        return self.a * x + self.c * y, self.c * x + self.b * y

    def second_partials(self, x, y):
        return self.a, self.c, self.b

    @property
    def minima(self):
        return (Minimum((0.0, 0.0), 0.0, True),)


@dataclass(frozen=True, kw_only=True)
class UndefinedCurvature(Quadratic):
    """A quadratic whose Hessian is reported as NaN where x > 0."""

    def second_partials(self, x, y):
        nan = np.where(np.asarray(x) > 0, np.nan, 1.0)
        return self.a * nan, self.c * nan, self.b * nan


BOWL = Quadratic(a=4.0, b=1.0)  # λ_max = 4 along x; y is far from its edge in every test
START = (1.0, 1.0)


def growth(function, optimizer, steps, start=START, scheduler=None) -> float:
    """‖x_steps‖ / ‖x_0‖ of core.run (inf if it diverged)."""
    result = core.run(function, optimizer, np.array(start), steps, record=False, scheduler=scheduler)
    if result.diverged[0]:
        return math.inf
    return float(np.abs(result.final[0]).max() / np.abs(start).max())


def assert_edge(function, optimizer, steps, above: bool, start=START):
    """The run grows (above the threshold) or decays (below), and `stability` says so at every step."""
    ratio = growth(function, optimizer, steps, start)
    s = stability(function, optimizer, start, steps)
    if above:
        assert ratio > 1e2, ratio
        assert s.unstable.all()
    else:
        assert ratio < 1e-2, ratio
        assert not s.unstable.any()
        assert len(s.steps) == steps
    return s


# ---------------------------------------------------------------------------------------
# Sharpness
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("a, b", [(4.0, 1.0), (1.0, 4.0), (0.1, 0.3), (0.3, 0.1), (2.5, 2.5), (-1.0, 0.7)])
def test_sharpness_is_the_largest_curvature_exactly(a, b):
    s = stability(Quadratic(a=a, b=b), core.get_optimizer("sgd", lr=0.01), START, 20)
    assert np.array_equal(s.sharpness, np.full(20, max(a, b)))


@pytest.mark.parametrize("a, b, c", [(4.0, 1.0, 1.5), (1.0, 1.0, -2.0), (1e-3, 3.0, 1e-4), (2.0, -3.0, 0.5)])
def test_sharpness_of_a_rotated_quadratic(a, b, c):
    s = stability(Quadratic(a=a, b=b, c=c), core.get_optimizer("sgd", lr=1e-3), START, 5)
    expected = np.linalg.eigvalsh(np.array([[a, c], [c, b]]))[-1]
    np.testing.assert_allclose(s.sharpness, expected, rtol=1e-14)


def test_largest_eigenvalue_against_numpy():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(3, 1000)) * np.array([[1.0], [10.0], [1e-3]])
    expected = np.linalg.eigvalsh(np.stack([np.stack([a, b], -1), np.stack([b, c], -1)], -2))[:, -1]
    np.testing.assert_allclose(largest_eigenvalue(a, b, c), expected, rtol=1e-12, atol=1e-15)


def test_a_typed_quadratic_has_its_curvature_as_sharpness():
    f = core.get_function("custom", expression="1.5*x^2 + 0.5*y^2")
    s = stability(f, core.get_optimizer("sgd", lr=0.1), START, 10)
    np.testing.assert_allclose(s.sharpness, 3.0, rtol=1e-12)


def test_sharpness_is_taken_where_the_step_was_taken():
    f = core.get_function("rosenbrock")
    run = trace(f, core.get_optimizer("adam", lr=0.05), (-1.0, 1.5), 30)
    s = stability(f, core.get_optimizer("adam", lr=0.05), (-1.0, 1.5), 30)
    before = np.linalg.eigvalsh(f.hessian(run.points[:-1]))[:, -1]
    after = np.linalg.eigvalsh(f.hessian(run.points[1:]))[:, -1]
    np.testing.assert_allclose(s.sharpness, before, rtol=1e-12)
    assert not np.allclose(s.sharpness, after, rtol=1e-6)


# ---------------------------------------------------------------------------------------
# Thresholds, against the runs
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("weight_decay", [0.0, 0.5])
@pytest.mark.parametrize("factor, above", [(0.99, False), (1.01, True)])
def test_gradient_descent_is_stable_below_two(factor, above, weight_decay):
    lr = factor * 2 / (4.0 + weight_decay)
    optimizer = core.get_optimizer("sgd", lr=lr, weight_decay=weight_decay)
    s = assert_edge(BOWL, optimizer, 1500, above)
    np.testing.assert_allclose(s.effective_sharpness, 2 * factor, rtol=1e-14)
    assert np.array_equal(s.threshold, np.full(len(s.steps), 2.0))


@pytest.mark.parametrize("factor", [0.95, 1.25])
def test_gradient_descent_diverges_iff_above_two(factor):
    optimizer = core.get_optimizer("sgd", lr=factor * 2 / 4.0)
    s = stability(BOWL, optimizer, START, 5000)
    run = trace(BOWL, optimizer, START, 5000)
    assert (s.diverged_at >= 0) == (factor > 1) == (run.diverged_at >= 0)
    assert len(s.steps) == len(s.sharpness) == len(s.effective_sharpness) == len(s.unstable) == len(run.points) - 1
    assert len(s.steps) == (5000 if factor < 1 else run.diverged_at - 1)
    assert s.unstable.all() == (factor > 1)


@pytest.mark.parametrize("momentum, dampening", [(0.9, 0.0), (0.5, 0.0), (0.9, 0.4), (0.3, 0.7)])
@pytest.mark.parametrize("factor, above", [(0.99, False), (1.01, True)])
def test_heavy_ball_is_stable_below_two_times_one_plus_momentum(momentum, dampening, factor, above):
    bound = 2 * (1 + momentum)
    lr = factor * bound / ((1 - dampening) * 4.0)
    optimizer = core.get_optimizer("momentum", lr=lr, momentum=momentum, dampening=dampening)
    s = assert_edge(BOWL, optimizer, 1500, above)
    np.testing.assert_allclose(s.effective_sharpness, factor * bound, rtol=1e-14)
    np.testing.assert_allclose(s.threshold, bound, rtol=1e-15)


@pytest.mark.parametrize("momentum", [0.9, 0.5, 0.2])
@pytest.mark.parametrize("factor, above", [(0.99, False), (1.01, True)])
def test_nesterov_is_stable_below_its_derived_bound(momentum, factor, above):
    bound = 2 * (1 + momentum) / (1 + 2 * momentum)
    lr = factor * bound / 4.0
    s = assert_edge(BOWL, core.get_optimizer("nesterov", lr=lr, momentum=momentum), 1500, above)
    np.testing.assert_allclose(s.effective_sharpness, factor * bound, rtol=1e-14)
    np.testing.assert_allclose(s.threshold, bound, rtol=1e-15)


def test_nesterov_diverges_where_heavy_ball_does_not():
    lr = 0.5 * (2 * 1.9 / 2.8 + 3.8) / 4.0  # between Nesterov's bound and heavy ball's at μ = 0.9
    assert growth(BOWL, core.get_optimizer("nesterov", lr=lr, momentum=0.9), 500) > 1e2
    assert growth(BOWL, core.get_optimizer("momentum", lr=lr, momentum=0.9), 500) < 1e-2


@pytest.mark.parametrize("beta1", [0.9, 0.5])
@pytest.mark.parametrize("factor, above", [(0.98, False), (1.02, True)])
def test_adam_with_a_frozen_preconditioner_is_stable_below_its_threshold(beta1, factor, above):
    # ε ≫ √v̂: P = γ/(√v̂ + ε) is γ/ε to 1e-8, so Adam is EMA momentum with a fixed step size.
    bound = 2 * (1 + beta1) / (1 - beta1)
    eps = 1e20
    optimizer = core.get_optimizer("adam", lr=factor * bound * eps / 4.0, betas=(beta1, 0.999), eps=eps,
                                   bias_correction=False)
    s = assert_edge(BOWL, optimizer, 150, above, start=(1e-3, 1e-3))
    np.testing.assert_allclose(s.effective_sharpness, factor * bound, rtol=1e-6)
    np.testing.assert_allclose(s.threshold, bound, rtol=1e-14)


def test_adam_returns_to_its_edge():
    """Cohen et al. 2022's adaptive edge of stability in one dimension: above 38 the path grows,
    v̂ grows with it and shrinks P until the preconditioned sharpness is back just below 38."""
    eps = 1e6
    optimizer = core.get_optimizer("adam", lr=1.02 * 38 * eps / 4.0, eps=eps, bias_correction=False)
    s = stability(BOWL, optimizer, (1e-3, 1e-3), 1500)
    assert s.unstable[:50].all() and not s.unstable[200:].any()
    assert 0.9 * 38 < s.effective_sharpness[200:].min() < s.effective_sharpness[200:].max() < 38


def test_adam_threshold_is_38_at_beta1_of_0_9():
    s = stability(BOWL, core.get_optimizer("adam", lr=0.01), START, 3)
    np.testing.assert_allclose(s.threshold, 38.0, rtol=1e-14)


@pytest.mark.parametrize("factor, above", [(0.98, False), (1.02, True)])
def test_nadam_with_a_frozen_preconditioner_is_stable_below_its_threshold(factor, above):
    # μ_t = β₁(1 − ½·0.96^{tψ}) = β₁ from the first step when ψ is large: the Nesterov form of
    # EMA momentum, stable for q = λ·P below 2(1 + β₁)/((1 − β₁)(1 + 2β₁)) once Π μ_i ≈ 0. Its
    # first steps, where 1/(1 − Π μ_i) is large, are far above the edge, and the path grows there.
    beta1, eps = 0.9, 1e20
    q = factor * 2 * (1 + beta1) / ((1 - beta1) * (1 + 2 * beta1))
    optimizer = core.get_optimizer("nadam", lr=q * eps / 4.0, betas=(beta1, 0.999), eps=eps, momentum_decay=1e4)
    run = trace(BOWL, optimizer, (1e-3, 1e-3), 200)
    s = stability(BOWL, optimizer, (1e-3, 1e-3), 200)
    assert len(s.steps) == 200
    ratio = np.abs(run.points[200]).max() / np.abs(run.points[50]).max()
    assert (ratio > 1e2) if above else (ratio < 1e-2), ratio
    assert s.unstable[:10].all() and np.abs(run.points[10]).max() > 1e3 * np.abs(run.points[0]).max()
    assert s.unstable[50:].all() if above else not s.unstable[50:].any()
    np.testing.assert_allclose(s.effective_sharpness[150:], factor * 38.0, rtol=1e-6)


@pytest.mark.parametrize("factor, above", [(0.95, False), (1.05, True)])
def test_newton_is_stable_for_lr_below_two(factor, above):
    optimizer = core.get_optimizer("newton", lr=2 * factor)
    start = (0.01, 0.02)
    ratio = growth(BOWL, optimizer, 60, start)
    assert (ratio > 5) if above else (ratio < 0.1), ratio
    s = stability(BOWL, optimizer, start, 60)
    np.testing.assert_allclose(s.effective_sharpness, 2 * factor, rtol=1e-14)
    assert s.unstable.all() == above and s.unstable.any() == above


# ---------------------------------------------------------------------------------------
# The effective sharpness is the step's own
# ---------------------------------------------------------------------------------------
CONTRACTING = [
    ("sgd", dict(lr=0.3, weight_decay=0.2)),
    ("asgd", dict(lr=0.3, lambd=0.5, weight_decay=0.1, alpha=0.75)),
    ("adagrad", dict(lr=0.5, lr_decay=0.1, weight_decay=0.05)),
    ("rmsprop", dict(lr=0.05, weight_decay=0.1)),
    ("rmsprop", dict(lr=0.05, centered=True)),
    ("adadelta", dict(lr=1.0, rho=0.9, eps=1e-3, weight_decay=0.1)),
    ("adafactor", dict(lr=0.05)),
    ("newton", dict(lr=0.7, damping=1.5)),
]


@pytest.mark.parametrize("name, hyperparameters", CONTRACTING)
def test_effective_sharpness_is_the_steps_contraction(name, hyperparameters):
    """Without momentum, on a diagonal quadratic x_t,i = (1 − e_i) x_{t−1,i}: the effective
    sharpness is max_i e_i, read off the path."""
    optimizer = core.get_optimizer(name, **hyperparameters)
    run = trace(BOWL, optimizer, START, 40)
    s = stability(BOWL, optimizer, START, 40)
    before, after = run.points[:-1], run.points[1:]
    contraction = ((before - after) / before).max(axis=-1)
    np.testing.assert_allclose(s.effective_sharpness, contraction, rtol=1e-9)
    np.testing.assert_allclose(s.threshold, 2.0, rtol=0)


def test_adam_preconditioned_sharpness_is_as_documented():
    """ω_t λ_max(P^½ H P^½) with P = diag(γ/(√v̂ + ε)) after step t and ω_t = 1/(1 − β₁ᵗ)."""
    f = Quadratic(a=4.0, b=1.0, c=1.5)
    lr, beta1, beta2, eps = 0.05, 0.8, 0.99, 1e-8
    optimizer = core.get_optimizer("adam", lr=lr, betas=(beta1, beta2), eps=eps)
    s = stability(f, optimizer, START, 30)
    x, m, v = np.array(START), np.zeros(2), np.zeros(2)
    hessian = np.array([[4.0, 1.5], [1.5, 1.0]])
    for t in range(1, 31):
        g = f.gradient(x)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        p = lr / (np.sqrt(v / (1 - beta2**t)) + eps)
        x = x - p * m / (1 - beta1**t)
        root = np.sqrt(p)
        expected = np.linalg.eigvalsh(root[:, None] * hessian * root[None, :])[-1] / (1 - beta1**t)
        assert s.effective_sharpness[t - 1] == pytest.approx(expected, rel=1e-10), t
    np.testing.assert_allclose(s.threshold, 2 * 1.8 / 0.2, rtol=1e-14)


def test_yellowfin_is_heavy_ball_with_its_tuned_values():
    f = core.get_function("rosenbrock")
    optimizer = core.get_optimizer("yellowfin", lr=1e-4)
    run = trace(f, optimizer, (-1.0, 1.5), 50)
    s = stability(f, optimizer, (-1.0, 1.5), 50)
    np.testing.assert_allclose(s.threshold, 2 * (1 + run.internals["tuned momentum"]), rtol=1e-15)
    np.testing.assert_allclose(s.effective_sharpness, run.internals["tuned lr"] * s.sharpness, rtol=1e-12)


# ---------------------------------------------------------------------------------------
# `unstable`, schedules, lengths, the optimizers without a threshold
# ---------------------------------------------------------------------------------------
def test_unstable_flags_exactly_the_steps_above_the_threshold():
    optimizer = core.get_optimizer("sgd", lr=2.4 / 4.0)
    scheduler = core.get_scheduler("linear_lr", start_factor=0.7, end_factor=1.0, total_iters=30)
    s = stability(BOWL, optimizer, START, 30, scheduler=scheduler)
    lrs = np.array([h["lr"] for h in scheduler.hyperparameters(optimizer, 30)])
    assert np.array_equal(s.effective_sharpness, lrs * 4.0)
    assert np.array_equal(s.unstable, lrs * 4.0 > 2.0)
    assert 0 < s.unstable.sum() < 30
    np.testing.assert_allclose(s.ratio, lrs * 4.0 / 2.0, rtol=1e-15)


def test_a_schedule_changes_the_effective_sharpness_step_by_step():
    optimizer = core.get_optimizer("momentum", lr=0.2, momentum=0.9)
    scheduler = core.get_scheduler("step_lr", step_size=10, gamma=0.5)
    s = stability(BOWL, optimizer, START, 40, scheduler=scheduler)
    lrs = np.array([h["lr"] for h in scheduler.hyperparameters(optimizer, 40)])
    assert len(set(lrs)) == 4
    np.testing.assert_allclose(s.effective_sharpness, lrs * 4.0, rtol=1e-15)


def test_a_momentum_cycle_changes_the_threshold_step_by_step():
    optimizer = core.get_optimizer("momentum", lr=0.1, momentum=0.9)
    scheduler = core.get_scheduler("one_cycle_lr", max_lr=0.5, total_steps=50)
    s = stability(BOWL, optimizer, START, 50, scheduler=scheduler)
    hyper = scheduler.hyperparameters(optimizer, 50)
    np.testing.assert_allclose(s.threshold, [2 * (1 + h["momentum"]) for h in hyper], rtol=1e-15)
    np.testing.assert_allclose(s.effective_sharpness, [4.0 * h["lr"] for h in hyper], rtol=1e-15)
    assert np.ptp(s.threshold) > 0.1


@pytest.mark.parametrize("name", core.OPTIMIZERS)
def test_every_optimizer_has_a_consistent_record(name):
    f = core.get_function("rosenbrock")
    optimizer = core.get_optimizer(name)
    run = trace(f, optimizer, (-1.0, 1.5), 120)
    s = stability(f, optimizer, (-1.0, 1.5), 120)
    k = len(run.points) - 1
    for array in (s.steps, s.sharpness, s.effective_sharpness, s.unstable, s.ratio):
        assert array.shape == (k,)
    assert np.array_equal(s.steps, np.arange(1, k + 1))
    assert s.diverged_at == run.diverged_at
    assert np.isfinite(s.sharpness).all()
    assert has_threshold(optimizer) == has_threshold(name) == has_threshold(type(optimizer)) == (
        s.threshold is not None)
    assert s.rule == threshold_rule(name) and s.rule
    if s.threshold is None:
        assert np.isnan(s.effective_sharpness).all() and not s.unstable.any()
    else:
        assert s.threshold.shape == (k,) and np.isfinite(s.effective_sharpness).all()
        assert np.array_equal(s.unstable, s.effective_sharpness > s.threshold)


def test_the_optimizers_without_a_threshold_are_the_sign_and_quasi_newton_ones():
    assert {cls.name for cls in NO_THRESHOLD} == {"lion", "rprop", "lbfgs"}
    assert {cls.name for cls in RULES} | {cls.name for cls in NO_THRESHOLD} == set(core.OPTIMIZERS)
    assert not has_threshold("lion") and has_threshold("asgd") and has_threshold("newton")


def test_a_diverging_run_is_cut_where_the_trace_is():
    optimizer = core.get_optimizer("sgd", lr=1.0)  # lr·λ = 4: x doubles every step
    s = stability(BOWL, optimizer, START, 3000)
    assert 0 < s.diverged_at <= 3000
    assert len(s.steps) == s.diverged_at - 1 and s.unstable.all()


def test_undefined_curvature_gives_nan_and_is_never_unstable():
    f = UndefinedCurvature(a=4.0, b=1.0)
    optimizer = core.get_optimizer("sgd", lr=0.6)  # lr·λ = 2.4 where the curvature is defined
    s = stability(f, optimizer, (1.0, 1.0), 6)  # x alternates sign: NaN on even steps
    undefined = np.arange(6) % 2 == 0
    assert np.isnan(s.sharpness[undefined]).all() and np.isnan(s.effective_sharpness[undefined]).all()
    assert not s.unstable[undefined].any() and s.unstable[~undefined].all()


def test_no_steps():
    s = stability(BOWL, core.get_optimizer("adam"), START, 0)
    assert s.sharpness.shape == s.effective_sharpness.shape == s.unstable.shape == (0,)
    assert s.threshold.shape == (0,)
