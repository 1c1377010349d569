"""Tests of Eve and YellowFin (core.optimizers), the two optimizers the article's closing
paragraph asks about; torch.optim has neither.

* Their first three steps against the papers' algorithms written out below in scalar Python:
  Eve's Algorithm 1 (Koushik & Hayashi 2016), YellowFin's Algorithms 1-4 with SingleStep solved
  by Vieta's substitution as in its appendix (Zhang & Mitliagkas 2017), on f = x² + 10 y² and on
  the article's two-Gaussian bowl.
* YellowFin's tuner against a brute-force minimization of its SingleStep problem, and its
  degenerate cases (no gradient variance, zero curvature).
* Validation, 500 warning-free steps on Rosenbrock, convergence on a bowl, Eve's f*.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import core
from core import get_optimizer
from core.optimizers import INTERNALS, yellowfin_single_step

EVE_DEFAULTS = {"lr": 1e-3, "betas": (0.9, 0.999, 0.999), "eps": 1e-8, "lower_threshold": 0.1,
                "upper_threshold": 10.0, "f_star": 0.0}
YELLOWFIN_DEFAULTS = {"lr": 1e-4, "momentum": 0.0, "beta": 0.999, "curv_win_width": 20}
TWO_GAUSSIANS = core.get_function("two_gaussians")


def test_defaults_are_the_papers():
    eve, yellowfin = get_optimizer("eve"), get_optimizer("yellowfin")
    assert eve.hyperparameters == EVE_DEFAULTS
    assert yellowfin.hyperparameters == YELLOWFIN_DEFAULTS
    assert eve.needs_loss and not yellowfin.needs_loss


# ---------------------------------------------------------------------------------------
# Test functions as scalar Python
# ---------------------------------------------------------------------------------------
def quadratic(x, y):
    return x * x + 10 * y * y


def quadratic_gradient(x, y):
    return 2 * x, 20 * y


def two_gaussians(x, y):
    return float(TWO_GAUSSIANS(np.array([x, y])))


def two_gaussians_gradient(x, y):
    return tuple(float(v) for v in TWO_GAUSSIANS.gradient(np.array([x, y])))


FUNCTIONS = {"quadratic": (quadratic, quadratic_gradient), "two_gaussians": (two_gaussians, two_gaussians_gradient)}


def _drive(optimizer, function, start, steps):
    """The optimizer's path and internals from `start`, one point, as the engine drives it."""
    f, gradient = FUNCTIONS[function]
    params = np.array([start], dtype=float)
    state = optimizer.init(params)
    path, internals = [params[0].copy()], []
    for t in range(1, steps + 1):
        grad = np.array([gradient(*params[0])])
        loss = np.array([f(*params[0])]) if optimizer.needs_loss else None
        params, state = optimizer.step(params, grad, state, t, loss=loss)
        path.append(params[0].copy())
        internals.append({name: float(value[0]) for name, value in optimizer.internals(state, t).items()})
    return np.array(path), internals


# ---------------------------------------------------------------------------------------
# Eve: Algorithm 1 of Koushik & Hayashi, "Improving Stochastic Gradient Descent with
# Feedback" (2016), arXiv:1611.01505v1, applied to f − f*
# ---------------------------------------------------------------------------------------
def eve_by_hand(function, start, steps, lr, betas, eps, lower_threshold, upper_threshold, f_star):
    f, gradient = FUNCTIONS[function]
    beta1, beta2, beta3 = betas
    k, K = lower_threshold, upper_threshold
    theta = list(start)
    m, v = [0.0, 0.0], [0.0, 0.0]
    path, ds, branches = [tuple(theta)], [], []
    for t in range(1, steps + 1):
        g = gradient(*theta)
        loss = f(*theta) - f_star  # f(θ_{t−1}), measured from f*
        for i in range(2):
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            v[i] = beta2 * v[i] + (1 - beta2) * g[i] ** 2
        if t > 1:
            if loss >= f_hat:
                delta, Delta = k + 1, K + 1
            else:
                delta, Delta = 1 / (K + 1), 1 / (k + 1)
            c = min(max(delta, loss / f_hat), Delta)
            branches.append(("rising" if loss >= f_hat else "falling", "clipped" if c != loss / f_hat else "free"))
            new_f_hat = c * f_hat
            r = abs(new_f_hat - f_hat) / min(new_f_hat, f_hat)
            d = beta3 * d + (1 - beta3) * r
            f_hat = new_f_hat
        else:
            f_hat = loss
            d = 1.0
        for i in range(2):
            m_hat = m[i] / (1 - beta1**t)
            v_hat = v[i] / (1 - beta2**t)
            theta[i] = theta[i] - lr * m_hat / (d * math.sqrt(v_hat) + eps)
        path.append(tuple(theta))
        ds.append(d)
    return np.array(path), ds, branches


EVE_CASES = {
    # From next to the minimum, the first step overshoots: the loss rises ×10 (clipped to K + 1
    # when K = 5, free when K = 10).
    "quadratic-rise-clipped": ("quadratic", (0.05, 0.02), {"lr": 0.1, "betas": (0.9, 0.999, 0.9), "upper_threshold": 5.0}),
    "quadratic-rise-free": ("quadratic", (0.05, 0.02), {"lr": 0.1, "betas": (0.9, 0.999, 0.9)}),
    "quadratic-fall-free": ("quadratic", (1.0, 0.5), {"lr": 0.3, "betas": (0.9, 0.999, 0.5)}),
    # A small lr: the loss barely moves, so the ratio is clipped to 1/(k + 1) or k + 1.
    "quadratic-small-steps": ("quadratic", (1.0, 1.0), {"lr": 0.001, "betas": (0.9, 0.999, 0.9)}),
    "two_gaussians-f_min": ("two_gaussians", (0.5, 1.0), {"lr": 0.01, "f_star": TWO_GAUSSIANS.f_min}),
    "two_gaussians-big-steps": ("two_gaussians", (-1.5, -1.2),
                                {"lr": 0.2, "betas": (0.9, 0.999, 0.5), "f_star": TWO_GAUSSIANS.f_min}),
    "two_gaussians-f_star-0": ("two_gaussians", (1.6, 0.3), {"lr": 0.05}),
}


@pytest.mark.parametrize("case", EVE_CASES)
def test_eve_matches_algorithm_1(case):
    function, start, hyperparameters = EVE_CASES[case]
    settings = {**EVE_DEFAULTS, **hyperparameters}
    expected, ds, _ = eve_by_hand(function, start, 3, **settings)
    path, internals = _drive(get_optimizer("eve", **hyperparameters), function, start, 3)
    np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose([i["feedback d"] for i in internals], ds, rtol=1e-12)


def test_eve_cases_reach_every_branch():
    seen = set()
    for function, start, hyperparameters in EVE_CASES.values():
        seen |= set(eve_by_hand(function, start, 3, **{**EVE_DEFAULTS, **hyperparameters})[2])
    assert seen == {(way, clip) for way in ("rising", "falling") for clip in ("clipped", "free")}


def test_eve_through_the_engine():
    """core.run passes loss = f(x_{t−1}) to Eve; its path is the hand computation's."""
    hyperparameters = {"lr": 0.05, "f_star": TWO_GAUSSIANS.f_min}
    expected, _, _ = eve_by_hand("two_gaussians", (0.5, 1.0), 3, **{**EVE_DEFAULTS, **hyperparameters})
    result = core.run(TWO_GAUSSIANS, get_optimizer("eve", **hyperparameters), [0.5, 1.0], 3)
    np.testing.assert_allclose(result.points[:, 0], expected, rtol=1e-12, atol=1e-15)


def test_eve_needs_the_loss():
    eve = get_optimizer("eve")
    params = np.zeros((1, 2))
    with pytest.raises(ValueError, match="eve: step needs loss"):
        eve.step(params, params, eve.init(params), 1)


# ---------------------------------------------------------------------------------------
# YellowFin: Algorithms 1-4 and SingleStep of Zhang & Mitliagkas, "YellowFin and the Art of
# Momentum Tuning" (2017), with the official implementation's zero-debiasing and averaging of
# the tuned values
# ---------------------------------------------------------------------------------------
def vieta_root(p):
    """The paper's closed form: x = √μ = y + 1, y = w − p/(3w), w³ = −(p + √(p² + 4p³/27))/2."""
    w3 = (-math.sqrt(p**2 + 4 / 27 * p**3) - p) / 2
    w = math.copysign(abs(w3) ** (1 / 3), w3)
    return w - p / (3 * w) + 1


def single_step_by_hand(h_min, h_max, C, D):
    """SingleStep: μ_t = max(x², ((√κ − 1)/(√κ + 1))²), α_t = (1 − √μ_t)² / h_min."""
    x = 0.0 if C <= 0 else vieta_root(D**2 * h_min**2 / (2 * C))  # C = 0: p = ∞, x = 0
    kappa = h_max / h_min
    bound = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    mu = max(x**2, bound)
    return mu, (1 - math.sqrt(mu)) ** 2 / h_min, "cubic" if x**2 > bound else "bound"


def yellowfin_by_hand(function, start, steps, lr, momentum, beta, curv_win_width):
    _, gradient = FUNCTIONS[function]
    x, x_before = list(start), list(start)  # x_{t−1}, x_{t−2} (x_{−1} = x_0)
    window = []
    h_min_avg = h_max_avg = grad_norm_avg = h_avg = dist_avg = 0.0
    grad_avg, grad_sq_avg = [0.0, 0.0], [0.0, 0.0]
    alpha, mu = lr, momentum
    path, tuned, branches = [tuple(x)], [], []
    for t in range(1, steps + 1):
        g = gradient(*x)
        h = g[0] ** 2 + g[1] ** 2
        # Algorithm 2, curvature range: the extremes of the last w values of ‖g‖².
        window = (window + [h])[-curv_win_width:]
        h_min_avg = beta * h_min_avg + (1 - beta) * min(window)
        h_max_avg = beta * h_max_avg + (1 - beta) * max(window)
        # Algorithm 3, variance: 1ᵀ(g²‾ − ḡ²).
        for i in range(2):
            grad_avg[i] = beta * grad_avg[i] + (1 - beta) * g[i]
            grad_sq_avg[i] = beta * grad_sq_avg[i] + (1 - beta) * g[i] ** 2
        # Algorithm 4, distance to the optimum: ‖g‖‾ / h̄, averaged.
        grad_norm_avg = beta * grad_norm_avg + (1 - beta) * math.sqrt(h)
        h_avg = beta * h_avg + (1 - beta) * h
        dist_avg = beta * dist_avg + (1 - beta) * grad_norm_avg / h_avg
        # Zero-debiased, as the authors' implementation does.
        debias = 1 - beta**t
        h_min, h_max = h_min_avg / debias, h_max_avg / debias
        C = sum(grad_sq_avg[i] / debias - (grad_avg[i] / debias) ** 2 for i in range(2))
        D = dist_avg / debias
        # Algorithm 1: SingleStep, then the running averages of the tuned values.
        mu_t, alpha_t, branch = single_step_by_hand(h_min, h_max, C, D)
        alpha = beta * alpha + (1 - beta) * alpha_t
        mu = beta * mu + (1 - beta) * mu_t
        # Momentum SGD: x_t = x_{t−1} − α g + μ (x_{t−1} − x_{t−2}).
        x, x_before = [x[i] - alpha * g[i] + mu * (x[i] - x_before[i]) for i in range(2)], x
        path.append(tuple(x))
        tuned.append((alpha, mu, h_min, h_max, C, D))
        branches.append(branch)
    return np.array(path), tuned, branches


YELLOWFIN_CASES = {
    "quadratic-beta-0.9": ("quadratic", (1.0, 0.5), {"lr": 0.01, "beta": 0.9, "curv_win_width": 2}),
    "quadratic-momentum": ("quadratic", (1.0, 0.5), {"lr": 0.04, "momentum": 0.3, "beta": 0.5, "curv_win_width": 2}),
    "quadratic-near": ("quadratic", (0.3, 0.2), {"lr": 0.08, "momentum": 0.5, "beta": 0.5, "curv_win_width": 2}),
    "quadratic-defaults": ("quadratic", (1.0, 1.0), {}),
    "two_gaussians": ("two_gaussians", (0.5, 1.0), {"lr": 0.05, "beta": 0.9, "curv_win_width": 2}),
    "two_gaussians-momentum": ("two_gaussians", (-1.5, -1.2), {"lr": 0.1, "momentum": 0.5, "beta": 0.5, "curv_win_width": 2}),
}


@pytest.mark.parametrize("case", YELLOWFIN_CASES)
def test_yellowfin_matches_the_paper(case):
    function, start, hyperparameters = YELLOWFIN_CASES[case]
    settings = {**YELLOWFIN_DEFAULTS, **hyperparameters}
    expected, tuned, _ = yellowfin_by_hand(function, start, 3, **settings)
    path, internals = _drive(get_optimizer("yellowfin", **hyperparameters), function, start, 3)
    np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-15)
    names = ("tuned lr", "tuned momentum", "h_min", "h_max", "distance D")
    got = [[i[name] for name in names] for i in internals]
    np.testing.assert_allclose(got, [[a, m, lo, hi, d] for a, m, lo, hi, _, d in tuned], rtol=1e-10, atol=1e-15)
    # C = h̄ − ‖ḡ‖² cancels: compare it on the scale of h (at t = 1 it is 0 up to rounding).
    for inside, (*_, h_max, variance, _) in zip(internals, tuned):
        assert inside["variance C"] == pytest.approx(variance, abs=1e-13 * h_max)


def test_yellowfin_cases_reach_both_sides_of_the_tuner():
    """The tuned √μ is sometimes the cubic's root, sometimes the curvature-range bound."""
    seen = set()
    for function, start, hyperparameters in YELLOWFIN_CASES.values():
        seen |= set(yellowfin_by_hand(function, start, 3, **{**YELLOWFIN_DEFAULTS, **hyperparameters})[2])
    assert seen == {"cubic", "bound"}


@pytest.mark.parametrize("start", [(1.0, 1.0), (-1.5, 2.0), (0.2, -0.1)])
def test_yellowfin_first_step_with_exact_gradients(start):
    """At t = 1 the variance estimate is 0 (up to rounding) and the window holds one value, so
    κ = 1: SingleStep gives x = 0 (p = ∞), μ_1 = 0 and α_1 = 4 / (2√h)² = 1/‖g‖²."""
    beta, lr = 0.9, 0.01
    path, internals = _drive(get_optimizer("yellowfin", lr=lr, momentum=0.2, beta=beta), "quadratic", start, 1)
    g = np.array(quadratic_gradient(*start))
    assert internals[0]["variance C"] == pytest.approx(0.0, abs=1e-15 * np.dot(g, g))
    alpha = beta * lr + (1 - beta) / np.dot(g, g)
    assert internals[0]["tuned lr"] == pytest.approx(alpha, rel=1e-14)
    assert internals[0]["tuned momentum"] == pytest.approx(beta * 0.2, rel=1e-14)
    np.testing.assert_allclose(path[1], np.array(start) - alpha * g, rtol=1e-14)


def test_yellowfin_constant_gradient():
    """A gradient that never changes has no variance: every step is tuned by the curvature
    range alone (here κ = 1): μ_t = 0 and α_t = 1/‖g‖², so α_t = β^t lr + (1 − β^t)/‖g‖²."""
    beta, lr = 0.95, 1e-3
    optimizer = get_optimizer("yellowfin", lr=lr, beta=beta)
    params = np.zeros((1, 2))
    state = optimizer.init(params)
    grad = np.array([[3.0, 4.0]])
    for t in range(1, 61):
        params, state = optimizer.step(params, grad, state, t)
        inside = optimizer.internals(state, t)
        assert inside["variance C"][0] == pytest.approx(0.0, abs=1e-12)
        assert inside["tuned lr"][0] == pytest.approx(beta**t * lr + (1 - beta**t) / 25, rel=1e-12)
        assert inside["tuned momentum"][0] == pytest.approx(0.0, abs=1e-20)


# ---------------------------------------------------------------------------------------
# SingleStep
# ---------------------------------------------------------------------------------------
def _single_step_brute_force(h_min, h_max, C, D):
    """min over a fine grid of feasible √μ of μD² + α²C with α = (1 − √μ)²/h_min."""
    kappa = h_max / h_min
    low = (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)
    roots = np.linspace(low, 1.0, 2_000_001)
    objective = roots**2 * D**2 + ((1 - roots) ** 2 / h_min) ** 2 * C
    best = roots[np.argmin(objective)]
    return best**2


@pytest.mark.parametrize("seed", range(8))
def test_single_step_solves_its_problem(seed):
    rng = np.random.default_rng(seed)
    h_min = 10 ** rng.uniform(-2, 2)
    h_max = h_min * 10 ** rng.uniform(0, 2)
    C, D = 10 ** rng.uniform(-3, 3), 10 ** rng.uniform(-2, 1)
    mu, alpha = yellowfin_single_step(np.array([h_min]), np.array([h_max]), np.array([C]), np.array([D]))
    assert mu[0] == pytest.approx(_single_step_brute_force(h_min, h_max, C, D), abs=2e-6)
    hand_mu, hand_alpha, _ = single_step_by_hand(h_min, h_max, C, D)  # Vieta, as in the paper
    assert mu[0] == pytest.approx(hand_mu, rel=1e-9)
    assert alpha[0] == pytest.approx(hand_alpha, rel=1e-9)
    assert alpha[0] == pytest.approx((1 - math.sqrt(mu[0])) ** 2 / h_min, rel=1e-9)


def test_single_step_root_solves_the_cubic():
    p = np.array([1e-6, 1e-2, 1.0, 3.0, 1e2, 1e6])
    # With h_max = h_min the bound is 0, so √μ_t is the cubic's root x; D = 1, h_min = 1 makes p = 1/(2C).
    mu, _ = yellowfin_single_step(np.ones_like(p), np.ones_like(p), 1 / (2 * p), np.ones_like(p))
    y = np.sqrt(mu) - 1
    scale = np.maximum(np.abs(y) ** 3, p)  # the largest term (y ∈ (−1, 0))
    np.testing.assert_allclose((y**3 + p * y + p) / scale, 0.0, atol=1e-13)
    for value, root in zip(p, np.sqrt(mu)):
        real = [r.real for r in np.roots([1, 0, value, value]) if abs(r.imag) < 1e-9]
        assert root == pytest.approx(real[0] + 1, abs=1e-9)


def test_single_step_large_p_does_not_cancel():
    """For p = 1e30 the root is x ≈ 1/p; Vieta's w − p/(3w) loses it to cancellation."""
    p = 1e30
    mu, _ = yellowfin_single_step(np.ones(1), np.ones(1), np.array([1 / (2 * p)]), np.ones(1))
    assert math.sqrt(mu[0]) == pytest.approx(1 / p, rel=1e-6)
    assert abs(vieta_root(p) - 1 / p) > 1e-3  # the paper's form, in floating point


def test_single_step_degenerate_cases():
    h_min, h_max = np.array([1.0, 4.0, 0.0, 2.0]), np.array([9.0, 4.0, 5.0, 8.0])
    C, D = np.array([0.0, 0.0, 1.0, 1.0]), np.array([1.0, 1.0, 1.0, 0.0])
    with np.errstate(all="raise"):
        mu, alpha = yellowfin_single_step(h_min, h_max, C, D)
    # C = 0 (p = ∞): x = 0, so μ is the bound ((√κ − 1)/(√κ + 1))² and α = 4/(√h_max + √h_min)².
    np.testing.assert_allclose(mu[:2], [((3 - 1) / (3 + 1)) ** 2, 0.0], rtol=1e-15)
    np.testing.assert_allclose(alpha[:2], [4 / (3 + 1) ** 2, 1 / 4], rtol=1e-15)
    # h_min = 0 or D = 0 (p = 0): x = 1, so μ = 1 and α = 0.
    np.testing.assert_array_equal(mu[2:], [1.0, 1.0])
    np.testing.assert_array_equal(alpha[2:], [0.0, 0.0])


def test_yellowfin_at_a_stationary_point():
    """g = 0 from the start: nothing is measured, the tuned values stay, nothing moves."""
    optimizer = get_optimizer("yellowfin", lr=0.01, momentum=0.3)
    params = np.array([[1.0, 1.0], [0.0, 0.0]])
    state = optimizer.init(params)
    with np.errstate(all="raise"):
        for t in range(1, 30):
            grad = np.array([[0.0, 0.0], [2.0, -1.0]])  # the second point moves, the first not
            new_params, state = optimizer.step(params, grad, state, t)
            params = np.vstack([params[:1], new_params[1:]])
            inside = optimizer.internals(state, t)
    np.testing.assert_array_equal(params[0], [1.0, 1.0])
    assert inside["tuned lr"][0] == 0.01 and inside["tuned momentum"][0] == pytest.approx(0.3, rel=1e-15)
    assert all(np.all(np.isfinite(v)) for v in inside.values())


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------
BAD = [
    ("eve", {"betas": (0.9, 0.999)}, "betas"),
    ("eve", {"betas": (0.9, 0.999, -0.5)}, "betas[2]"),
    ("eve", {"betas": 0.9}, "betas"),
    ("eve", {"eps": -1.0}, "eps"),
    ("eve", {"lower_threshold": -0.1}, "lower_threshold"),
    ("eve", {"lower_threshold": 0.0}, "lower_threshold"),
    ("eve", {"lower_threshold": 2.0, "upper_threshold": 1.0}, "upper_threshold"),
    ("eve", {"upper_threshold": math.inf}, "upper_threshold"),
    ("eve", {"f_star": math.inf}, "f_star"),
    ("eve", {"f_star": None}, "f_star"),
    ("eve", {"lr": 0.0}, "lr"),
    ("yellowfin", {"lr": -1e-4}, "lr"),
    ("yellowfin", {"momentum": -0.1}, "momentum"),
    ("yellowfin", {"momentum": 1.0}, "momentum"),
    ("yellowfin", {"beta": 1.0}, "beta"),
    ("yellowfin", {"beta": math.nan}, "beta"),
    ("yellowfin", {"curv_win_width": 0}, "curv_win_width"),
    ("yellowfin", {"curv_win_width": 2.5}, "curv_win_width"),
    ("yellowfin", {"curv_win_width": True}, "curv_win_width"),
    ("yellowfin", {"curv_win_width": "20"}, "curv_win_width"),
    ("yellowfin", {"curv_win_width": math.inf}, "curv_win_width"),
    ("yellowfin", {"window": 20}, "window"),
]


@pytest.mark.parametrize("name, kwargs, parameter", BAD, ids=[f"{n}-{k}" for n, k, _ in BAD])
def test_rejects_bad_hyperparameters(name, kwargs, parameter):
    with pytest.raises(ValueError) as error:
        get_optimizer(name, **kwargs)
    assert str(error.value).startswith(f"{name}: ")
    assert parameter in str(error.value)


def test_accepts_edge_values():
    get_optimizer("eve", betas=[0.0, 0.0, 0.0], eps=0.0, lower_threshold=1.0, upper_threshold=1.0, f_star=-5)
    get_optimizer("yellowfin", momentum=0.0, beta=0.0, curv_win_width=1)
    # The dashboard's number inputs give floats: a whole float is a window width.
    yellowfin = get_optimizer("yellowfin", curv_win_width=20.0)
    assert yellowfin.init(np.zeros((3, 2))).curvatures.shape == (3, 20)


# ---------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------
ROSENBROCK_STARTS = {
    # YellowFin's curvature estimate is ‖g‖², so its tuned lr grows like 1/‖g‖²: from starts
    # with small gradients on Rosenbrock b = 100 (e.g. (−1, 1), (0, 0)) the tuned lr
    # outgrows the valley's curvature and the run diverges (the engine stops it at its last
    # finite point). These starts have large gradients; (1, 1) is the minimum, g = 0.
    "eve": [(-1.5, 2.0), (-1.0, 1.0), (0.0, 0.0), (1.5, -0.5), (2.0, 2.0), (1.0, 1.0)],
    "yellowfin": [(-1.5, 2.0), (1.5, -0.5), (-0.5, 2.5), (2.0, 2.0), (1.0, 1.0)],
}


@pytest.mark.parametrize("name", ["eve", "yellowfin"])
def test_rosenbrock_500_steps_without_warnings(name):
    function = core.get_function("rosenbrock")
    optimizer = get_optimizer(name, **({"f_star": function.f_min} if name == "eve" else {}))
    starts = np.array(ROSENBROCK_STARTS[name])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = core.run(function, optimizer, starts, 500)
    assert np.all(np.isfinite(result.points)) and not result.diverged.any()
    # The update itself raises no floating-point warning (the engine silences them).
    params, state = starts, optimizer.init(starts)
    with np.errstate(all="raise", under="ignore"):
        for t in range(1, 501):
            loss = function(params) if optimizer.needs_loss else None
            params, state = optimizer.step(params, function.gradient(params), state, t, loss=loss)
            inside = optimizer.internals(state, t)
    np.testing.assert_allclose(params, result.final, rtol=1e-12)
    assert all(np.all(np.isfinite(value)) for value in inside.values())
    np.testing.assert_array_equal(result.final[-1], [1.0, 1.0])  # started at the minimum


def test_yellowfin_near_a_stationary_point_is_stopped_not_nan():
    """From the two-Gaussian bowl's minima (|g| ≈ 1e-15) YellowFin's first tuned lr is
    ≈ 1/|g|²: the run leaves at once. The engine records finite points."""
    minima = np.array([m.point for m in TWO_GAUSSIANS.minima])
    with warnings.catch_warnings():
        # core.engine takes the norm of the overflowing gradient outside its errstate.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = core.run(TWO_GAUSSIANS, get_optimizer("yellowfin"), minima, 50)
    assert np.all(np.isfinite(result.points))


def _bowl_run(optimizer, start=(1.0, 1.0), steps=1000):
    """Distances to the minimum of f = x² + y² along the path."""
    params = np.array([start])
    state = optimizer.init(params)
    distances = [np.linalg.norm(params)]
    for t in range(1, steps + 1):
        params, state = optimizer.step(params, 2 * params, state, t, loss=np.sum(params**2, axis=-1))
        distances.append(np.linalg.norm(params))
    return np.array(distances)


@pytest.mark.parametrize("name, hyperparameters, steps", [
    ("eve", {"lr": 0.1}, 100),
    ("yellowfin", {}, 300),
])
def test_reaches_the_minimum_of_a_bowl(name, hyperparameters, steps):
    distances = _bowl_run(get_optimizer(name, **hyperparameters))
    assert np.all(distances[steps:] < 1e-2)
    assert distances[-1] < 1e-6


def test_eve_with_f_star_at_f_min():
    """On the two-Gaussian bowl f_min ≈ −2.06, so the default f* = 0 is no lower bound: there
    the loss gap f − f* is floored and the feedback loses its reference (f̂ collapses). With
    f* = f_min it tracks the gap, and the run reaches the global minimum."""
    f_min = TWO_GAUSSIANS.f_min
    assert f_min < 0
    tracked = get_optimizer("eve", lr=0.01, f_star=f_min)
    result = core.run(TWO_GAUSSIANS, tracked, [0.5, 1.0], 300)
    assert result.outcome_names == ["global minimum"]
    assert abs(result.final_loss[0] - f_min) < 1e-6

    def feedback(optimizer):
        params, state = np.array([[0.5, 1.0]]), optimizer.init(np.zeros((1, 2)))
        ds = []
        for t in range(1, 301):
            params, state = optimizer.step(params, TWO_GAUSSIANS.gradient(params), state, t, loss=TWO_GAUSSIANS(params))
            ds.append(state.d[0])
        return np.array(ds), state.loss_hat[0]

    ds, loss_hat = feedback(tracked)
    assert np.all((ds > 0.8) & (ds <= 1.0)) and loss_hat > 1e-12
    ds, loss_hat = feedback(get_optimizer("eve", lr=0.01))
    assert loss_hat < 1e-100 and ds[-1] > 2.0


def test_internal_names_are_documented():
    for name in ("eve", "yellowfin"):
        _, internals = _drive(get_optimizer(name), "quadratic", (1.0, 1.0), 2)
        assert set(internals[-1]) <= set(INTERNALS)
    assert {"feedback d"} <= set(_drive(get_optimizer("eve"), "quadratic", (1.0, 1.0), 1)[1][0])
    assert {"tuned lr", "tuned momentum"} <= set(_drive(get_optimizer("yellowfin"), "quadratic", (1.0, 1.0), 1)[1][0])
