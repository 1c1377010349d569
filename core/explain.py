r"""One step of a run, worked out: each quantity of the update with its formula and numbers.

    >>> f = get_function("rosenbrock")
    >>> for term in explain_step(f, get_optimizer("adam", lr=0.01), start=(-1.0, 1.5), t=3):
    ...     print(term.latex)
    g_t = \nabla f(x_{t-1}) = \nabla f(…) = (…)
    m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t = 0.9 \cdot (…) + 0.1 \cdot (…) = (…)
    …
    x_t = x_{t-1} - \gamma \hat m_t / (\sqrt{\hat v_t} + \epsilon) = … = (…)

The numbers are the engine's own: the run is `core.run(..., record=True)` itself, with the
optimizer wrapped in a recorder (as core.inside does) that keeps, at step t, the point x_{t−1},
the gradient the step used (its noise included), the state before and after the step and the
step's optimizer (a schedule's, with that step's hyperparameters) and coefficients.

The quantities an optimizer keeps (m_t, v_t, b_t, …) are read off its state after the step.
Quantities it does not keep (the bias-corrected m̂_t, v̂_t, Adadelta's Δ_t, Lion's c_t, …) are
computed from the recorded state and coefficients, and x_t is computed from the terms shown:
so the explanation is checked against the code, since that x_t must equal the engine's
(tests/test_explain.py checks it for every optimizer).

Per optimizer, one small function (`_EXPLAINERS`) lists its terms; an optimizer not listed (a
user's subclass) gets its gradient, its state fields after the step by name, and x_t.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable, NamedTuple

import numpy as np

from . import optimizers as opt
from .engine import run
from .functions import TestFunction
from .optimizers import Optimizer
from .schedulers import Scheduler


class Term(NamedTuple):
    """One quantity of the step: its LaTeX symbol, the formula with the step's numbers put in
    (`symbol = formula = numbers = result`), its value (shape (2,) for a vector, a float for a
    scalar, (2, 2) for Newton's Hessian) and what it is, in words."""

    symbol: str
    latex: str
    value: np.ndarray | float
    name: str


# ---------------------------------------------------------------------------------------
# Numbers in LaTeX: 4 significant digits, vectors as (a, b)
# ---------------------------------------------------------------------------------------
def _num(value) -> str:
    """A number with 4 significant digits; 1e-08 as 10^{-8}, 1.5e+05 as 1.5 \\times 10^{5}."""
    value = float(value)
    if math.isnan(value):
        return r"\mathrm{NaN}"
    if math.isinf(value):
        return r"\infty" if value > 0 else r"-\infty"
    text = f"{value:.4g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        power = f"10^{{{int(exponent)}}}"
        text = power if mantissa == "1" else "-" + power if mantissa == "-1" else rf"{mantissa} \times {power}"
    return "0" if text == "-0" else text


def _fmt(value) -> str:
    """A scalar, a vector (a, b) or a 2×2 matrix."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 0 or array.size == 1:
        return _num(array.reshape(-1)[0])
    if array.ndim == 2:
        rows = r" \\ ".join(" & ".join(_num(v) for v in row) for row in array)
        return rf"\begin{{pmatrix}} {rows} \end{{pmatrix}}"
    return "(" + ", ".join(_num(v) for v in array.reshape(-1)) + ")"


# ---------------------------------------------------------------------------------------
# The recording
# ---------------------------------------------------------------------------------------
class _Recorder:
    """Stands in for the optimizer in `run` (one start): step t goes to optimizers[t − 1]; at
    step `target` it keeps the point, gradient, loss and state before, and the point and state
    after."""

    def __init__(self, optimizers: list[Optimizer], target: int):
        self.optimizers, self.target = optimizers, target
        self.needs_loss, self.needs_function = optimizers[0].needs_loss, optimizers[0].needs_function
        self.seen: dict | None = None

    def init(self, params):
        return self.optimizers[0].init(params)

    def step(self, params, grad, state, t, loss=None, **function):
        optimizer = self.optimizers[t - 1]
        before = type(state)(*(np.array(a, copy=True) for a in state))
        x, g = np.array(params, dtype=float).reshape(2), np.array(grad, dtype=float).reshape(2)
        new_params, new_state = optimizer.step(params, grad, state, t, loss=loss, **function)
        if t == self.target:
            self.seen = {
                "optimizer": optimizer, "x": x, "g": g, "before": before,
                "after": type(new_state)(*(np.array(a, copy=True) for a in new_state)),
                "x_new": np.array(new_params, dtype=float).reshape(2),
                "loss": None if loss is None else float(np.ravel(loss)[0]),
            }
        return new_params, new_state


def _one(value):
    """The start's entry of a per-point state array: a float for (1,), an array otherwise."""
    value = np.asarray(value)[0]
    return float(value) if value.ndim == 0 else np.array(value, dtype=float)


class _Step:
    """The recorded step t, and the terms explaining it as they are added. `G`, `Gs` are the
    gradient the update uses and its symbol (g_t, or g̃_t with coupled weight decay), `X`, `Xs`
    the point it moves from (x_{t−1}, or x̃_{t−1} with decoupled weight decay)."""

    def __init__(self, function: TestFunction, t: int, seen: dict):
        self.function, self.t = function, t
        self.optimizer: Optimizer = seen["optimizer"]
        self.x, self.g, self.loss = seen["x"], seen["g"], seen["loss"]
        self.after_state = seen["after"]
        self.b = {name: _one(value) for name, value in seen["before"]._asdict().items()}
        self.a = {name: _one(value) for name, value in seen["after"]._asdict().items()}
        self.recorded = seen["x_new"]
        try:
            self.c = tuple(self.optimizer.coefficients(t))
        except NotImplementedError:
            self.c = None
        self.G, self.Gs, self.X, self.Xs = self.g, "g_t", self.x, "x_{t-1}"
        self.terms: list[Term] = []

    def add(self, symbol: str, parts: list[str], value, name: str):
        """Term `symbol = parts… = value`; returns the value."""
        value = float(value) if np.ndim(value) == 0 else np.array(value, dtype=float)
        self.terms.append(Term(symbol, " = ".join([symbol, *parts, _fmt(value)]), value, name))
        return value

    def coupled(self, weight_decay: float) -> None:
        """L2 weight decay, g̃_t = g_t + λ x_{t−1}, as `weight_decayed` computes it."""
        if weight_decay != 0:
            self.G = self.add(r"\tilde g_t", [r"g_t + \lambda x_{t-1}",
                                              rf"{_fmt(self.g)} + {_num(weight_decay)} \cdot {_fmt(self.x)}"],
                              self.g + weight_decay * self.x, "the gradient with weight decay λ added")
            self.Gs = r"\tilde g_t"

    def decoupled(self, lr: float, weight_decay: float) -> None:
        """Decoupled weight decay, x̃_{t−1} = (1 − γλ) x_{t−1}, as `weight_decayed` computes it."""
        if weight_decay != 0:
            self.X = self.add(r"\tilde x_{t-1}", [r"(1 - \gamma\lambda)\, x_{t-1}",
                                                  rf"(1 - {_num(lr)} \cdot {_num(weight_decay)}) \cdot {_fmt(self.x)}"],
                              self.x * (1 - lr * weight_decay), "the point shrunk by decoupled weight decay")
            self.Xs = r"\tilde x_{t-1}"


    def ema(self, symbol: str, field: str, decay: float, beta: str, name: str, square: bool = False) -> np.ndarray:
        """A running average read off the state: s_t = β s_{t−1} + (1 − β) g_t (or g_t²), with
        s_{t−1} the state before the step."""
        power, shown = ("^2", f"{_fmt(self.G)}^2") if square else ("", _fmt(self.G))
        previous = symbol.replace("_t", "_{t-1}")
        return self.add(symbol, [rf"{beta} {previous} + (1 - {beta}) {self.Gs}{power}",
                                 rf"{_num(decay)} \cdot {_fmt(self.b[field])} + {_num(1 - decay)} \cdot {shown}"],
                        self.a[field], name)

    def moments(self, beta1: float, beta2: float) -> tuple[np.ndarray, np.ndarray]:
        """Adam's m_t and v_t, from the state."""
        m = self.ema("m_t", "exp_avg", beta1, r"\beta_1", "first moment: running average of the gradient")
        v = self.ema("v_t", "exp_avg_sq", beta2, r"\beta_2",
                     "second moment: running average of the squared gradient", square=True)
        return m, v

    def corrected(self, symbol: str, raw: str, value, beta: float, beta_symbol: str, name: str) -> np.ndarray:
        """A bias-corrected moment, value / (1 − βᵗ)."""
        return self.add(rf"\hat {symbol}", [rf"{raw} / (1 - {beta_symbol}^t)",
                                            rf"{_fmt(value)} / (1 - {_num(beta)}^{{{self.t}}})"],
                        value / (1 - beta**self.t), name)


Explained = tuple[str, str, np.ndarray]  # x_t's formula, the same with numbers, its value


# ---------------------------------------------------------------------------------------
# Per optimizer: its terms, read off the state and coefficients, and x_t from them
# ---------------------------------------------------------------------------------------
def _sgd(s: _Step) -> Explained:
    lr, weight_decay = s.c
    s.coupled(weight_decay)
    return (rf"{s.Xs} - \gamma {s.Gs}", rf"{_fmt(s.X)} - {_num(lr)} \cdot {_fmt(s.G)}", s.X - lr * s.G)


def _buffer(s: _Step, momentum: float, dampening: float, first: bool) -> np.ndarray:
    """torch's momentum buffer b_t, from the state."""
    name = "momentum buffer"
    if first:
        return s.add("b_t", [s.Gs], s.a["momentum_buffer"], name + " (the first step's gradient)")
    damped = "" if dampening == 0 else rf"(1 - \tau)\, "
    return s.add("b_t", [rf"\mu b_{{t-1}} + {damped}{s.Gs}",
                         rf"{_num(momentum)} \cdot {_fmt(s.b['momentum_buffer'])} + "
                         + ("" if dampening == 0 else rf"{_num(1 - dampening)} \cdot ") + _fmt(s.G)],
                 s.a["momentum_buffer"], name)


def _momentum(s: _Step) -> Explained:
    lr, momentum, dampening, weight_decay, first = s.c
    s.coupled(weight_decay)
    b = _buffer(s, momentum, dampening, first)
    return (rf"{s.Xs} - \gamma b_t", rf"{_fmt(s.X)} - {_num(lr)} \cdot {_fmt(b)}", s.X - lr * b)


def _nesterov(s: _Step) -> Explained:
    lr, momentum, weight_decay, first = s.c
    s.coupled(weight_decay)
    b = _buffer(s, momentum, 0.0, first)
    return (rf"{s.Xs} - \gamma ({s.Gs} + \mu b_t)",
            rf"{_fmt(s.X)} - {_num(lr)} \cdot ({_fmt(s.G)} + {_num(momentum)} \cdot {_fmt(b)})",
            s.X - lr * (s.G + momentum * b))


def _rmsprop(s: _Step) -> Explained:
    lr, alpha, eps, weight_decay, momentum, centered = s.c
    s.coupled(weight_decay)
    v = s.ema("v_t", "square_avg", alpha, r"\alpha", "running average of the squared gradient", square=True)
    if centered:
        mean = s.ema(r"\bar g_t", "grad_avg", alpha, r"\alpha", "running average of the gradient (centered)")
        denominator, symbol = np.sqrt(v - mean * mean) + eps, r"\sqrt{v_t - \bar g_t^2} + \epsilon"
    else:
        denominator, symbol = np.sqrt(v) + eps, r"\sqrt{v_t} + \epsilon"
    if momentum > 0:
        b = s.add("b_t", [rf"\mu b_{{t-1}} + {s.Gs} / ({symbol})",
                          rf"{_num(momentum)} \cdot {_fmt(s.b['momentum_buffer'])} + {_fmt(s.G)} / {_fmt(denominator)}"],
                  s.a["momentum_buffer"], "momentum buffer of the scaled gradients")
        return (rf"{s.Xs} - \gamma b_t", rf"{_fmt(s.X)} - {_num(lr)} \cdot {_fmt(b)}", s.X - lr * b)
    return (rf"{s.Xs} - \gamma {s.Gs} / ({symbol})",
            rf"{_fmt(s.X)} - {_num(lr)} \cdot {_fmt(s.G)} / {_fmt(denominator)}", s.X - lr * s.G / denominator)


def _adam(s: _Step) -> Explained:
    """Adam, AdamW and AMSGrad (whose state adds max_exp_avg_sq)."""
    _, _, beta1, beta2, eps, weight_decay, lr, decoupled = s.c
    s.decoupled(lr, weight_decay) if decoupled else s.coupled(weight_decay)
    m, v = s.moments(beta1, beta2)
    second, second_symbol = v, "v_t"
    if "max_exp_avg_sq" in s.a:
        second = s.add(r"\hat v^{max}_t", [r"\max(\hat v^{max}_{t-1}, v_t)",
                                           rf"\max({_fmt(s.b['max_exp_avg_sq'])}, {_fmt(v)})"],
                       s.a["max_exp_avg_sq"], "the largest second moment so far")
        second_symbol = r"\hat v^{max}_t"
    if not getattr(s.optimizer, "bias_correction", True):
        return (rf"{s.Xs} - \gamma m_t / (\sqrt{{{second_symbol}}} + \epsilon)",
                rf"{_fmt(s.X)} - {_num(lr)} \cdot {_fmt(m)} / (\sqrt{{{_fmt(second)}}} + {_num(eps)})",
                s.X - lr * m / (np.sqrt(second) + eps))
    m_hat = s.corrected("m_t", "m_t", m, beta1, r"\beta_1", "bias-corrected first moment")
    v_hat = s.corrected("v_t", second_symbol, second, beta2, r"\beta_2", "bias-corrected second moment")
    return (rf"{s.Xs} - \gamma \hat m_t / (\sqrt{{\hat v_t}} + \epsilon)",
            rf"{_fmt(s.X)} - {_num(lr)} \cdot {_fmt(m_hat)} / (\sqrt{{{_fmt(v_hat)}}} + {_num(eps)})",
            s.X - lr * m_hat / (np.sqrt(v_hat) + eps))


def _nadam(s: _Step) -> Explained:
    mu, mu_next, correction2, beta1, beta2, eps, weight_decay, lr, decoupled = s.c
    s.decoupled(lr, weight_decay) if decoupled else s.coupled(weight_decay)
    psi, t = s.optimizer.momentum_decay, s.t
    s.add(r"\mu_t", [r"\beta_1 (1 - 0.5 \cdot 0.96^{t\psi})", rf"{_num(beta1)} \cdot (1 - 0.5 \cdot 0.96^{{{t} \cdot {_num(psi)}}})"],
          mu, "momentum of this step (the schedule of μ)")
    s.add(r"\mu_{t+1}", [r"\beta_1 (1 - 0.5 \cdot 0.96^{(t+1)\psi})",
                         rf"{_num(beta1)} \cdot (1 - 0.5 \cdot 0.96^{{{t + 1} \cdot {_num(psi)}}})"],
          mu_next, "momentum of the next step")
    product = s.a["mu_product"]
    s.add(r"\Pi_t", [r"\Pi_{t-1} \mu_t", rf"{_num(s.b['mu_product'][0])} \cdot {_num(mu)}"], product[0],
          "product of the momenta so far")
    m, v = s.moments(beta1, beta2)
    m_hat = s.add(r"\hat m_t", [rf"\frac{{(1 - \mu_t) {s.Gs}}}{{1 - \Pi_t}} + \frac{{\mu_{{t+1}} m_t}}{{1 - \Pi_t \mu_{{t+1}}}}",
                                rf"\frac{{{_num(1 - mu)} \cdot {_fmt(s.G)}}}{{{_num(1 - product[0])}}} + "
                                rf"\frac{{{_num(mu_next)} \cdot {_fmt(m)}}}{{{_num(1 - product[0] * mu_next)}}}"],
                  (1 - mu) * s.G / (1 - product) + mu_next * m / (1 - product * mu_next),
                  "Nesterov's look-ahead mix of the gradient and the first moment")
    v_hat = s.add(r"\hat v_t", [r"v_t / (1 - \beta_2^t)", rf"{_fmt(v)} / {_num(correction2)}"], v / correction2,
                  "bias-corrected second moment")
    return (rf"{s.Xs} - \gamma \hat m_t / (\sqrt{{\hat v_t}} + \epsilon)",
            rf"{_fmt(s.X)} - {_num(lr)} \cdot {_fmt(m_hat)} / (\sqrt{{{_fmt(v_hat)}}} + {_num(eps)})",
            s.X - lr * m_hat / (np.sqrt(v_hat) + eps))


def _radam(s: _Step) -> Explained:
    correction1, root_correction2, adaptive, rect, beta1, beta2, eps, weight_decay, lr, decoupled = s.c
    s.decoupled(lr, weight_decay) if decoupled else s.coupled(weight_decay)
    m, v = s.moments(beta1, beta2)
    m_hat = s.corrected("m_t", "m_t", m, beta1, r"\beta_1", "bias-corrected first moment")
    t = s.t
    rho_inf = 2 / (1 - beta2) - 1
    s.add(r"\rho_t", [r"\rho_\infty - 2t\beta_2^t / (1 - \beta_2^t)",
                      rf"{_num(rho_inf)} - 2 \cdot {t} \cdot {_num(beta2)}^{{{t}}} / (1 - {_num(beta2)}^{{{t}}})"],
          rho_inf - 2 * t * beta2**t / (1 - beta2**t), "length of the approximated moving average (adaptive once > 5)")
    if not adaptive:
        return (rf"{s.Xs} - \gamma \hat m_t \quad (\rho_t \le 5)", rf"{_fmt(s.X)} - {_num(lr)} \cdot {_fmt(m_hat)}",
                s.X - m_hat * lr)
    s.add("r_t", [r"\sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}{(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}}"], rect,
          "variance rectification")
    return (rf"{s.Xs} - \gamma \hat m_t r_t \sqrt{{1 - \beta_2^t}} / (\sqrt{{v_t}} + \epsilon)",
            rf"{_fmt(s.X)} - {_num(lr)} \cdot {_fmt(m_hat)} \cdot {_num(rect)} \cdot {_num(root_correction2)} / "
            rf"(\sqrt{{{_fmt(v)}}} + {_num(eps)})",
            s.X - m_hat * lr * (root_correction2 / (np.sqrt(v) + eps)) * rect)


def _adamax(s: _Step) -> Explained:
    _, beta1, beta2, eps, weight_decay, lr = s.c
    s.coupled(weight_decay)
    m = s.ema("m_t", "exp_avg", beta1, r"\beta_1", "first moment: running average of the gradient")
    u = s.add("u_t", [rf"\max(\beta_2 u_{{t-1}}, |{s.Gs}| + \epsilon)",
                      rf"\max({_num(beta2)} \cdot {_fmt(s.b['exp_inf'])}, |{_fmt(s.G)}| + {_num(eps)})"],
              s.a["exp_inf"], "infinity norm: decaying maximum of |g|")
    m_hat = s.corrected("m_t", "m_t", m, beta1, r"\beta_1", "bias-corrected first moment")
    return (rf"{s.Xs} - \gamma \hat m_t / u_t", rf"{_fmt(s.X)} - {_num(lr)} \cdot {_fmt(m_hat)} / {_fmt(u)}",
            s.X - lr * m_hat / u)


def _adagrad(s: _Step) -> Explained:
    step_size, eps, weight_decay, lr = s.c
    s.coupled(weight_decay)
    v = s.add("v_t", [rf"v_{{t-1}} + {s.Gs}^2", rf"{_fmt(s.b['sum'])} + {_fmt(s.G)}^2"], s.a["sum"],
              "sum of the squared gradients so far")
    rate = r"\gamma" if s.optimizer.lr_decay == 0 else r"\frac{\gamma}{1 + (t - 1)\eta}"
    return (rf"{s.Xs} - {rate} {s.Gs} / (\sqrt{{v_t}} + \epsilon)",
            rf"{_fmt(s.X)} - {_num(step_size)} \cdot {_fmt(s.G)} / (\sqrt{{{_fmt(v)}}} + {_num(eps)})",
            s.X - step_size * s.G / (np.sqrt(v) + eps))


def _adadelta(s: _Step) -> Explained:
    lr, rho, eps, weight_decay = s.c
    s.coupled(weight_decay)
    v = s.ema("v_t", "square_avg", rho, r"\rho", "running average of the squared gradient", square=True)
    delta = s.add(r"\Delta_t", [rf"\sqrt{{u_{{t-1}} + \epsilon}} / \sqrt{{v_t + \epsilon}} \cdot {s.Gs}",
                                rf"\sqrt{{{_fmt(s.b['acc_delta'])} + {_num(eps)}}} / \sqrt{{{_fmt(v)} + {_num(eps)}}}"
                                rf" \cdot {_fmt(s.G)}"],
                  np.sqrt(s.b["acc_delta"] + eps) / np.sqrt(v + eps) * s.G, "the step, in the units of x")
    s.add("u_t", [r"\rho u_{t-1} + (1 - \rho) \Delta_t^2",
                  rf"{_num(rho)} \cdot {_fmt(s.b['acc_delta'])} + {_num(1 - rho)} \cdot {_fmt(delta)}^2"],
          s.a["acc_delta"], "running average of the squared steps")
    return (rf"{s.Xs} - \gamma \Delta_t", rf"{_fmt(s.X)} - {_num(lr)} \cdot {_fmt(delta)}", s.X - lr * delta)


def _lion(s: _Step) -> Explained:
    lr, beta1, beta2, weight_decay = s.c
    c = s.add("c_t", [r"\beta_1 m_{t-1} + (1 - \beta_1) g_t",
                      rf"{_num(beta1)} \cdot {_fmt(s.b['exp_avg'])} + {_num(1 - beta1)} \cdot {_fmt(s.g)}"],
              beta1 * s.b["exp_avg"] + (1 - beta1) * s.g, "interpolated momentum")
    direction = s.add(r"\operatorname{sign}(c_t)", [], np.sign(c), "the step's direction: every coordinate moves by γ")
    s.decoupled(lr, weight_decay)
    s.ema("m_t", "exp_avg", beta2, r"\beta_2", "momentum: running average of the gradient")
    return (rf"{s.Xs} - \gamma \operatorname{{sign}}(c_t)", rf"{_fmt(s.X)} - {_num(lr)} \cdot {_fmt(direction)}",
            s.X - lr * direction)


def _adabelief(s: _Step) -> Explained:
    lr, beta1, beta2, eps, correction1, correction2 = s.c
    m = s.ema("m_t", "exp_avg", beta1, r"\beta_1", "first moment: running average of the gradient")
    spread = s.add("s_t", [r"\beta_2 s_{t-1} + (1 - \beta_2)(g_t - m_t)^2 + \epsilon",
                           rf"{_num(beta2)} \cdot {_fmt(s.b['exp_avg_var'])} + {_num(1 - beta2)} \cdot "
                           rf"({_fmt(s.g)} - {_fmt(m)})^2 + {_num(eps)}"],
                   s.a["exp_avg_var"], "belief: running average of (g − m)²")
    m_hat = s.add(r"\hat m_t", [r"m_t / (1 - \beta_1^t)", rf"{_fmt(m)} / {_num(correction1)}"], m / correction1,
                  "bias-corrected first moment")
    s_hat = s.add(r"\hat s_t", [r"s_t / (1 - \beta_2^t)", rf"{_fmt(spread)} / {_num(correction2)}"],
                  spread / correction2, "bias-corrected belief")
    return (r"x_{t-1} - \gamma \hat m_t / (\sqrt{\hat s_t} + \epsilon)",
            rf"{_fmt(s.X)} - {_num(lr)} \cdot {_fmt(m_hat)} / (\sqrt{{{_fmt(s_hat)}}} + {_num(eps)})",
            s.X - lr * m_hat / (np.sqrt(s_hat) + eps))


def _eve(s: _Step) -> Explained:
    o = s.optimizer
    beta1, beta2, beta3 = o.betas
    m, v = s.moments(beta1, beta2)
    gap = s.add(r"\phi_t", [r"f(x_{t-1}) - f^*", rf"{_num(s.loss)} - {_num(o.f_star)}"],
                max(s.loss - o.f_star, float(np.finfo(float).tiny)), "the loss above its lower bound f*")
    loss_hat, d = s.a["loss_hat"], s.a["d"]
    if s.t == 1:
        s.add(r"\hat f_t", [r"\phi_1"], loss_hat, "smoothed loss")
        s.add("d_t", [], d, "feedback: d₁ = 1")
    else:
        previous = s.b["loss_hat"]
        k, big_k = o.lower_threshold, o.upper_threshold
        low, high = (k + 1, big_k + 1) if gap >= previous else (1 / (big_k + 1), 1 / (k + 1))
        s.add(r"\hat f_t", [r"\min(\max(\delta, \phi_t / \hat f_{t-1}), \Delta)\, \hat f_{t-1}",
                            rf"\min(\max({_num(low)}, {_num(gap)} / {_num(previous)}), {_num(high)}) \cdot {_num(previous)}"],
              loss_hat, "smoothed loss, its change clipped")
        r = s.add("r_t", [r"|\hat f_t - \hat f_{t-1}| / \min(\hat f_t, \hat f_{t-1})",
                          rf"|{_num(loss_hat)} - {_num(previous)}| / \min({_num(loss_hat)}, {_num(previous)})"],
                  abs(loss_hat - previous) / min(loss_hat, previous), "relative change of the smoothed loss")
        s.add("d_t", [r"\beta_3 d_{t-1} + (1 - \beta_3) r_t",
                      rf"{_num(beta3)} \cdot {_num(s.b['d'])} + {_num(1 - beta3)} \cdot {_num(r)}"],
              d, "feedback: running average of r, divides the step")
    m_hat = s.corrected("m_t", "m_t", m, beta1, r"\beta_1", "bias-corrected first moment")
    v_hat = s.corrected("v_t", "v_t", v, beta2, r"\beta_2", "bias-corrected second moment")
    return (r"x_{t-1} - \gamma \hat m_t / (d_t \sqrt{\hat v_t} + \epsilon)",
            rf"{_fmt(s.X)} - {_num(o.lr)} \cdot {_fmt(m_hat)} / ({_num(d)} \cdot \sqrt{{{_fmt(v_hat)}}} + {_num(o.eps)})",
            s.X - o.lr * m_hat / (d * np.sqrt(v_hat) + o.eps))


def _yellowfin(s: _Step) -> Explained:
    o, beta = s.optimizer, s.optimizer.beta
    s.add("h_t", [r"\|g_t\|^2"], float(np.sum(s.g * s.g)), "curvature sample: the squared gradient norm")
    h_min, h_max, variance, distance = (float(e[0]) for e in o.estimates(s.after_state, s.t))
    s.add(r"h_{\min}", [], h_min, "smallest curvature (debiased running average over the window)")
    s.add(r"h_{\max}", [], h_max, "largest curvature (debiased running average over the window)")
    s.add("C", [], variance, "gradient variance estimate")
    s.add("D", [], distance, "distance-to-optimum estimate")
    if h_max > 0:
        mu_star, alpha_star = (float(e[0]) for e in opt.yellowfin_single_step(
            np.array([h_min]), np.array([h_max]), np.array([variance]), np.array([distance])))
    else:
        mu_star, alpha_star = s.b["tuned_momentum"], s.b["tuned_lr"]
    alpha = s.add(r"\alpha_t", [r"\beta \alpha_{t-1} + (1 - \beta)\, \alpha^*_t",
                                rf"{_num(beta)} \cdot {_num(s.b['tuned_lr'])} + {_num(1 - beta)} \cdot {_num(alpha_star)}"],
                  s.a["tuned_lr"], "tuned learning rate (α*: SingleStep's)")
    mu = s.add(r"\mu_t", [r"\beta \mu_{t-1} + (1 - \beta)\, \mu^*_t",
                          rf"{_num(beta)} \cdot {_num(s.b['tuned_momentum'])} + {_num(1 - beta)} \cdot {_num(mu_star)}"],
               s.a["tuned_momentum"], "tuned momentum (μ*: SingleStep's)")
    velocity = s.add(r"\Delta x_t", [r"\mu_t \Delta x_{t-1} - \alpha_t g_t",
                                     rf"{_num(mu)} \cdot {_fmt(s.b['velocity'])} - {_num(alpha)} \cdot {_fmt(s.g)}"],
                     s.a["velocity"], "the step (velocity)")
    return (r"x_{t-1} + \Delta x_t", rf"{_fmt(s.X)} + {_fmt(velocity)}", s.X + velocity)


def _rprop(s: _Step) -> Explained:
    etaminus, etaplus, low, high = s.c
    agreement = np.sign(s.g * s.b["prev"])
    eta = s.add(r"\eta_t", [rf"\eta_+ \text{{ where }} g_t g'_{{t-1}} > 0,\ \eta_- \text{{ where }} < 0,\ 1 \text{{ else}}",
                            rf"{_num(etaplus)}, {_num(etaminus)}, 1 \text{{ by }} \operatorname{{sign}}"
                            rf"({_fmt(s.g)} \odot {_fmt(s.b['prev'])})"],
                np.where(agreement > 0, etaplus, np.where(agreement < 0, etaminus, 1.0)), "step size factor")
    step = s.add(r"\Delta_t", [r"\min(\max(\eta_t \Delta_{t-1}, \Delta_{\min}), \Delta_{\max})",
                               rf"\min(\max({_fmt(eta)} \odot {_fmt(s.b['step_size'])}, {_num(low)}), {_num(high)})"],
                 s.a["step_size"], "step sizes per coordinate")
    kept = s.add("g'_t", [r"g_t \text{ where the sign held, else } 0"], s.a["prev"], "the gradient kept for the next step")
    return (r"x_{t-1} - \Delta_t \odot \operatorname{sign}(g'_t)",
            rf"{_fmt(s.X)} - {_fmt(step)} \odot {_fmt(np.sign(kept))}", s.X - np.sign(kept) * step)


def _asgd(s: _Step) -> Explained:
    eta, decay, mu, weight_decay = s.c
    o = s.optimizer
    s.coupled(weight_decay)
    s.add(r"\eta_t", [r"\gamma / (1 + \lambda\gamma(t - 1))^\alpha",
                      rf"{_num(o.lr)} / (1 + {_num(o.lambd)} \cdot {_num(o.lr)} \cdot {s.t - 1})^{{{_num(o.alpha)}}}"],
          eta, "decaying step size")
    x = s.X * decay - eta * s.G
    if mu != 1:
        s.add(r"\bar a_t", [r"\bar a_{t-1} + \mu_t (x_t - \bar a_{t-1})",
                            rf"{_fmt(s.b['ax'])} + {_num(mu)} \cdot ({_fmt(x)} - {_fmt(s.b['ax'])})"],
              s.a["ax"], "average of the points since t₀")
    else:
        s.add(r"\bar a_t", ["x_t"], s.a["ax"], "average of the points (before t₀: the point itself)")
    return (rf"(1 - \lambda\eta_t)\, {s.Xs} - \eta_t {s.Gs}",
            rf"{_num(decay)} \cdot {_fmt(s.X)} - {_num(eta)} \cdot {_fmt(s.G)}", x)


def _adafactor(s: _Step) -> Explained:
    o, t = s.optimizer, s.t
    eps1, eps2 = o._eps1, o.eps[1]
    rho = s.add(r"\rho_t", [r"\min(\gamma, 1/\sqrt{t})", rf"\min({_num(o.lr)}, 1/\sqrt{{{t}}})"],
                min(o.lr, 1 / (float(t) ** 0.5)), "relative step size")
    rms = float(np.linalg.norm(s.x)) / opt._RMS_OF_TWO
    alpha = s.add(r"\alpha_t", [r"\max(\epsilon_2, \mathrm{RMS}(x_{t-1}))\, \rho_t",
                                rf"\max({_num(eps2)}, {_num(rms)}) \cdot {_num(rho)}"],
                  max(eps2, rms) * rho, "step size, relative to the point's size")
    s.decoupled(o.lr, o.weight_decay)
    weight = float(t) ** o.beta2_decay
    v = s.add("v_t", [r"\hat\beta_t v_{t-1} + (1 - \hat\beta_t) g_t^2,\ \hat\beta_t = 1 - t^{\tau}",
                      rf"{_num(1 - weight)} \cdot {_fmt(s.b['variance'])} + {_num(weight)} \cdot {_fmt(s.g)}^2"],
              s.a["variance"], "running average of the squared gradient")
    u = s.add("u_t", [r"g_t / \sqrt{\max(v_t, \epsilon_1^2)}", rf"{_fmt(s.g)} / \sqrt{{\max({_fmt(v)}, {_num(eps1 * eps1)})}}"],
              s.g * (1.0 / np.sqrt(np.maximum(v, eps1 * eps1))), "scaled gradient")
    scale = s.add(r"\hat\alpha_t", [r"\alpha_t / \max(1, \mathrm{RMS}(u_t) / d)",
                                    rf"{_num(alpha)} / \max(1, {_num(np.linalg.norm(u) / opt._RMS_OF_TWO)} / {_num(o.d)})"],
                  s.a["step_scale"], "step size with the step's length capped")
    return (rf"{s.Xs} - \hat\alpha_t u_t", rf"{_fmt(s.X)} - {_num(scale)} \cdot {_fmt(u)}", s.X + -scale * u)


def _lbfgs(s: _Step) -> Explained:
    o = s.optimizer
    d, tau = s.a["d"], s.a["step_length"]
    moving = not np.abs(s.g).max() <= o.tolerance_grad
    if not moving:
        s.add("d_t", [r"d_{t-1} \quad (\max|g_t| \le \text{tolerance\_grad}: \text{no step})"], d, "direction, kept")
    elif s.a["n_iter"] == 1:
        s.add("d_t", ["-g_t"], d, "direction: steepest descent at the first iteration")
    else:
        pairs = int(s.a["num_old"])
        s.add("d_t", [rf"-H_t g_t \quad (H^0 = {_num(s.a['H_diag'])}\, I,\ {pairs} \text{{ pairs }} (s, y))"], d,
              "quasi-Newton direction (two-loop recursion)")
    if tau == 0:
        why = r"\text{no step}" if moving else r"\text{gradient below tolerance}"
        s.add(r"\tau_t", [why], tau, "step length along d (no move)")
    elif o.line_search_fn == "strong_wolfe":
        s.add(r"\tau_t", [rf"\text{{strong-Wolfe line search, {int(s.a['evaluations'])} evaluations}}"], tau,
              "step length along d, from the line search")
    elif s.a["n_iter"] == 1:
        s.add(r"\tau_t", [r"\min(1, 1/\|g_1\|_1)\, \gamma", rf"\min(1, 1/{_num(np.abs(s.g).sum())}) \cdot {_num(o.lr)}"],
              tau, "first step length")
    else:
        s.add(r"\tau_t", [r"\gamma"], tau, "step length along d")
    x = s.X + tau * d if tau != 0 else s.X.copy()
    return r"x_{t-1} + \tau_t d_t", rf"{_fmt(s.X)} + {_num(tau)} \cdot {_fmt(d)}", x


def _newton(s: _Step) -> Explained:
    o, g = s.optimizer, s.g
    hessian = np.asarray(s.function.hessian(s.x[None]), dtype=float)[0]
    s.add("H_t", [r"\nabla^2 f(x_{t-1})"], hessian, "Hessian at x_{t−1}")
    s.add(r"(\lambda_1, \lambda_2)", [r"\operatorname{eig}(H_t)"], s.a["curvatures"], "curvatures: the Hessian's eigenvalues")
    low, high, (vx, vy) = opt.symmetric_eigen_2x2(hessian[0, 0], 0.5 * (hessian[0, 1] + hessian[1, 0]), hessian[1, 1])
    (x0, x1), (y0, y1) = s.function.domain
    reach = math.hypot(x1 - x0, y1 - y0)
    mus, step = [], 0.0
    with np.errstate(all="ignore"):
        for curvature, u in ((low, np.array([-vy, vx])), (high, np.array([vx, vy]))):
            along = u[0] * g[0] + u[1] * g[1]
            mu = max(abs(curvature) + o.damping, abs(along) / reach)
            mus.append(mu)
            step = step + (along / mu if mu != 0 else 0.0) * u
    s.add(r"(\mu_1, \mu_2)", [r"\max(|\lambda_i| + \delta, |v_i^\top g_t| / L)"], np.array(mus),
          "curvatures used: |λ| damped, floored (saddle-free)")
    p = s.add("p_t", [r"\sum_i \frac{v_i^\top g_t}{\mu_i} v_i"], step, "Newton's step: M⁻¹g_t")
    return r"x_{t-1} - \gamma p_t", rf"{_fmt(s.X)} - {_num(o.lr)} \cdot {_fmt(p)}", s.X - o.lr * p


def _state_fields(s: _Step) -> Explained:
    """An optimizer without its own explainer: its state after the step, field by field."""
    for field, value in s.a.items():
        if np.size(value) <= 2:
            escaped = field.replace("_", r"\_")
            symbol = rf"\mathrm{{{escaped}}}_t"
            s.add(symbol, [], value, f"state field {field!r} after the step")
    return r"\text{(the optimizer's step)}", "", s.recorded


_EXPLAINERS: dict[type, Callable[[_Step], Explained]] = {
    opt.SGD: _sgd, opt.Momentum: _momentum, opt.Nesterov: _nesterov, opt.RMSprop: _rmsprop,
    opt.Adam: _adam, opt.AMSGrad: _adam, opt.AdamW: _adam, opt.NAdam: _nadam, opt.RAdam: _radam,
    opt.Adamax: _adamax, opt.Adagrad: _adagrad, opt.Adadelta: _adadelta, opt.Lion: _lion,
    opt.AdaBelief: _adabelief, opt.Eve: _eve, opt.YellowFin: _yellowfin, opt.Rprop: _rprop, opt.ASGD: _asgd,
    opt.Adafactor: _adafactor, opt.LBFGS: _lbfgs, opt.Newton: _newton,
}
"""Each optimizer class's explainer (exact class: a subclass may change the rule)."""


# ---------------------------------------------------------------------------------------
# The step
# ---------------------------------------------------------------------------------------
def _check_step(t) -> int:
    if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 1:
        raise ValueError(f"t must be a step number, an integer >= 1, got {t!r}")
    return int(t)


def _record(function, optimizer, start, t, noise, seed, scheduler) -> dict:
    """Run as `core.run(..., record=True)` through step t and return what step t saw."""
    optimizers = [optimizer] * t if scheduler is None else scheduler.optimizers(optimizer, t)
    recorder = _Recorder(optimizers, t)
    result = run(function, recorder, np.asarray(start, dtype=float).reshape(1, 2), t, record=True,
                 noise=noise, seed=seed)
    diverged_at = int(result.diverged_at[0])
    if 0 <= diverged_at <= t:
        where = "at the start" if diverged_at == 0 else f"at step {diverged_at}"
        last = "no step can be explained" if diverged_at <= 1 else f"explain a step t <= {diverged_at - 1}"
        raise ValueError(f"step {t} cannot be explained: the run diverged {where} (its point, gradient or loss "
                         f"became infinite or not a number); {last}")
    return recorder.seen


def explain_step(function: TestFunction, optimizer: Optimizer, start, t: int, noise: float = 0.0,
                 seed: int | None = None, scheduler: Scheduler | None = None) -> list[Term]:
    """The terms of step t (t = 1 is the first step) of `optimizer` run from `start` as
    `core.run(function, optimizer, start, steps, noise=noise, seed=seed, scheduler=scheduler)`
    runs it: first g_t, the gradient the step used at x_{t−1} (with its noise), last x_t, and
    between them the optimizer's quantities (weight decay, moments, bias corrections, …).

    Raises ValueError for t < 1 and for a step at or after the run's divergence."""
    t = _check_step(t)
    seen = _record(function, optimizer, start, t, noise, seed, scheduler)
    s = _Step(function, t, seen)
    exact = np.asarray(function.gradient(s.x), dtype=float)
    parts = [r"\nabla f(x_{t-1})", rf"\nabla f{_fmt(s.x)}"]
    if noise:
        parts = [r"\nabla f(x_{t-1}) + \sigma \xi_t", rf"{_fmt(exact)} + {_fmt(s.g - exact)}"]
    s.add("g_t", parts, s.g, "the gradient the step used, at x_{t−1}" + (" (with noise)" if noise else ""))
    if scheduler is not None:
        s.add(r"\gamma_t", [], s.optimizer.lr, "learning rate of this step, from the schedule")
    formula, numbers_, value = _EXPLAINERS.get(type(s.optimizer), _state_fields)(s)
    s.add("x_t", [formula, numbers_] if numbers_ else [], value, "the new point")
    return s.terms


__all__ = ["Term", "explain_step"]
