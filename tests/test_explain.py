"""core.explain: the worked update of one step, checked against the engine.

* for every optimizer at t = 1, 2, 10, 57: g_t is the gradient at x_{t−1}, x_t is core.run's
  points[t] (x_t is computed from the terms shown, so this checks the explanation against the
  code), g_t comes first and x_t last, the LaTeX holds each symbol and no NaN, and the
  quantities read off the state (m_t, v_t, b_t, …) are the state after step t as an
  independent recorder sees it;
* the same for variants that take other branches (weight decay, centering, no bias
  correction, a line search, averaging, …);
* gradient noise, schedules, divergence, bad t, number formatting, an optimizer without an
  explainer.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import pytest

import core
from core.explain import Term, _fmt, _num, explain_step
from core.optimizers import SGD

ROSENBROCK = core.get_function("rosenbrock")
HIMMELBLAU = core.get_function("himmelblau")
START = (-1.0, 1.5)
STEPS = (1, 2, 10, 57)

# Hyperparameters for which the run from START does not diverge within 57 steps.
SETTINGS = {name: {} for name in core.OPTIMIZERS} | {"asgd": {"lr": 1e-3, "t0": 5.0}}

# Branches the defaults do not take: (optimizer, hyperparameters, function).
VARIANTS = [
    ("sgd", {"lr": 1e-3, "weight_decay": 0.1}, ROSENBROCK),
    ("momentum", {"lr": 1e-3, "dampening": 0.3, "weight_decay": 0.1}, ROSENBROCK),
    ("nesterov", {"lr": 1e-3, "weight_decay": 0.1}, ROSENBROCK),
    ("rmsprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1}, ROSENBROCK),
    ("rmsprop", {"centered": True}, HIMMELBLAU),
    ("adam", {"lr": 0.01, "bias_correction": False, "weight_decay": 0.1}, ROSENBROCK),
    ("amsgrad", {"lr": 0.05, "weight_decay": 0.1}, HIMMELBLAU),
    ("adamw", {"lr": 0.05, "weight_decay": 0.5}, HIMMELBLAU),
    ("nadam", {"lr": 0.05, "decoupled_weight_decay": True, "weight_decay": 0.1}, HIMMELBLAU),
    ("nadam", {"lr": 0.05, "weight_decay": 0.1}, HIMMELBLAU),
    ("radam", {"lr": 0.05, "betas": (0.9, 0.9), "weight_decay": 0.1}, HIMMELBLAU),  # adaptive from t = 6
    ("radam", {"lr": 0.05, "betas": (0.9, 0.9), "decoupled_weight_decay": True, "weight_decay": 0.1}, HIMMELBLAU),
    ("adamax", {"lr": 0.05, "weight_decay": 0.1}, HIMMELBLAU),
    ("adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.5}, HIMMELBLAU),
    ("adadelta", {"weight_decay": 0.1}, HIMMELBLAU),
    ("lion", {"lr": 0.01, "weight_decay": 0.5}, HIMMELBLAU),
    ("eve", {"lr": 0.05, "f_star": -1.0}, HIMMELBLAU),
    ("yellowfin", {"lr": 1e-3, "momentum": 0.5, "curv_win_width": 3}, HIMMELBLAU),
    ("rprop", {"lr": 0.5}, HIMMELBLAU),  # large steps: signs flip
    ("asgd", {"lr": 0.01, "t0": 3.0, "lambd": 0.1, "weight_decay": 0.1}, HIMMELBLAU),
    ("adafactor", {"lr": 0.05, "weight_decay": 0.1}, HIMMELBLAU),
    ("lbfgs", {"line_search_fn": "strong_wolfe", "max_eval": 25}, ROSENBROCK),
    ("lbfgs", {"history_size": 3}, HIMMELBLAU),
    ("newton", {"damping": 0.5, "lr": 0.5}, HIMMELBLAU),
    ("newton", {}, core.get_function("saddle")),
]

# Terms read off the state: symbol -> state field, per optimizer.
STATE_TERMS = {
    "momentum": {"b_t": "momentum_buffer"},
    "nesterov": {"b_t": "momentum_buffer"},
    "rmsprop": {"v_t": "square_avg", r"\bar g_t": "grad_avg", "b_t": "momentum_buffer"},
    "adam": {"m_t": "exp_avg", "v_t": "exp_avg_sq"},
    "amsgrad": {"m_t": "exp_avg", "v_t": "exp_avg_sq", r"\hat v^{max}_t": "max_exp_avg_sq"},
    "adamw": {"m_t": "exp_avg", "v_t": "exp_avg_sq"},
    "nadam": {"m_t": "exp_avg", "v_t": "exp_avg_sq"},
    "radam": {"m_t": "exp_avg", "v_t": "exp_avg_sq"},
    "adamax": {"m_t": "exp_avg", "u_t": "exp_inf"},
    "adagrad": {"v_t": "sum"},
    "adadelta": {"v_t": "square_avg", "u_t": "acc_delta"},
    "lion": {"m_t": "exp_avg"},
    "adabelief": {"m_t": "exp_avg", "s_t": "exp_avg_var"},
    "eve": {"m_t": "exp_avg", "v_t": "exp_avg_sq", "d_t": "d", r"\hat f_t": "loss_hat"},
    "yellowfin": {r"\alpha_t": "tuned_lr", r"\mu_t": "tuned_momentum", r"\Delta x_t": "velocity"},
    "rprop": {r"\Delta_t": "step_size", "g'_t": "prev"},
    "asgd": {r"\bar a_t": "ax"},
    "adafactor": {"v_t": "variance", r"\hat\alpha_t": "step_scale"},
    "lbfgs": {"d_t": "d", r"\tau_t": "step_length"},
    "newton": {r"(\lambda_1, \lambda_2)": "curvatures"},
}
OPTIONAL = {"rmsprop": {r"\bar g_t", "b_t"}}  # shown only when centered, or with momentum


class _Spy:
    """An independent recorder: the gradient and the state after step `target`."""

    def __init__(self, optimizers, target):
        self.optimizers, self.target = optimizers, target
        self.needs_loss, self.needs_function = optimizers[0].needs_loss, optimizers[0].needs_function

    def init(self, params):
        return self.optimizers[0].init(params)

    def step(self, params, grad, state, t, loss=None, **extra):
        params, state = self.optimizers[t - 1].step(params, grad, state, t, loss=loss, **extra)
        if t == self.target:
            self.grad = np.array(grad).reshape(2)
            self.state = {name: np.array(value)[0] for name, value in state._asdict().items()}
        return params, state


def spy(function, optimizer, t, noise=0.0, seed=None, scheduler=None, start=START):
    optimizers = [optimizer] * t if scheduler is None else scheduler.optimizers(optimizer, t)
    recorder = _Spy(optimizers, t)
    core.run(function, recorder, np.array(start), t, noise=noise, seed=seed)
    return recorder


def check(terms, function, optimizer, t, noise=0.0, seed=None, scheduler=None, start=START):
    """The checks every explanation must pass; returns the terms by symbol."""
    result = core.run(function, optimizer, np.array(start), t + 3, noise=noise, seed=seed, scheduler=scheduler)
    assert result.diverged_at[0] < 0
    assert all(isinstance(term, Term) for term in terms)
    assert terms[0].symbol == "g_t" and terms[-1].symbol == "x_t"
    assert len({term.symbol for term in terms}) == len(terms)
    for term in terms:
        assert isinstance(term.latex, str) and term.symbol in term.latex, term
        assert "nan" not in term.latex.lower(), term.latex
        assert term.latex.startswith(term.symbol + " = "), term.latex
        assert term.name and isinstance(term.name, str)
        assert np.all(np.isfinite(term.value)), term
    np.testing.assert_allclose(terms[-1].value, result.points[t, 0], rtol=1e-12, atol=1e-12)
    recorded = spy(function, optimizer, t, noise, seed, scheduler, start)
    np.testing.assert_array_equal(terms[0].value, recorded.grad)
    if noise == 0:
        np.testing.assert_array_equal(terms[0].value, function.gradient(result.points[t - 1, 0]))
    shown = {term.symbol: term for term in terms}
    table = STATE_TERMS.get(optimizer.name, {})
    assert set(table) - OPTIONAL.get(optimizer.name, set()) <= set(shown), (set(table), set(shown))
    for symbol, field in table.items():
        if symbol in shown:
            np.testing.assert_array_equal(shown[symbol].value, recorded.state[field], err_msg=symbol)
    return shown


@pytest.mark.parametrize("t", STEPS)
@pytest.mark.parametrize("name", core.OPTIMIZERS)
def test_every_optimizer(name, t):
    optimizer = core.get_optimizer(name, **SETTINGS[name])
    shown = check(explain_step(ROSENBROCK, optimizer, START, t), ROSENBROCK, optimizer, t)
    if name in ("adam", "amsgrad", "adamw", "eve"):  # the bias-corrected moments are shown
        assert {r"\hat m_t", r"\hat v_t"} <= set(shown)
        np.testing.assert_allclose(shown[r"\hat m_t"].value, shown["m_t"].value / (1 - optimizer.betas[0] ** t),
                                   rtol=1e-15)


@pytest.mark.parametrize("t", STEPS)
@pytest.mark.parametrize("name, hyperparameters, function", VARIANTS,
                         ids=[f"{name}-{i}" for i, (name, _, _) in enumerate(VARIANTS)])
def test_variants(name, hyperparameters, function, t):
    optimizer = core.get_optimizer(name, **hyperparameters)
    start = (1.0, 1.0) if function.name == "saddle" else START
    shown = check(explain_step(function, optimizer, start, t), function, optimizer, t, start=start)
    weight_decay = hyperparameters.get("weight_decay", 0)
    decoupled = name in ("adamw", "lion", "adafactor") or hyperparameters.get("decoupled_weight_decay")
    if weight_decay:  # weight decay has its own term
        symbol = r"\tilde x_{t-1}" if decoupled else r"\tilde g_t"
        assert symbol in shown
        if not decoupled:
            np.testing.assert_array_equal(shown[symbol].value, shown["g_t"].value + weight_decay * np.array(
                core.run(function, optimizer, np.array(start), t).points[t - 1, 0]))


def test_variants_reach_their_branches():
    """The variants above do take the branches they are there for."""
    def symbols(name, hyperparameters, function, t, start=START):
        return {term.symbol for term in explain_step(function, core.get_optimizer(name, **hyperparameters), start, t)}

    assert {r"\bar g_t", "b_t"} <= symbols(*VARIANTS[3][:3], 10)
    assert "r_t" in symbols(*VARIANTS[10][:3], 10) and "r_t" not in symbols(*VARIANTS[10][:3], 2)
    rprop = [explain_step(HIMMELBLAU, core.get_optimizer("rprop", lr=0.5), START, t) for t in range(2, 30)]
    assert any(np.any(terms[1].value == 0.5) for terms in rprop)  # η₋: a sign flipped
    asgd = explain_step(HIMMELBLAU, core.get_optimizer(VARIANTS[19][0], **VARIANTS[19][1]), START, 10)
    assert r"\mu_t" in next(term.latex for term in asgd if term.symbol == r"\bar a_t")  # averaging has begun
    lbfgs = explain_step(ROSENBROCK, core.get_optimizer(VARIANTS[21][0], **VARIANTS[21][1]), START, 10)
    assert "strong-Wolfe" in next(term.latex for term in lbfgs if term.symbol == r"\tau_t")


@pytest.mark.parametrize("name", core.OPTIMIZERS)
def test_noise(name):
    optimizer = core.get_optimizer(name, **SETTINGS[name])
    t = 10
    terms = explain_step(ROSENBROCK, optimizer, START, t, noise=0.5, seed=3)
    check(terms, ROSENBROCK, optimizer, t, noise=0.5, seed=3)
    exact = ROSENBROCK.gradient(core.run(ROSENBROCK, optimizer, np.array(START), t, noise=0.5, seed=3).points[t - 1, 0])
    assert np.all(np.abs(terms[0].value - exact) > 1e-3)  # the noise is in g_t
    assert r"\sigma \xi_t" in terms[0].latex


@pytest.mark.parametrize("name", core.OPTIMIZERS)
def test_schedule(name):
    optimizer = core.get_optimizer(name, **SETTINGS[name])
    scheduler = core.get_scheduler("step_lr", step_size=4, gamma=0.5)
    t = 10
    terms = explain_step(ROSENBROCK, optimizer, START, t, scheduler=scheduler)
    check(terms, ROSENBROCK, optimizer, t, scheduler=scheduler)
    lr = scheduler.hyperparameters(optimizer, t)[t - 1]["lr"]
    assert lr == optimizer.lr * 0.25
    shown = {term.symbol: term for term in terms}
    assert shown[r"\gamma_t"].value == lr
    if name not in ("yellowfin", "rprop"):  # their lr only starts their own step sizes (tuned α, Δ)
        assert any(_num(lr) in term.latex for term in terms if term.symbol != r"\gamma_t")
    if name in ("sgd", "momentum", "adam"):
        assert rf"- {_num(lr)} \cdot" in terms[-1].latex


def test_schedule_cycles_the_momentum():
    optimizer = core.get_optimizer("adam", lr=0.01)
    scheduler = core.get_scheduler("one_cycle_lr", max_lr=0.05, total_steps=100)
    t = 20
    terms = explain_step(ROSENBROCK, optimizer, START, t, scheduler=scheduler)
    check(terms, ROSENBROCK, optimizer, t, scheduler=scheduler)
    step = scheduler.hyperparameters(optimizer, t)[t - 1]
    m_t = next(term for term in terms if term.symbol == "m_t")
    assert m_t.latex.split(" = ")[2].startswith(_num(step["betas"][0]) + r" \cdot")
    assert next(term for term in terms if term.symbol == r"\gamma_t").value == step["lr"]


def test_divergence_raises():
    optimizer = core.get_optimizer("asgd")  # lr = 0.01 diverges on Rosenbrock from START
    diverged_at = int(core.run(ROSENBROCK, optimizer, np.array(START), 20).diverged_at[0])
    assert diverged_at > 1
    explain_step(ROSENBROCK, optimizer, START, diverged_at - 1)
    for t in (diverged_at, diverged_at + 5):
        with pytest.raises(ValueError, match=f"diverged at step {diverged_at}.*t <= {diverged_at - 1}"):
            explain_step(ROSENBROCK, optimizer, START, t)


@pytest.mark.parametrize("t", [0, -1, 1.5, True, "3"])
def test_bad_step_raises(t):
    with pytest.raises(ValueError, match="t must be"):
        explain_step(ROSENBROCK, core.get_optimizer("adam"), START, t)


def test_numbers():
    assert _num(0.228) == "0.228" and _num(1.23456) == "1.235" and _num(-215.04) == "-215"
    assert _num(1e-8) == "10^{-8}" and _num(37981.2) == r"3.798 \times 10^{4}" and _num(-0.0) == "0"
    assert _fmt(np.array([0.12, -0.3])) == "(0.12, -0.3)" and _fmt(0.5) == "0.5"
    assert _fmt(np.eye(2)) == r"\begin{pmatrix} 1 & 0 \\ 0 & 1 \end{pmatrix}"


def test_adam_by_hand():
    lr, beta1, beta2, eps = 0.01, 0.9, 0.999, 1e-8
    x, m, v = np.array(START), np.zeros(2), np.zeros(2)
    for t in (1, 2):
        g = ROSENBROCK.gradient(x)
        m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g * g
        x = x - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    terms = explain_step(ROSENBROCK, core.get_optimizer("adam", lr=lr), START, 2)
    assert [term.symbol for term in terms] == ["g_t", "m_t", "v_t", r"\hat m_t", r"\hat v_t", "x_t"]
    np.testing.assert_allclose(terms[1].value, m, rtol=1e-14)
    np.testing.assert_allclose(terms[-1].value, x, rtol=1e-14)
    assert terms[1].latex.startswith(r"m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t = 0.9 \cdot (")


@dataclasses.dataclass(frozen=True, kw_only=True)
class _HalfSGD(SGD):
    """A user's optimizer: not in the table of explainers."""

    name: ClassVar[str] = "half_sgd"
    state = ("steps",)

    @staticmethod
    def update(x, g, steps, lr, weight_decay):
        return x - 0.5 * lr * g, steps + 1


def test_an_optimizer_without_explainer():
    optimizer = _HalfSGD(lr=1e-3)
    terms = explain_step(ROSENBROCK, optimizer, START, 5)
    assert [term.symbol for term in terms] == ["g_t", r"\mathrm{steps}_t", "x_t"]
    np.testing.assert_array_equal(terms[1].value, [5.0, 5.0])
    np.testing.assert_array_equal(terms[-1].value, core.run(ROSENBROCK, optimizer, np.array(START), 5).points[5, 0])
