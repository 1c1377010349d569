"""Tests of core.optimizers.

* Every optimizer torch.optim has is checked against torch's own trajectories
  (tests/data/reference_trajectories.npz, made by tests/data/make_reference.py).
* Lion and AdaBelief, which torch lacks, against their papers' algorithms written out below
  (Eve and YellowFin: tests/test_new_optimizers.py).
* The 2018 article's optimizers against its formulas as coded.
* Validation, purity and a descent check for every optimizer.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

import core
from core import OPTIMIZER_CLASSES, get_optimizer

REFERENCE = Path(__file__).parent / "data" / "reference_trajectories.npz"


# ---------------------------------------------------------------------------------------
# Against torch.optim
# ---------------------------------------------------------------------------------------
def _load_reference():
    with np.load(REFERENCE) as data:
        cases = json.loads(str(data["cases"]))
        return cases, data["starts"], data["points"]


CASES, STARTS, POINTS = _load_reference()


def _case_id(case: dict) -> str:
    hyper = ",".join(f"{k}={v}" for k, v in case["hyperparameters"].items()) or "defaults"
    b = case["function_params"].get("b") or case["function_params"].get("A")
    function = case["function"] + (f"({b:g})" if b is not None else "")
    return f"{case['optimizer']}-{function}-{hyper}"


@pytest.mark.parametrize("index", range(len(CASES)), ids=[_case_id(c) for c in CASES])
def test_matches_torch(index):
    """core.run's paths equal torch.optim's to 1e-9.

    They agree to ~1e-12 or better: torch's CPU kernels fuse some multiply-adds (addcmul,
    lerp, add with alpha), so a few roundings differ by an ulp, and such differences grow
    only on chaotic paths. The cases are chosen to avoid those; perturbing their starts by
    1e-13 moves the paths by at most ~1e-11. Left out for being chaotic (an ulp at the start
    becomes 1e-4..1 after 300 steps): Adadelta with its defaults on Rosenbrock b = 100
    (it bounces across the valley), Adamax with betas (0.3, 0.9) and centered RMSprop with
    momentum near Rosenbrock's minimum (tiny denominators), NAdam with betas (0.8, 0.9) on
    the article's Rastrigin (it hops between wells).
    """
    case = CASES[index]
    function = core.get_function(case["function"], **case["function_params"])
    optimizer = get_optimizer(case["optimizer"], **case["hyperparameters"])
    result = core.run(function, optimizer, STARTS[index], case["steps"])
    np.testing.assert_allclose(result.points, POINTS[index], rtol=1e-9, atol=1e-12)


NOT_IN_TORCH = {"lion", "adabelief", "eve", "yellowfin", "newton"}
OWN_REFERENCE = {"lbfgs"}  # against torch in its own test file (tests/test_lbfgs.py)


def test_reference_covers_every_torch_optimizer():
    torch_backed = set(core.OPTIMIZERS) - NOT_IN_TORCH - OWN_REFERENCE
    for name in torch_backed:
        cases = [c for c in CASES if c["optimizer"] == name]
        assert any(not set(c["hyperparameters"]) - {"lr"} for c in cases), f"{name}: no defaults case"
        assert any(set(c["hyperparameters"]) - {"lr"} for c in cases), f"{name}: no non-default case"
        functions = {(c["function"], c["function_params"].get("b")) for c in cases}
        assert len(functions) >= 3, f"{name}: only {functions}"


# ---------------------------------------------------------------------------------------
# Lion and AdaBelief against their papers, first three steps by hand
# ---------------------------------------------------------------------------------------
def _quadratic_gradient(x, y):
    """∇ of (x − 1)² + 10 y²."""
    return 2 * (x - 1), 20 * y


def _run_steps(optimizer, start, steps):
    params = np.array([start], dtype=float)
    state = optimizer.init(params)
    path = [params[0].copy()]
    for t in range(1, steps + 1):
        grad = np.stack(_quadratic_gradient(params[:, 0], params[:, 1]), axis=-1)
        params, state = optimizer.step(params, grad, state, t)
        path.append(params[0].copy())
    return np.array(path)


def _sign(c):
    return 0.0 if c == 0 else math.copysign(1.0, c)


def test_lion_matches_paper_algorithm():
    # Chen et al. 2023, Algorithm 2, with decoupled weight decay λ. From x = 0.95 the step
    # overshoots 1, so the sign of c changes between steps.
    lr, beta1, beta2, wd = 0.1, 0.9, 0.99, 0.5
    start = (0.95, -0.3)
    theta, m = list(start), [0.0, 0.0]
    expected = [tuple(start)]
    for _ in range(3):
        g = _quadratic_gradient(*theta)
        for i in range(2):
            c = beta1 * m[i] + (1 - beta1) * g[i]
            theta[i] = theta[i] - lr * (_sign(c) + wd * theta[i])
            m[i] = beta2 * m[i] + (1 - beta2) * g[i]
        expected.append(tuple(theta))
    path = _run_steps(get_optimizer("lion", lr=lr, betas=(beta1, beta2), weight_decay=wd), start, 3)
    np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-15)


def test_adabelief_matches_paper_algorithm():
    # Zhuang et al. 2020, Algorithm 2: ε is added to s_t and again to its square root.
    lr, beta1, beta2, eps = 0.1, 0.9, 0.999, 1e-3
    start = (0.2, 0.5)
    theta, m, s = list(start), [0.0, 0.0], [0.0, 0.0]
    expected = [tuple(start)]
    for t in range(1, 4):
        g = _quadratic_gradient(*theta)
        for i in range(2):
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            s[i] = beta2 * s[i] + (1 - beta2) * (g[i] - m[i]) ** 2 + eps
            m_hat = m[i] / (1 - beta1**t)
            s_hat = s[i] / (1 - beta2**t)
            theta[i] = theta[i] - lr * m_hat / (math.sqrt(s_hat) + eps)
        expected.append(tuple(theta))
    path = _run_steps(get_optimizer("adabelief", lr=lr, betas=(beta1, beta2), eps=eps), start, 3)
    np.testing.assert_allclose(path, expected, rtol=1e-12, atol=1e-15)


def test_asgd_keeps_the_average_of_its_points():
    """x̄_t = x_t until step t₀ + 1, then the mean of x_{t₀+2}, ..., x_t (torch's ax)."""
    t0 = 5
    asgd = get_optimizer("asgd", lr=0.01, t0=t0)
    params = np.array([[0.2, 0.5], [-1.0, 0.3]])
    state, path = asgd.init(params), [params]
    for t in range(1, 21):
        grad = np.stack(_quadratic_gradient(params[:, 0], params[:, 1]), axis=-1)
        params, state = asgd.step(params, grad, state, t)
        path.append(params)
        expected = params if t <= t0 + 1 else np.mean(path[t0 + 2:], axis=0)
        np.testing.assert_allclose(state.ax, expected, rtol=1e-13, atol=1e-15)


# ---------------------------------------------------------------------------------------
# The 2018 article's optimizers, as its code wrote them
# ---------------------------------------------------------------------------------------
ARTICLE_STARTS = np.array([[0.5, 1.0], [-1.5, -1.2], [1.6, 0.3]])


def _article_loop(update, state, steps):
    """The article's loop: x updated in place by `update(x, g, state)` for `steps` steps."""
    f = core.get_function("two_gaussians")
    x = ARTICLE_STARTS.copy()
    path = [x.copy()]
    for _ in range(steps):
        x, state = update(x, f.gradient(x), state)
        path.append(x.copy())
    return np.array(path)


def test_article_adam():
    lr, b1, b2, eps = 0.01, 0.7, 0.999, 1e-6

    def update(x, g, state):
        m, v = state
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        return x - lr * m / (np.sqrt(v) + eps), (m, v)

    expected = _article_loop(update, (0.0, 0.0), 100)
    adam = get_optimizer("adam", lr=lr, betas=(b1, b2), eps=eps, bias_correction=False)
    result = core.run(core.get_function("two_gaussians"), adam, ARTICLE_STARTS, 100)
    np.testing.assert_allclose(result.points, expected, rtol=1e-12, atol=1e-15)


def test_article_momentum():
    lr, mu = 0.01, 0.8

    def update(x, g, v):
        v = mu * v - lr * g
        return x + v, v

    expected = _article_loop(update, 0.0, 200)
    momentum = get_optimizer("momentum", lr=lr, momentum=mu)
    result = core.run(core.get_function("two_gaussians"), momentum, ARTICLE_STARTS, 200)
    np.testing.assert_allclose(result.points, expected, rtol=1e-12, atol=1e-15)


def test_article_rmsprop():
    lr, rho, eps = 0.01, 0.99, 1e-6

    def update(x, g, s):
        s = rho * s + (1 - rho) * g**2
        return x - lr * g / (np.sqrt(s) + eps), s

    expected = _article_loop(update, 0.0, 300)
    rmsprop = get_optimizer("rmsprop", lr=lr, alpha=rho, eps=eps)
    result = core.run(core.get_function("two_gaussians"), rmsprop, ARTICLE_STARTS, 300)
    np.testing.assert_allclose(result.points, expected, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------
NAN, INF = float("nan"), float("inf")
LR_RANGE = "accepted range (0.0, inf)"
NONNEGATIVE = "accepted range [0.0, inf)"
UNIT = "accepted range [0.0, 1.0)"

# Bad values of lr, for every optimizer.
COMMON = [
    ({"lr": 0.0}, f"invalid lr 0.0; {LR_RANGE}"),
    ({"lr": -0.1}, f"invalid lr -0.1; {LR_RANGE}"),
    ({"lr": NAN}, f"invalid lr nan; {LR_RANGE}"),
    ({"lr": INF}, f"invalid lr inf; {LR_RANGE}"),
    ({"lr": "0.1"}, "lr must be a number in (0.0, inf)"),
    ({"lr": None}, "lr must be a number in (0.0, inf)"),
    ({"lr": True}, "lr must be a number in (0.0, inf)"),
    ({"learning_rate": 0.1}, "unknown hyperparameter(s) learning_rate"),
]

BETAS = [
    ({"betas": (1.0, 0.999)}, f"invalid betas[0] 1.0; {UNIT}"),
    ({"betas": (-0.1, 0.999)}, f"invalid betas[0] -0.1; {UNIT}"),
    ({"betas": (0.9, 1.5)}, f"invalid betas[1] 1.5; {UNIT}"),
    ({"betas": (0.9, NAN)}, f"invalid betas[1] nan; {UNIT}"),
    ({"betas": (0.9,)}, "betas must be a pair"),
    ({"betas": 0.9}, "betas must be a pair"),
    ({"betas": ("0.9", 0.999)}, "betas[0] must be a number in [0.0, 1.0)"),
]


def _nonnegative(name):
    return [
        ({name: -1e-3}, f"invalid {name} -0.001; {NONNEGATIVE}"),
        ({name: INF}, f"invalid {name} inf; {NONNEGATIVE}"),
        ({name: NAN}, f"invalid {name} nan; {NONNEGATIVE}"),
    ]


def _flag(name):
    return [({name: "yes"}, f"{name} must be True or False"), ({name: 1}, f"{name} must be True or False")]


ADAM_FAMILY = BETAS + _nonnegative("eps") + _nonnegative("weight_decay")

SPECIFIC = {
    "sgd": _nonnegative("weight_decay"),
    "momentum": [
        ({"momentum": 1.0}, f"invalid momentum 1.0; {UNIT}"),
        ({"momentum": -0.5}, f"invalid momentum -0.5; {UNIT}"),
        ({"dampening": 1.0}, f"invalid dampening 1.0; {UNIT}"),
        *_nonnegative("weight_decay"),
    ],
    "nesterov": [
        ({"momentum": 0.0}, "invalid momentum 0.0; accepted range (0.0, 1.0)"),
        ({"momentum": 1.0}, "invalid momentum 1.0; accepted range (0.0, 1.0)"),
        ({"dampening": 0.1}, "unknown hyperparameter(s) dampening"),
        *_nonnegative("weight_decay"),
    ],
    "rmsprop": [
        ({"alpha": 1.0}, f"invalid alpha 1.0; {UNIT}"),
        ({"alpha": -0.1}, f"invalid alpha -0.1; {UNIT}"),
        ({"momentum": 1.0}, f"invalid momentum 1.0; {UNIT}"),
        *_nonnegative("eps"), *_nonnegative("weight_decay"), *_flag("centered"),
    ],
    "adam": ADAM_FAMILY + _flag("bias_correction"),
    "amsgrad": ADAM_FAMILY,
    "adamw": ADAM_FAMILY,
    "nadam": ADAM_FAMILY + _nonnegative("momentum_decay") + _flag("decoupled_weight_decay"),
    "radam": ADAM_FAMILY + _flag("decoupled_weight_decay"),
    "adamax": ADAM_FAMILY,
    "adagrad": [
        *_nonnegative("lr_decay"), *_nonnegative("weight_decay"),
        *_nonnegative("initial_accumulator_value"), *_nonnegative("eps"),
    ],
    "adadelta": [
        ({"rho": 1.5}, "invalid rho 1.5; accepted range [0.0, 1.0]"),
        ({"rho": -0.1}, "invalid rho -0.1; accepted range [0.0, 1.0]"),
        *_nonnegative("eps"), *_nonnegative("weight_decay"),
    ],
    "lion": BETAS + _nonnegative("weight_decay"),
    "adabelief": BETAS + _nonnegative("eps"),
    "eve": [
        ({"betas": (0.9, 0.999)}, "betas must be a triple"),
        ({"betas": (0.9, 0.999, 1.0)}, f"invalid betas[2] 1.0; {UNIT}"),
        ({"betas": (-0.1, 0.999, 0.999)}, f"invalid betas[0] -0.1; {UNIT}"),
        *_nonnegative("eps"),
        ({"lower_threshold": 0.0}, "invalid lower_threshold 0.0; accepted range (0.0, inf)"),
        ({"upper_threshold": 0.05}, "invalid upper_threshold 0.05; accepted range [0.1, inf)"),
        ({"f_star": NAN}, "invalid f_star nan"),
        ({"f_star": "0"}, "f_star must be a number"),
    ],
    "yellowfin": [
        ({"momentum": 1.0}, f"invalid momentum 1.0; {UNIT}"),
        ({"beta": 1.0}, f"invalid beta 1.0; {UNIT}"),
        ({"curv_win_width": 0}, "invalid curv_win_width 0; accepted: a whole number >= 1"),
        ({"curv_win_width": 2.5}, "invalid curv_win_width 2.5"),
    ],
    "rprop": [
        ({"etas": (0.5,)}, "etas must be a pair"),
        ({"etas": (0.0, 1.2)}, "invalid etas[0] 0.0; accepted range (0.0, 1.0)"),
        ({"etas": (1.0, 1.2)}, "invalid etas[0] 1.0; accepted range (0.0, 1.0)"),
        ({"etas": (0.5, 1.0)}, "invalid etas[1] 1.0; accepted range (1.0, inf)"),
        ({"step_sizes": 1e-6}, "step_sizes must be a pair"),
        ({"step_sizes": (-1.0, 50.0)}, f"invalid step_sizes[0] -1.0; {NONNEGATIVE}"),
        ({"step_sizes": (1.0, 0.5)}, "invalid step_sizes[1] 0.5; accepted range [1.0, inf)"),
    ],
    "asgd": _nonnegative("lambd") + _nonnegative("alpha") + _nonnegative("t0") + _nonnegative("weight_decay"),
    "adafactor": [
        ({"beta2_decay": 0.1}, "invalid beta2_decay 0.1; accepted range (-inf, 0.0]"),
        ({"beta2_decay": NAN}, "invalid beta2_decay nan"),
        ({"eps": 1e-3}, "eps must be a pair"),
        ({"eps": (-1.0, 1e-3)}, f"invalid eps[0] -1.0; {NONNEGATIVE}"),
        ({"eps": (None, -1e-3)}, f"invalid eps[1] -0.001; {NONNEGATIVE}"),
        ({"eps": ("1e-30", 1e-3)}, "eps[0] must be a number"),
        ({"d": 0.5}, "invalid d 0.5; accepted range [1.0, inf)"),
        *_nonnegative("weight_decay"),
    ],
    "lbfgs": [  # more in tests/test_lbfgs.py
        ({"history_size": 0}, "invalid history_size 0; accepted: a whole number in [1, 1000]"),
        ({"max_eval": 0}, "invalid max_eval 0; accepted: a whole number in [1, 100]"),
        *_nonnegative("tolerance_grad"), *_nonnegative("tolerance_change"),
        ({"line_search_fn": "wolfe"}, "invalid line_search_fn 'wolfe'; accepted: None or 'strong_wolfe'"),
    ],
    "newton": _nonnegative("damping"),  # more in tests/test_newton.py
}

VALIDATION = [(name, kwargs, message) for name in core.OPTIMIZERS for kwargs, message in COMMON + SPECIFIC[name]]


@pytest.mark.parametrize(
    "name, kwargs, message", VALIDATION, ids=[f"{n}-{k}" for n, k, _ in VALIDATION]
)
def test_rejects_bad_hyperparameters(name, kwargs, message):
    with pytest.raises(ValueError) as error:
        get_optimizer(name, **kwargs)
    assert message in str(error.value)
    assert str(error.value).startswith(f"{name}: ")


@pytest.mark.parametrize("name", core.OPTIMIZERS)
def test_validation_table_covers_every_hyperparameter(name):
    checked = {key for kwargs, _ in SPECIFIC[name] + COMMON for key in kwargs}
    assert {f.name for f in dataclasses.fields(OPTIMIZER_CLASSES[name])} <= checked


def test_accepts_edge_values():
    get_optimizer("adam", betas=(0.0, 0.0), eps=0.0, weight_decay=0.0)
    get_optimizer("adam", lr=np.float64(0.1), betas=[0.5, 0.5])
    get_optimizer("momentum", momentum=0.0)
    get_optimizer("adadelta", rho=1.0)
    get_optimizer("rmsprop", centered=True, lr=1)
    get_optimizer("rprop", step_sizes=(0.0, 0.0))
    get_optimizer("adafactor", eps=[0.0, 0.0], beta2_decay=0.0, d=1.0)


# ---------------------------------------------------------------------------------------
# Every optimizer: registry, purity, descent
# ---------------------------------------------------------------------------------------
def test_registry_order():
    assert core.OPTIMIZERS == (
        "sgd", "momentum", "nesterov", "rmsprop", "adam", "amsgrad", "adamw", "nadam", "radam",
        "adamax", "adagrad", "adadelta", "lion", "adabelief", "eve", "yellowfin", "rprop", "asgd", "adafactor",
        "lbfgs", "newton",
    )


@pytest.mark.parametrize("name", core.OPTIMIZERS)
def test_docstring_states_update_and_paper(name):
    doc = OPTIMIZER_CLASSES[name].__doc__
    assert "x_t = " in doc, "the update in math"
    assert re.search(r'"[^"]+"\s+\([^)]*\d{4}\)', doc), "the paper's title and year"


# Settings that reach every branch (momentum, centering, weight decay, ...).
BUSY = {
    "sgd": {"weight_decay": 0.1},
    "momentum": {"dampening": 0.1, "weight_decay": 0.1},
    "nesterov": {"weight_decay": 0.1},
    "rmsprop": {"momentum": 0.5, "centered": True, "weight_decay": 0.1},
    "adam": {"weight_decay": 0.1},
    "amsgrad": {"weight_decay": 0.1},
    "adamw": {},
    "nadam": {"weight_decay": 0.1, "decoupled_weight_decay": True},
    "radam": {"weight_decay": 0.1},
    "adamax": {"weight_decay": 0.1},
    "adagrad": {"lr_decay": 0.1, "weight_decay": 0.1, "initial_accumulator_value": 0.1},
    "adadelta": {"weight_decay": 0.1},
    "lion": {"weight_decay": 0.1},
    "adabelief": {},
    "eve": {"f_star": -1.0, "betas": (0.9, 0.999, 0.9)},
    "yellowfin": {"momentum": 0.5, "beta": 0.9, "curv_win_width": 3},
    "rprop": {"etas": (0.4, 1.3), "step_sizes": (1e-3, 0.5)},
    "asgd": {"lambd": 0.1, "t0": 2, "weight_decay": 0.1},
    "adafactor": {"eps": (1e-30, 1e-3), "d": 1.5, "weight_decay": 0.1},
    "lbfgs": {"history_size": 3},  # its line search needs the function: tests/test_lbfgs.py
    "newton": {"damping": 0.1},
}
BOWL = core.get_function("rastrigin", A=0.0)  # f = x² + y²


def _loss(optimizer, rng, n):
    """A loss for optimizers that need one (Eve), None for the others."""
    return rng.uniform(0.0, 2.0, size=n) if optimizer.needs_loss else None


def _function(optimizer) -> dict:
    """function= for optimizers that need the test function (Newton's Hessian): the bowl."""
    return {"function": BOWL} if optimizer.needs_function else {}


@pytest.mark.parametrize("name", core.OPTIMIZERS)
def test_step_is_pure_and_deterministic(name):
    optimizer = get_optimizer(name, lr=0.01, **BUSY[name])
    rng = np.random.default_rng(0)
    params = rng.normal(size=(5, 2))
    state = optimizer.init(params)
    for t in range(1, 8):  # past RAdam's warm-up (ρ_t > 5 from t = 6)
        params, state = optimizer.step(params, rng.normal(size=(5, 2)), state, t, loss=_loss(optimizer, rng, 5),
                                       **_function(optimizer))
        for array in state:
            assert array.shape[0] == 5 and array.ndim in (1, 2, 3), "per-point state"  # 3: L-BFGS's history
    grad, loss = rng.normal(size=(5, 2)), _loss(optimizer, rng, 5)
    copies = params.copy(), grad.copy(), [a.copy() for a in state]
    first = optimizer.step(params, grad, state, 8, loss=loss, **_function(optimizer))
    second = optimizer.step(params, grad, state, 8, loss=loss, **_function(optimizer))
    np.testing.assert_array_equal(first[0], second[0])
    for a, b in zip(first[1], second[1]):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(params, copies[0])
    np.testing.assert_array_equal(grad, copies[1])
    for a, b in zip(state, copies[2]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", core.OPTIMIZERS)
def test_points_are_independent(name):
    """Stepping points together equals stepping each alone (the engine drops points)."""
    optimizer = get_optimizer(name, lr=0.01, **BUSY[name])
    rng = np.random.default_rng(1)
    params, grads = rng.normal(size=(3, 2)), rng.normal(size=(4, 3, 2))
    losses = rng.uniform(0.0, 2.0, size=(4, 3))
    together, state = params, optimizer.init(params)
    for t, (grad, loss) in enumerate(zip(grads, losses), start=1):
        together, state = optimizer.step(together, grad, state, t, loss=loss, **_function(optimizer))
    for i in range(3):
        alone, state = params[i : i + 1], optimizer.init(params[i : i + 1])
        for t, (grad, loss) in enumerate(zip(grads, losses), start=1):
            alone, state = optimizer.step(alone, grad[i : i + 1], state, t, loss=loss[i : i + 1], **_function(optimizer))
        np.testing.assert_array_equal(alone[0], together[i])


@pytest.mark.parametrize("name", core.OPTIMIZERS)
def test_defaults_descend_a_bowl(name):
    """f = x² + y² from (1, 1): lower after 100 steps with every default hyperparameter."""
    optimizer = get_optimizer(name)
    params = np.array([[1.0, 1.0]])
    state = optimizer.init(params)
    for t in range(1, 101):
        params, state = optimizer.step(params, 2 * params, state, t, loss=np.sum(params**2, axis=-1),
                                       **_function(optimizer))
    assert np.sum(params**2) < 2.0
