"""Optimizers as pure update rules, each written once.

Each optimizer is a frozen dataclass whose fields are its hyperparameters (names, defaults and
meaning follow torch.optim wherever torch has the algorithm). It has two pure functions in the
style of optax:

    state = opt.init(params)                          # params: (N, 2)
    params, state = opt.step(params, grad, state, t)  # t = 1, 2, ... the step number

`state` is a NamedTuple of per-point arrays (each of shape (N, 2), (N,), (N, k) or (N, k, 2)),
so a run engine can index it by point and the dashboard can show it. Nothing is mutated in place. An
optimizer with `needs_loss = True` (Eve) also needs `loss = f(params)`, shape (N,).
One with `needs_function = True` also gets `function=` (the TestFunction), to evaluate f, its
gradient or its Hessian at points of its choosing (a line search, Newton's Hessian).

How an update is written. All but Eve, YellowFin and Adafactor act on each coordinate
separately, and say so in one static function of numbers:

    state = ("exp_avg", "exp_avg_sq")                 # per-coordinate arrays, zero at first
    def coefficients(self, t): ...                    # the numbers of step t (a tuple)
    @staticmethod
    def update(x, g, exp_avg, exp_avg_sq, *coefficients): ... return x, exp_avg, exp_avg_sq

`update` uses only arithmetic, `np.sqrt`, `np.abs`, `np.sign`, `np.maximum`, `np.minimum`,
helpers marked `register_jitable`, and `if` on its coefficients. `step` runs it with numpy on
whole arrays; the engine (core/engine.py) compiles the same function with numba into a loop
over the coordinates of many starts. Eve, YellowFin and Adafactor, whose rules mix a point's
two coordinates, override `init` and `step` instead (numpy only), as do L-BFGS and Newton.

A look inside: `opt.internals(state, t)` returns named per-point quantities after step t (the
names are listed in INTERNALS), e.g. the effective step size per coordinate.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Callable, ClassVar, NamedTuple

import numpy as np
from numba.extending import register_jitable

from .checks import check_range


# ---------------------------------------------------------------------------------------
# Validation, in the manner of torch.optim
# ---------------------------------------------------------------------------------------
def _check_flag(owner: str, name: str, value) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{owner}: {name} must be True or False, got {value!r}")


def _check_betas(owner: str, betas) -> None:
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ValueError(f"{owner}: betas must be a pair (beta1, beta2), each in [0.0, 1.0), got {betas!r}")
    check_range(owner, "betas[0]", betas[0], 0.0, 1.0)
    check_range(owner, "betas[1]", betas[1], 0.0, 1.0)


# ---------------------------------------------------------------------------------------
# A look inside: named per-point quantities, for the dashboard's "internals" charts
# ---------------------------------------------------------------------------------------
INTERNALS: dict[str, str] = {
    "effective step size x": "the factor on the step's direction along x: γ / (√v̂ + ε) for the "
                             "adaptive methods, γ for SGD, momentum and Lion",
    "effective step size y": "the same along y",
    "first moment norm": "‖m‖, the norm of the momentum buffer or first-moment average",
    "second moment x": "v along x: the average (Adagrad: the sum) of squared gradients, "
                       "AdaBelief's s",
    "second moment y": "the same along y",
    "feedback d": "Eve's d_t, which divides its step",
    "tuned lr": "YellowFin's learning rate α (running average of the tuned α_t)",
    "tuned momentum": "YellowFin's momentum μ (running average of the tuned μ_t)",
    "velocity norm": "YellowFin's ‖x_t − x_{t−1}‖",
    "h_min": "YellowFin's estimate of the smallest curvature",
    "h_max": "YellowFin's estimate of the largest curvature",
    "variance C": "YellowFin's estimate of the gradient variance",
    "distance D": "YellowFin's estimate of the distance to the optimum",
    "direction norm": "L-BFGS's ‖d‖, its quasi-Newton direction −H∇f (its effective step size is "
                      "the step length τ along d)",
    "initial Hessian scale": "L-BFGS's γ = sᵀy / yᵀy: its inverse Hessian model starts from γ I",
    "history length": "L-BFGS's number of stored (s, y) pairs",
    "averaged x": "ASGD's averaged point ā (x): the mean of its points since step t₀ (before: the point)",
    "averaged y": "the same, y",
    "evaluations": "L-BFGS's evaluations of f and ∇f in the step (1, plus the line search's)",
    "smallest curvature": "Newton's λ₁, the Hessian's smaller eigenvalue where the step was taken "
                          "(negative at a saddle: that direction's step is flipped to go downhill)",
    "largest curvature": "Newton's λ₂, the Hessian's larger eigenvalue where the step was taken",
}
"""Every name `Optimizer.internals` may return, with its meaning. Each value has shape (N,),
or () where it is the same at every point (a stateless optimizer's step size)."""

# State fields the default `internals` reads, by meaning; the first one present is used.
FIRST_MOMENT_FIELDS = ("exp_avg", "momentum_buffer")
SECOND_MOMENT_FIELDS = ("exp_avg_sq", "square_avg", "exp_avg_var", "sum")


def _first_field(state: NamedTuple, names) -> np.ndarray | None:
    fields = state._asdict()
    return next((fields[name] for name in names if name in fields), None)


@dataclass(frozen=True, kw_only=True)
class Optimizer:
    """Base class. A subclass sets `name`, `title` and its hyperparameter fields, and writes its
    update once: element-wise as `state`, `coefficients(t)` and a static `update` (see the
    module's docstring), or by overriding `init` and `step`. `check()` validates the
    hyperparameters and runs on construction."""

    name: ClassVar[str]
    title: ClassVar[str]
    note: ClassVar[str] = ""  # what it does, in a sentence of plain language (shown on the page)
    paper: ClassVar[str] = ""  # whose method it is, "Authors, year"
    needs_loss: ClassVar[bool] = False  # True if step() needs f(params) as `loss`
    needs_function: ClassVar[bool] = False  # True if step() needs the TestFunction as `function`
    CHOICES: ClassVar[dict[str, tuple]] = {}  # hyperparameters that take one of a few values: those values
    state: ClassVar[tuple[str, ...]] = ()  # names of the per-coordinate state arrays of `update`
    State: ClassVar[type]  # their NamedTuple, made from `state`
    update: ClassVar[Callable | None] = None  # (x, g, *state, *coefficients(t)) -> (x, *state), or x

    lr: float = 1e-3

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "State" not in cls.__dict__:
            cls.State = collections.namedtuple(f"{cls.__name__}State", cls.state, module=cls.__module__)

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        check_range(self.name, "lr", self.lr, 0.0, low_open=True)

    def coefficients(self, t: int) -> tuple:
        """The numbers `update` takes after the state, for step t."""
        raise NotImplementedError

    def init(self, params: np.ndarray) -> NamedTuple:
        """Every state array zero, shaped like params."""
        return self.State(*(np.zeros_like(params, dtype=float) for _ in self.state))

    def step(self, params: np.ndarray, grad: np.ndarray, state: NamedTuple, t: int, loss=None):
        """One step of `update` on whole arrays: the new params and state."""
        new = self.update(params, grad, *state, *self.coefficients(t))
        if not self.state:
            return new, state
        return new[0], self.State(*new[1:])

    def internals(self, state: NamedTuple, t: int) -> dict[str, np.ndarray]:
        """Named per-point quantities after step t (names and meanings in INTERNALS), each of
        shape (N,). The default reads well-named state fields: "first moment norm" from the
        first of FIRST_MOMENT_FIELDS, "second moment x/y" from the first of
        SECOND_MOMENT_FIELDS, and "effective step size x/y" from `effective_step_size`."""
        step_size = self.effective_step_size(state, t)
        out = {"effective step size x": step_size[..., 0], "effective step size y": step_size[..., 1]}
        first = _first_field(state, FIRST_MOMENT_FIELDS)
        if first is not None:
            out["first moment norm"] = np.linalg.norm(first, axis=-1)
        second = _first_field(state, SECOND_MOMENT_FIELDS)
        if second is not None:
            out["second moment x"], out["second moment y"] = second[..., 0], second[..., 1]
        return out

    def effective_step_size(self, state: NamedTuple, t: int) -> np.ndarray:
        """The step size per coordinate after step t, shape (N, 2) (shape (2,) for a stateless
        optimizer): γ / (√v̂ + ε) with v the second-moment field (AMSGrad's max_exp_avg_sq when
        present, the one it divides by), v̂ = v / (1 − β₂ᵗ) for optimizers with `betas`
        (unless bias_correction is off), or γ where the state has no second moment. Override
        where the rule differs."""
        second = _first_field(state, ("max_exp_avg_sq",) + SECOND_MOMENT_FIELDS)
        if second is None:
            points = np.shape(state[0])[:1] if len(state) else ()
            return np.full(points + (2,), float(self.lr))
        if hasattr(self, "betas") and getattr(self, "bias_correction", True):
            second = second / (1 - self.betas[1] ** t)
        return self.lr / (np.sqrt(second) + getattr(self, "eps", 0.0))

    @property
    def hyperparameters(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


# ---------------------------------------------------------------------------------------
# Pieces shared by the update rules (numbers or arrays alike; numba compiles them too)
# ---------------------------------------------------------------------------------------
@register_jitable
def weight_decayed(x, g, weight_decay, lr, decoupled):
    """Weight decay λ: coupled (L2), g ← g + λx, or decoupled (Loshchilov & Hutter),
    x ← (1 − γλ) x before the step. Returns (x, g)."""
    if weight_decay == 0:
        return x, g
    if decoupled:
        return x * (1 - lr * weight_decay), g
    return x, g + weight_decay * x


@register_jitable
def lerp(start, end, weight):
    """start + weight·(end − start), in the form torch.lerp uses for this weight (for equal
    rounding): the exponential moving averages of torch.optim's Adam family are lerps."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


@register_jitable
def ema_of_square(average, value, decay):
    """decay·average + (1 − decay)·value², in torch's order (mul_(decay).addcmul_)."""
    return decay * average + (1 - decay) * value * value


@register_jitable
def momentum_buffer(buffer, g, momentum, dampening, first):
    """torch.optim.SGD's buffer: b_1 = g_1, b_t = μ b_{t−1} + (1 − τ) g_t."""
    if first:
        return g
    return momentum * buffer + (1 - dampening) * g


# ---------------------------------------------------------------------------------------
# SGD family
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class SGD(Optimizer):
    r"""Plain gradient descent (torch.optim.SGD with momentum=0).

    g_t = ∇f(x_{t−1}) + λ x_{t−1};  x_t = x_{t−1} − γ g_t

    Robbins & Monro, "A Stochastic Approximation Method" (1951).
    """

    name: ClassVar[str] = "sgd"
    title: ClassVar[str] = "SGD"
    note: ClassVar[str] = (
        "Steps straight downhill, a fixed fraction (the learning rate) of the gradient: slow on gentle "
        "slopes, and it stops in the first minimum it meets.")
    paper: ClassVar[str] = "Robbins & Monro, 1951"

    lr: float = 1e-3
    weight_decay: float = 0.0

    def check(self) -> None:
        super().check()
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)

    def coefficients(self, t):
        return self.lr, self.weight_decay

    @staticmethod
    def update(x, g, lr, weight_decay):
        x, g = weight_decayed(x, g, weight_decay, lr, False)
        return x - lr * g


@dataclass(frozen=True, kw_only=True)
class Momentum(Optimizer):
    r"""Heavy-ball momentum, as torch.optim.SGD(momentum=μ, dampening=τ).

    b_1 = g_1;  b_t = μ b_{t−1} + (1 − τ) g_t;  x_t = x_{t−1} − γ b_t

    with g_t = ∇f(x_{t−1}) + λ x_{t−1}. For constant γ and τ = 0 this is Polyak's
    v_t = μ v_{t−1} − γ g_t, x_t = x_{t−1} + v_t (the article's form, with v = −γ b).
    Polyak, "Some methods of speeding up the convergence of iteration methods" (1964).
    """

    name: ClassVar[str] = "momentum"
    title: ClassVar[str] = "Momentum"
    note: ClassVar[str] = (
        "A heavy ball: each step adds the gradient to a velocity that keeps part of the last one, so it "
        "speeds up on long slopes, rolls over small bumps and may overshoot and circle a minimum.")
    paper: ClassVar[str] = "Polyak, 1964"
    state = ("momentum_buffer",)

    lr: float = 1e-3
    momentum: float = 0.9
    dampening: float = 0.0
    weight_decay: float = 0.0

    def check(self) -> None:
        super().check()
        check_range(self.name, "momentum", self.momentum, 0.0, 1.0)
        check_range(self.name, "dampening", self.dampening, 0.0, 1.0)
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)

    def coefficients(self, t):
        return self.lr, self.momentum, self.dampening, self.weight_decay, t == 1

    @staticmethod
    def update(x, g, buffer, lr, momentum, dampening, weight_decay, first):
        x, g = weight_decayed(x, g, weight_decay, lr, False)
        buffer = momentum_buffer(buffer, g, momentum, dampening, first)
        return x - lr * buffer, buffer


@dataclass(frozen=True, kw_only=True)
class Nesterov(Optimizer):
    r"""Nesterov momentum, as torch.optim.SGD(momentum=μ, nesterov=True) (whose dampening
    must be 0, so it is not a hyperparameter here).

    b_1 = g_1;  b_t = μ b_{t−1} + g_t;  x_t = x_{t−1} − γ (g_t + μ b_t)

    with g_t = ∇f(x_{t−1}) + λ x_{t−1}: the step looks ahead along the momentum.
    Nesterov, "A method for solving the convex programming problem with convergence rate
    O(1/k²)" (1983), in the form of Sutskever et al., "On the importance of initialization
    and momentum in deep learning" (2013).
    """

    name: ClassVar[str] = "nesterov"
    title: ClassVar[str] = "Nesterov"
    note: ClassVar[str] = (
        "Momentum that looks ahead: the gradient is taken where the velocity is about to carry the point,"
        " so it brakes earlier and overshoots less.")
    paper: ClassVar[str] = "Nesterov, 1983; Sutskever et al., 2013"
    state = ("momentum_buffer",)

    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0

    def check(self) -> None:
        super().check()
        check_range(self.name, "momentum", self.momentum, 0.0, 1.0, low_open=True)
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)

    def coefficients(self, t):
        return self.lr, self.momentum, self.weight_decay, t == 1

    @staticmethod
    def update(x, g, buffer, lr, momentum, weight_decay, first):
        x, g = weight_decayed(x, g, weight_decay, lr, False)
        buffer = momentum_buffer(buffer, g, momentum, 0.0, first)
        return x - lr * (g + momentum * buffer), buffer


@dataclass(frozen=True, kw_only=True)
class RMSprop(Optimizer):
    r"""RMSprop, as torch.optim.RMSprop.

    v_t = α v_{t−1} + (1 − α) g_t²;   ṽ_t = v_t, or if centered ṽ_t = v_t − ḡ_t² with
    ḡ_t = α ḡ_{t−1} + (1 − α) g_t
    x_t = x_{t−1} − γ g_t / (√ṽ_t + ε)                    (momentum μ = 0)
    b_t = μ b_{t−1} + g_t / (√ṽ_t + ε);  x_t = x_{t−1} − γ b_t   (μ > 0)

    with g_t = ∇f(x_{t−1}) + λ x_{t−1}. With α = 0.99, ε = 1e-6 it is the article's RMSProp.
    Tieleman & Hinton, "Lecture 6.5 — RMSprop", COURSERA: Neural Networks for Machine
    Learning (2012); centered: Graves, "Generating Sequences With Recurrent Neural Networks"
    (2013).
    """

    name: ClassVar[str] = "rmsprop"
    title: ClassVar[str] = "RMSprop"
    note: ClassVar[str] = (
        "Divides each coordinate's step by the running size of its own gradients: steep directions are "
        "slowed, flat ones sped up, so every coordinate moves at a similar pace.")
    paper: ClassVar[str] = "Tieleman & Hinton, 2012"
    state = ("square_avg", "grad_avg", "momentum_buffer")

    lr: float = 1e-2
    alpha: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 0.0
    momentum: float = 0.0
    centered: bool = False

    def check(self) -> None:
        super().check()
        check_range(self.name, "alpha", self.alpha, 0.0, 1.0)
        check_range(self.name, "eps", self.eps, 0.0)
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)
        check_range(self.name, "momentum", self.momentum, 0.0, 1.0)
        _check_flag(self.name, "centered", self.centered)

    def coefficients(self, t):
        return self.lr, self.alpha, self.eps, self.weight_decay, self.momentum, bool(self.centered)

    @staticmethod
    def update(x, g, square_avg, grad_avg, buffer, lr, alpha, eps, weight_decay, momentum, centered):
        x, g = weight_decayed(x, g, weight_decay, lr, False)
        square_avg = ema_of_square(square_avg, g, alpha)
        if centered:
            grad_avg = lerp(grad_avg, g, 1 - alpha)
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + eps
        else:
            avg = np.sqrt(square_avg) + eps
        if momentum > 0:
            buffer = momentum * buffer + g / avg
            return x - lr * buffer, square_avg, grad_avg, buffer
        return x - lr * g / avg, square_avg, grad_avg, buffer

    def effective_step_size(self, state, t):
        """γ / (√ṽ + ε), with ṽ = v − ḡ² when centered."""
        square_avg = state.square_avg
        if self.centered:
            square_avg = square_avg - state.grad_avg * state.grad_avg
        return self.lr / (np.sqrt(square_avg) + self.eps)

    def internals(self, state, t):
        out = super().internals(state, t)
        if self.momentum == 0:
            del out["first moment norm"]  # the buffer is not used
        return out


# ---------------------------------------------------------------------------------------
# Adam family
# ---------------------------------------------------------------------------------------
@register_jitable
def adam_moments(m, v, g, beta1, beta2):
    """m_t = β₁ m_{t−1} + (1 − β₁) g_t,  v_t = β₂ v_{t−1} + (1 − β₂) g_t², in torch's order."""
    return lerp(m, g, 1 - beta1), ema_of_square(v, g, beta2)


@dataclass(frozen=True, kw_only=True)
class _AdamFamily(Optimizer):
    """The hyperparameters and checks shared by Adam and its variants."""

    state = ("exp_avg", "exp_avg_sq")

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0

    def check(self) -> None:
        super().check()
        _check_betas(self.name, self.betas)
        check_range(self.name, "eps", self.eps, 0.0)
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)

    def _adam_coefficients(self, t, bias_correction=True, decoupled=False):
        """γ / (1 − β₁ᵗ) and √(1 − β₂ᵗ) (both 1 without bias correction), then β₁, β₂, ε, λ,
        γ and whether the weight decay is decoupled: what Adam's and AMSGrad's update take."""
        beta1, beta2 = self.betas
        step_size, root_correction = self.lr, 1.0
        if bias_correction:
            step_size, root_correction = self.lr / (1 - beta1**t), (1 - beta2**t) ** 0.5
        return step_size, root_correction, beta1, beta2, self.eps, self.weight_decay, self.lr, decoupled


@dataclass(frozen=True, kw_only=True)
class Adam(_AdamFamily):
    r"""Adam, as torch.optim.Adam, with optional bias correction.

    m_t = β₁ m_{t−1} + (1 − β₁) g_t;   v_t = β₂ v_{t−1} + (1 − β₂) g_t²
    x_t = x_{t−1} − γ · (m_t / (1 − β₁ᵗ)) / (√(v_t / (1 − β₂ᵗ)) + ε)

    with g_t = ∇f(x_{t−1}) + λ x_{t−1}. With `bias_correction=False` the two divisions by
    (1 − βᵗ) are dropped: x_t = x_{t−1} − γ m_t / (√v_t + ε), the 2018 article's Adam.
    Kingma & Ba, "Adam: A Method for Stochastic Optimization" (2015).
    """

    name: ClassVar[str] = "adam"
    title: ClassVar[str] = "Adam"
    note: ClassVar[str] = (
        "Momentum and RMSprop together: a running average of the gradient, each coordinate scaled by the "
        "running size of its gradients.")
    paper: ClassVar[str] = "Kingma & Ba, 2015"

    bias_correction: bool = True

    def check(self) -> None:
        super().check()
        _check_flag(self.name, "bias_correction", self.bias_correction)

    def coefficients(self, t):
        return self._adam_coefficients(t, bool(self.bias_correction))

    @staticmethod
    def update(x, g, m, v, step_size, root_correction, beta1, beta2, eps, weight_decay, lr, decoupled):
        x, g = weight_decayed(x, g, weight_decay, lr, decoupled)
        m, v = adam_moments(m, v, g, beta1, beta2)
        return x - step_size * m / (np.sqrt(v) / root_correction + eps), m, v


@dataclass(frozen=True, kw_only=True)
class AMSGrad(_AdamFamily):
    r"""AMSGrad, as torch.optim.Adam(amsgrad=True): Adam whose denominator never shrinks.

    m_t, v_t as in Adam;  v̂_t = max(v̂_{t−1}, v_t)
    x_t = x_{t−1} − γ · (m_t / (1 − β₁ᵗ)) / (√(v̂_t / (1 − β₂ᵗ)) + ε)

    with g_t = ∇f(x_{t−1}) + λ x_{t−1}.
    Reddi, Kale & Kumar, "On the Convergence of Adam and Beyond" (2018).
    """

    name: ClassVar[str] = "amsgrad"
    title: ClassVar[str] = "AMSGrad"
    note: ClassVar[str] = "Adam whose per-coordinate scale never shrinks, so a step can never suddenly grow."
    paper: ClassVar[str] = "Reddi, Kale & Kumar, 2018"
    state = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def coefficients(self, t):
        return self._adam_coefficients(t)

    @staticmethod
    def update(x, g, m, v, v_max, step_size, root_correction, beta1, beta2, eps, weight_decay, lr, decoupled):
        x, g = weight_decayed(x, g, weight_decay, lr, decoupled)
        m, v = adam_moments(m, v, g, beta1, beta2)
        v_max = np.maximum(v_max, v)
        return x - step_size * m / (np.sqrt(v_max) / root_correction + eps), m, v, v_max


@dataclass(frozen=True, kw_only=True)
class AdamW(_AdamFamily):
    r"""AdamW, as torch.optim.AdamW: Adam with decoupled weight decay.

    x' = (1 − γλ) x_{t−1};  m_t, v_t as in Adam with g_t = ∇f(x_{t−1})
    x_t = x' − γ · (m_t / (1 − β₁ᵗ)) / (√(v_t / (1 − β₂ᵗ)) + ε)

    Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (2019).
    """

    name: ClassVar[str] = "adamw"
    title: ClassVar[str] = "AdamW"
    note: ClassVar[str] = (
        "Adam with weight decay applied to the point directly, not mixed into the gradient's "
        "averages.")
    paper: ClassVar[str] = "Loshchilov & Hutter, 2019"

    weight_decay: float = 1e-2
    update = staticmethod(Adam.update)

    def coefficients(self, t):
        return self._adam_coefficients(t, decoupled=True)


@dataclass(frozen=True, kw_only=True)
class NAdam(_AdamFamily):
    r"""NAdam, as torch.optim.NAdam: Adam with Nesterov momentum and a momentum schedule.

    μ_t = β₁ (1 − ½ · 0.96^{tψ});   m_t, v_t as in Adam
    x_t = x_{t−1} − γ [(1 − μ_t) g_t / (1 − Π_{i≤t} μ_i) + μ_{t+1} m_t / (1 − Π_{i≤t+1} μ_i)]
                    / (√(v_t / (1 − β₂ᵗ)) + ε)

    with ψ = momentum_decay and g_t = ∇f(x_{t−1}) + λ x_{t−1}, or with
    `decoupled_weight_decay` x_{t−1} replaced by (1 − γλ) x_{t−1} and g_t = ∇f(x_{t−1}).
    Dozat, "Incorporating Nesterov Momentum into Adam" (2016).
    """

    name: ClassVar[str] = "nadam"
    title: ClassVar[str] = "NAdam"
    note: ClassVar[str] = "Adam with Nesterov's look-ahead momentum."
    paper: ClassVar[str] = "Dozat, 2016"
    state = ("exp_avg", "exp_avg_sq", "mu_product")  # Π μ_i: torch's per-tensor scalar, per coordinate

    lr: float = 2e-3
    momentum_decay: float = 4e-3
    decoupled_weight_decay: bool = False

    def check(self) -> None:
        super().check()
        check_range(self.name, "momentum_decay", self.momentum_decay, 0.0)
        _check_flag(self.name, "decoupled_weight_decay", self.decoupled_weight_decay)

    def init(self, params):
        return self.State(np.zeros_like(params, dtype=float), np.zeros_like(params, dtype=float),
                          np.ones_like(params, dtype=float))

    def coefficients(self, t):
        beta1, beta2 = self.betas
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * self.momentum_decay))
        return (mu, mu_next, 1 - beta2**t, beta1, beta2, self.eps, self.weight_decay, self.lr,
                bool(self.decoupled_weight_decay))

    @staticmethod
    def update(x, g, m, v, mu_product, mu, mu_next, correction2, beta1, beta2, eps, weight_decay, lr, decoupled):
        x, g = weight_decayed(x, g, weight_decay, lr, decoupled)
        mu_product = mu_product * mu
        m, v = adam_moments(m, v, g, beta1, beta2)
        denom = np.sqrt(v / correction2) + eps
        x = x + (-lr * (1.0 - mu) / (1.0 - mu_product)) * g / denom
        x = x + ((-lr * mu_next) / (1.0 - mu_product * mu_next)) * m / denom
        return x, m, v, mu_product


@dataclass(frozen=True, kw_only=True)
class RAdam(_AdamFamily):
    r"""RAdam, as torch.optim.RAdam: Adam with its early steps' variance rectified.

    m_t, v_t as in Adam;  ρ_∞ = 2 / (1 − β₂) − 1;  ρ_t = ρ_∞ − 2t β₂ᵗ / (1 − β₂ᵗ)
    if ρ_t > 5:  r_t = √((ρ_t − 4)(ρ_t − 2) ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2) ρ_t))
                 x_t = x_{t−1} − γ (m_t / (1 − β₁ᵗ)) r_t √(1 − β₂ᵗ) / (√v_t + ε)
    else:        x_t = x_{t−1} − γ m_t / (1 − β₁ᵗ)

    with g_t = ∇f(x_{t−1}) + λ x_{t−1}, or with `decoupled_weight_decay` x_{t−1} replaced
    by (1 − γλ) x_{t−1} and g_t = ∇f(x_{t−1}).
    Liu et al., "On the Variance of the Adaptive Learning Rate and Beyond" (2020).
    """

    name: ClassVar[str] = "radam"
    title: ClassVar[str] = "RAdam"
    note: ClassVar[str] = (
        "Adam that takes plain momentum steps at first, until it has seen enough gradients to trust its "
        "per-coordinate scaling.")
    paper: ClassVar[str] = "Liu et al., 2020"

    decoupled_weight_decay: bool = False

    def check(self) -> None:
        super().check()
        _check_flag(self.name, "decoupled_weight_decay", self.decoupled_weight_decay)

    def _rectification(self, t: int) -> float | None:
        """r_t, or None while ρ_t ≤ 5 (when the step is not adaptive)."""
        beta2 = self.betas[1]
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * (beta2**t) / (1 - beta2**t)
        if rho_t > 5.0:
            return ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        return None

    def coefficients(self, t):
        beta1, beta2 = self.betas
        rect = self._rectification(t)
        return (1 - beta1**t, (1 - beta2**t) ** 0.5, rect is not None, 0.0 if rect is None else rect,
                beta1, beta2, self.eps, self.weight_decay, self.lr, bool(self.decoupled_weight_decay))

    @staticmethod
    def update(x, g, m, v, correction1, root_correction2, adaptive, rect, beta1, beta2, eps, weight_decay, lr,
               decoupled):
        x, g = weight_decayed(x, g, weight_decay, lr, decoupled)
        m, v = adam_moments(m, v, g, beta1, beta2)
        m_hat = m / correction1
        if adaptive:
            return x - m_hat * lr * (root_correction2 / (np.sqrt(v) + eps)) * rect, m, v
        return x - m_hat * lr, m, v

    def effective_step_size(self, state, t):
        """γ r_t √(1 − β₂ᵗ) / (√v_t + ε) once rectified (ρ_t > 5), γ before."""
        rect = self._rectification(t)
        if rect is None:
            return np.full(state.exp_avg.shape, float(self.lr))
        return self.lr * (1 - self.betas[1] ** t) ** 0.5 / (np.sqrt(state.exp_avg_sq) + self.eps) * rect


@dataclass(frozen=True, kw_only=True)
class Adamax(_AdamFamily):
    r"""Adamax, as torch.optim.Adamax: Adam with the infinity norm.

    m_t = β₁ m_{t−1} + (1 − β₁) g_t;   u_t = max(β₂ u_{t−1}, |g_t| + ε)
    x_t = x_{t−1} − (γ / (1 − β₁ᵗ)) m_t / u_t

    with g_t = ∇f(x_{t−1}) + λ x_{t−1}.
    Kingma & Ba, "Adam: A Method for Stochastic Optimization" (2015), section 7.1.
    """

    name: ClassVar[str] = "adamax"
    title: ClassVar[str] = "Adamax"
    note: ClassVar[str] = (
        "Adam scaled by the largest recent gradient size of each coordinate instead of its average "
        "size.")
    paper: ClassVar[str] = "Kingma & Ba, 2015"
    state = ("exp_avg", "exp_inf")

    lr: float = 2e-3

    def coefficients(self, t):
        beta1, beta2 = self.betas
        return self.lr / (1 - beta1**t), beta1, beta2, self.eps, self.weight_decay, self.lr

    @staticmethod
    def update(x, g, m, u, step_size, beta1, beta2, eps, weight_decay, lr):
        x, g = weight_decayed(x, g, weight_decay, lr, False)
        m = lerp(m, g, 1 - beta1)
        u = np.maximum(beta2 * u, np.abs(g) + eps)
        return x - step_size * m / u, m, u

    def effective_step_size(self, state, t):
        """γ / u_t (u already holds ε), the factor on m̂_t = m_t / (1 − β₁ᵗ)."""
        return self.lr / state.exp_inf


# ---------------------------------------------------------------------------------------
# Accumulating methods
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Adagrad(Optimizer):
    r"""Adagrad, as torch.optim.Adagrad.

    s_0 = initial_accumulator_value;  s_t = s_{t−1} + g_t²
    x_t = x_{t−1} − (γ / (1 + (t − 1) η)) g_t / (√s_t + ε)

    with η = lr_decay and g_t = ∇f(x_{t−1}) + λ x_{t−1}.
    Duchi, Hazan & Singer, "Adaptive Subgradient Methods for Online Learning and Stochastic
    Optimization" (2011).
    """

    name: ClassVar[str] = "adagrad"
    title: ClassVar[str] = "Adagrad"
    note: ClassVar[str] = (
        "Divides each coordinate's step by the root of the sum of all its squared gradients so far: steps"
        " only ever shrink.")
    paper: ClassVar[str] = "Duchi, Hazan & Singer, 2011"
    state = ("sum",)

    lr: float = 1e-2
    lr_decay: float = 0.0
    weight_decay: float = 0.0
    initial_accumulator_value: float = 0.0
    eps: float = 1e-10

    def check(self) -> None:
        super().check()
        check_range(self.name, "lr_decay", self.lr_decay, 0.0)
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)
        check_range(self.name, "initial_accumulator_value", self.initial_accumulator_value, 0.0)
        check_range(self.name, "eps", self.eps, 0.0)

    def init(self, params):
        return self.State(np.full_like(params, self.initial_accumulator_value, dtype=float))

    def coefficients(self, t):
        return self.lr / (1 + (t - 1) * self.lr_decay), self.eps, self.weight_decay, self.lr

    @staticmethod
    def update(x, g, total, step_size, eps, weight_decay, lr):
        x, g = weight_decayed(x, g, weight_decay, lr, False)
        total = total + g * g
        return x - step_size * g / (np.sqrt(total) + eps), total

    def effective_step_size(self, state, t):
        """(γ / (1 + (t − 1) η)) / (√s_t + ε)."""
        return self.lr / (1 + (t - 1) * self.lr_decay) / (np.sqrt(state.sum) + self.eps)


@dataclass(frozen=True, kw_only=True)
class Adadelta(Optimizer):
    r"""Adadelta, as torch.optim.Adadelta.

    v_t = ρ v_{t−1} + (1 − ρ) g_t²;   Δ_t = (√(u_{t−1} + ε) / √(v_t + ε)) g_t
    u_t = ρ u_{t−1} + (1 − ρ) Δ_t²;   x_t = x_{t−1} − γ Δ_t

    with g_t = ∇f(x_{t−1}) + λ x_{t−1}.
    Zeiler, "ADADELTA: An Adaptive Learning Rate Method" (2012).
    """

    name: ClassVar[str] = "adadelta"
    title: ClassVar[str] = "Adadelta"
    note: ClassVar[str] = (
        "Adagrad with running averages instead of sums, and steps measured in the units of the point, so "
        "it needs almost no learning rate.")
    paper: ClassVar[str] = "Zeiler, 2012"
    state = ("square_avg", "acc_delta")

    lr: float = 1.0
    rho: float = 0.9
    eps: float = 1e-6
    weight_decay: float = 0.0

    def check(self) -> None:
        super().check()
        check_range(self.name, "rho", self.rho, 0.0, 1.0, high_open=False)
        check_range(self.name, "eps", self.eps, 0.0)
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)

    def coefficients(self, t):
        return self.lr, self.rho, self.eps, self.weight_decay

    @staticmethod
    def update(x, g, square_avg, acc_delta, lr, rho, eps, weight_decay):
        x, g = weight_decayed(x, g, weight_decay, lr, False)
        square_avg = ema_of_square(square_avg, g, rho)
        delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * g
        acc_delta = ema_of_square(acc_delta, delta, rho)
        return x - lr * delta, square_avg, acc_delta

    def effective_step_size(self, state, t):
        """γ √(u_t + ε) / √(v_t + ε): the factor on g with the averages after step t (step t
        itself used u_{t−1})."""
        return self.lr * np.sqrt(state.acc_delta + self.eps) / np.sqrt(state.square_avg + self.eps)


# ---------------------------------------------------------------------------------------
# Newer optimizers, from their papers (torch.optim does not have them)
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Lion(Optimizer):
    r"""Lion (EvoLved Sign Momentum), the paper's Algorithm 2.

    c_t = β₁ m_{t−1} + (1 − β₁) g_t
    x_t = x_{t−1} − γ (sign(c_t) + λ x_{t−1})
    m_t = β₂ m_{t−1} + (1 − β₂) g_t

    with g_t = ∇f(x_{t−1}) and decoupled weight decay λ. Every coordinate moves by ±γ.
    Chen et al., "Symbolic Discovery of Optimization Algorithms" (2023).
    """

    name: ClassVar[str] = "lion"
    title: ClassVar[str] = "Lion"
    note: ClassVar[str] = (
        "Moves every coordinate by the same amount, the learning rate, in the direction of the sign of an"
        " interpolated momentum: found by a program search.")
    paper: ClassVar[str] = "Chen et al., 2023"
    state = ("exp_avg",)

    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 0.0

    def check(self) -> None:
        super().check()
        _check_betas(self.name, self.betas)
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)

    def coefficients(self, t):
        return self.lr, self.betas[0], self.betas[1], self.weight_decay

    @staticmethod
    def update(x, g, m, lr, beta1, beta2, weight_decay):
        direction = np.sign(beta1 * m + (1 - beta1) * g)
        x, g = weight_decayed(x, g, weight_decay, lr, True)
        m = beta2 * m + (1 - beta2) * g
        return x - lr * direction, m


@dataclass(frozen=True, kw_only=True)
class AdaBelief(Optimizer):
    r"""AdaBelief, the paper's Algorithm 2: Adam whose step scales with the belief in the
    gradient, the average squared distance of g from its prediction m.

    m_t = β₁ m_{t−1} + (1 − β₁) g_t;   s_t = β₂ s_{t−1} + (1 − β₂)(g_t − m_t)² + ε
    x_t = x_{t−1} − γ (m_t / (1 − β₁ᵗ)) / (√(s_t / (1 − β₂ᵗ)) + ε)

    with g_t = ∇f(x_{t−1}).
    Zhuang et al., "AdaBelief Optimizer: Adapting Stepsizes by the Belief in Observed
    Gradients" (2020).
    """

    name: ClassVar[str] = "adabelief"
    title: ClassVar[str] = "AdaBelief"
    note: ClassVar[str] = (
        "Adam that scales steps by how far the gradient is from its prediction: large steps where the "
        "gradient is as expected, small where it surprises.")
    paper: ClassVar[str] = "Zhuang et al., 2020"
    state = ("exp_avg", "exp_avg_var")

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-16

    def check(self) -> None:
        super().check()
        _check_betas(self.name, self.betas)
        check_range(self.name, "eps", self.eps, 0.0)

    def coefficients(self, t):
        beta1, beta2 = self.betas
        return self.lr, beta1, beta2, self.eps, 1 - beta1**t, 1 - beta2**t

    @staticmethod
    def update(x, g, m, s, lr, beta1, beta2, eps, correction1, correction2):
        m = beta1 * m + (1 - beta1) * g
        s = ema_of_square(s, g - m, beta2) + eps
        return x - lr * (m / correction1) / (np.sqrt(s / correction2) + eps), m, s


# ---------------------------------------------------------------------------------------
# Self-tuning optimizers the article's closing paragraph asks about, from their papers
# ---------------------------------------------------------------------------------------
_TINY = np.finfo(float).tiny  # the smallest positive normal float


class EveState(NamedTuple):
    exp_avg: np.ndarray  # first moment m
    exp_avg_sq: np.ndarray  # second moment v
    d: np.ndarray  # (N,): the feedback coefficient d_t that divides the step
    loss_hat: np.ndarray  # (N,): f̂_{t−1}, the clipped running loss, measured from f* (f̂ − f*)


@dataclass(frozen=True, kw_only=True)
class Eve(Optimizer):
    r"""Eve: Adam with feedback from the loss, Algorithm 1 of the paper.

    m_t, v_t, m̂_t = m_t / (1 − β₁ᵗ), v̂_t = v_t / (1 − β₂ᵗ) as in Adam; φ_t = f(x_{t−1}) − f*
    t = 1:  f̂ = φ_1,  d_1 = 1
    t > 1:  (δ, Δ) = (k + 1, K + 1) if φ_t ≥ f̂_prev, else (1/(K + 1), 1/(k + 1))
            c_t = min(max(δ, φ_t / f̂_prev), Δ);    f̂ = c_t f̂_prev
            r_t = |f̂ − f̂_prev| / min(f̂, f̂_prev);   d_t = β₃ d_{t−1} + (1 − β₃) r_t
    x_t = x_{t−1} − γ m̂_t / (d_t √v̂_t + ε)

    with g_t = ∇f(x_{t−1}), betas = (β₁, β₂, β₃), k = lower_threshold, K = upper_threshold.
    Koushik & Hayashi, "Improving Stochastic Gradient Descent with Feedback" (2016),
    arXiv:1611.01505v1.

    What is followed, exactly: Algorithm 1 as printed. The loss compared is f(x_{t−1}), the
    loss where this step's gradient is taken (the engine passes it as `loss`), and it is
    compared with the *smoothed* previous loss f̂, not with the previous raw loss (≥ selects
    the rising branch; the authors' Keras code uses >). The clipping acts on the ratio c_t of
    the two (so f̂ moves by a factor in [k + 1, K + 1] or [1/(K + 1), 1/(k + 1)] every step);
    d is not clipped, but since r_t = |c_t − 1| / min(c_t, 1) lies in [k, K], d stays between
    min(1, k) and max(1, K). ε is added after multiplying √v̂ by d, with both moments
    bias-corrected (the Keras code folds the corrections into the step size instead, which
    moves ε). The 2018 revision ("Eve: A Gradient Based Optimization Method with Locally and
    Globally Adaptive Learning Rates") instead clips d_t = |f_t − f_{t−1}| /
    (min(f_t, f_{t−1}) − f*) itself to [1/c, c] and averages the clipped values; that is not
    what this implements.

    f_star, the lower bound f*: Algorithm 1 works on relative changes of a loss whose
    minimum is 0; here it runs on f − f*. The default 0 suits non-negative functions; the
    dashboard passes the function's known f_min where there is one. Where f − f* ≤ 0 (f* is
    not a lower bound, or a point sits exactly at it) the gap is floored at the smallest
    positive float, so the feedback stays finite (it then reads as a large relative drop).
    """

    name: ClassVar[str] = "eve"
    title: ClassVar[str] = "Eve"
    note: ClassVar[str] = (
        "Adam whose learning rate shrinks or grows with the recent relative change of the loss "
        "itself.")
    paper: ClassVar[str] = "Hayashi et al., 2016"
    State: ClassVar[type] = EveState
    needs_loss: ClassVar[bool] = True

    lr: float = 1e-3
    betas: tuple[float, float, float] = (0.9, 0.999, 0.999)
    eps: float = 1e-8
    lower_threshold: float = 0.1
    upper_threshold: float = 10.0
    f_star: float = 0.0

    def check(self) -> None:
        super().check()
        if not (isinstance(self.betas, (tuple, list)) and len(self.betas) == 3):
            raise ValueError(
                f"{self.name}: betas must be a triple (beta1, beta2, beta3), each in [0.0, 1.0), got {self.betas!r}"
            )
        for i, beta in enumerate(self.betas):
            check_range(self.name, f"betas[{i}]", beta, 0.0, 1.0)
        check_range(self.name, "eps", self.eps, 0.0)
        check_range(self.name, "lower_threshold", self.lower_threshold, 0.0, low_open=True)
        check_range(self.name, "upper_threshold", self.upper_threshold, float(self.lower_threshold))
        check_range(self.name, "f_star", self.f_star, -math.inf, low_open=True)

    def init(self, params):
        points = np.shape(params)[:-1]
        return EveState(np.zeros_like(params, dtype=float), np.zeros_like(params, dtype=float), np.ones(points), np.zeros(points))

    def step(self, params, grad, state, t, loss=None):
        if loss is None:
            raise ValueError(f"{self.name}: step needs loss = f(params) (needs_loss is True)")
        beta1, beta2, beta3 = self.betas
        k, big_k = self.lower_threshold, self.upper_threshold
        m = beta1 * state.exp_avg + (1 - beta1) * grad
        v = ema_of_square(state.exp_avg_sq, grad, beta2)
        gap = np.maximum(np.asarray(loss, dtype=float) - self.f_star, _TINY)  # φ_t = f(x_{t−1}) − f*
        if t == 1:
            loss_hat, d = gap, np.ones_like(gap)
        else:
            previous = state.loss_hat
            rising = gap >= previous
            low = np.where(rising, k + 1, 1 / (big_k + 1))
            high = np.where(rising, big_k + 1, 1 / (k + 1))
            with np.errstate(over="ignore"):  # a ratio that overflows is clipped to Δ anyway
                c = np.minimum(np.maximum(low, gap / previous), high)
            loss_hat = np.maximum(c * previous, _TINY)
            r = np.abs(loss_hat - previous) / np.minimum(loss_hat, previous)
            d = beta3 * state.d + (1 - beta3) * r
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        params = params - self.lr * m_hat / (d[..., None] * np.sqrt(v_hat) + self.eps)
        return params, EveState(m, v, d, loss_hat)

    def effective_step_size(self, state, t):
        """γ / (d_t √v̂_t + ε)."""
        v_hat = state.exp_avg_sq / (1 - self.betas[1] ** t)
        return self.lr / (state.d[..., None] * np.sqrt(v_hat) + self.eps)

    def internals(self, state, t):
        return {**super().internals(state, t), "feedback d": state.d}


class YellowFinState(NamedTuple):
    velocity: np.ndarray  # x_t − x_{t−1}
    curvatures: np.ndarray  # (N, w): the last w values of h = ‖g‖² (before step w, padded with h_1)
    h_min_avg: np.ndarray  # (N,): running average of the window's smallest h
    h_max_avg: np.ndarray  # (N,): running average of the window's largest h
    grad_avg: np.ndarray  # ḡ, running average of g
    grad_norm_sq_avg: np.ndarray  # (N,): running average of ‖g‖² (the paper's 1ᵀ(g²)‾ and h̄)
    grad_norm_avg: np.ndarray  # (N,): running average of ‖g‖
    dist_avg: np.ndarray  # (N,): running average of (‖g‖)‾ / h̄, the distance D before debiasing
    tuned_lr: np.ndarray  # (N,): α, running average of the tuned α_t (starts at lr)
    tuned_momentum: np.ndarray  # (N,): μ, running average of the tuned μ_t (starts at momentum)


def _ratio_or_zero(numerator, denominator):
    """numerator / denominator, 0 where the denominator is 0 (without a warning)."""
    nonzero = denominator != 0
    return np.where(nonzero, numerator / np.where(nonzero, denominator, 1.0), 0.0)


def yellowfin_single_step(h_min, h_max, C, D):
    r"""YellowFin's SingleStep tuner, for h_max > 0: returns (μ_t, α_t) with

        μ_t, α_t = argmin μ D² + α² C   s.t.  √μ ≥ (√κ − 1)/(√κ + 1),  α = (1 − √μ)² / h_min,

    κ = h_max / h_min. With α substituted, x = √μ minimizes x² D² + (1 − x)⁴ C / h_min²:
    y = x − 1 is the real root (in (−1, 0)) of y³ + p y + p = 0, p = D² h_min² / (2C). The
    paper writes it with Vieta's substitution, y = w − p/(3w), w³ = −(p + √(p² + 4p³/27))/2;
    this evaluates the same root in the equivalent hyperbolic form
    1 − x = (3/a) sinh(⅓ arsinh a), a = (3/2)√(3/p) = √(13.5 C) / (D h_min), in which nothing
    cancels when p is large (Vieta's two terms then nearly cancel). Then
    √μ_t = max(x, (√κ − 1)/(√κ + 1)) and α_t = (1 − √μ_t)² / h_min.

    The degenerate cases, as the formulas specialize (no ε is added, unlike the official code):
      C = 0 (p = ∞: gradients that have not changed, e.g. exact gradients at t = 1): x = 0, so
        μ_t = ((√κ − 1)/(√κ + 1))² and α_t = (1 − √μ_t)²/h_min = 4 / (√h_max + √h_min)², the
        noiseless tuning of heavy-ball momentum for the curvature range [h_min, h_max];
      D·h_min = 0 (p = 0, e.g. h_min = 0 after zero gradients): x = 1, μ_t = 1 and α_t = 0.
    """
    root_min, root_max = np.sqrt(h_min), np.sqrt(h_max)
    bound_gap = 2 * root_min / (root_max + root_min)  # 1 − (√κ − 1)/(√κ + 1)
    scale = D * h_min
    a = np.sqrt(13.5) * np.sqrt(C) / np.where(scale > 0, scale, 1.0)
    regular = (scale > 0) & (a > 0) & np.isfinite(a)
    a = np.where(regular, a, 1.0)
    root_gap = np.where(regular, 3 * np.sinh(np.arcsinh(a) / 3) / a,  # 1 − x
                        np.where((scale > 0) & (C == 0), 1.0, 0.0))
    gap = np.minimum(root_gap, bound_gap)  # 1 − √μ_t
    return (1 - gap) ** 2, _ratio_or_zero(gap * gap, h_min)


def _check_count(owner: str, name: str, value, low: int, high: int | None = None) -> None:
    """Raise ValueError unless value is a whole number ≥ low (and ≤ high, if given); 10 and
    10.0 both pass."""
    whole = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value) \
        and float(value).is_integer()
    if not whole or value < low or (high is not None and value > high):
        accepted = f"a whole number >= {low}" if high is None else f"a whole number in [{low}, {high}]"
        raise ValueError(f"{owner}: invalid {name} {value!r}; accepted: {accepted}")


@dataclass(frozen=True, kw_only=True)
class YellowFin(Optimizer):
    r"""YellowFin: momentum SGD that tunes its own learning rate and momentum, Algorithm 1 of
    the paper with its SingleStep tuner (Algorithms 2–4 for the measurements).

    h_t = ‖g_t‖²;   h_min,t, h_max,t = min, max of the last w values of h
    h_min ← β h_min + (1 − β) h_min,t;   h_max ← β h_max + (1 − β) h_max,t      (curvature range)
    ḡ ← β ḡ + (1 − β) g_t;   h̄ ← β h̄ + (1 − β) ‖g_t‖²;   C = h̄ − ‖ḡ‖²          (variance)
    (‖g‖)‾ ← β (‖g‖)‾ + (1 − β) ‖g_t‖;   D ← β D + (1 − β) (‖g‖)‾ / h̄          (distance)
    μ_t, α_t = SingleStep(C, D, h_min, h_max): x = √μ from the cubic (see
        `yellowfin_single_step`), μ_t = max(x², ((√κ − 1)/(√κ + 1))²), κ = h_max / h_min,
        α_t = (1 − √μ_t)² / h_min
    α ← β α + (1 − β) α_t;   μ ← β μ + (1 − β) μ_t        (α_0 = lr, μ_0 = momentum)
    x_t = x_{t−1} − α g_t + μ (x_{t−1} − x_{t−2})

    with g_t = ∇f(x_{t−1}) and x_{−1} = x_0. Zhang & Mitliagkas, "YellowFin and the Art of
    Momentum Tuning" (2017), arXiv:1706.03471.

    As in the authors' implementation, h_min, h_max, C and D are zero-debiased (each running
    average divided by 1 − βᵗ; the paper's pseudo-code omits this, and without it the
    estimates are ~1000× too small for the first steps), and the tuned values are themselves
    averaged with β before use (as in the implementation's first release and its tests;
    later releases use α_t, μ_t directly by default). The tuner runs from the first step
    (the implementation keeps lr and momentum unchanged at its step 0). The update is the
    paper's x_t = x_{t−1} − α g + μ(x_{t−1} − x_{t−2}) (the implementation feeds α, μ to a
    torch/TF momentum optimizer, which differs while α changes). Its extras (log-scale
    smoothing of h, gradient clipping, the lr warm-up, sparsity debiasing) are left out.

    Exact gradients: C estimates the gradient variance from the running averages of g and
    g², so along a noise-free path it measures how much the gradient has changed, and is 0
    only while it has not (at t = 1, or for a constant gradient; up to rounding, as
    h̄ − ‖ḡ‖² cancels, so it is clamped at 0). Then the SingleStep problem and its closed
    form give x = 0 (p = ∞, not p = 0): μ_t is the robust-region bound and
    α_t = 4 / (√h_max + √h_min)², with no ε involved; a rounding-sized C gives x ≈ 1/p ≈ 0.
    A start at a stationary point (g = 0, so h = 0) leaves the tuned values unchanged until a
    gradient is non-zero.

    The curvature estimate is ‖g‖², not a second derivative, so α_t scales like 1/‖g‖²: from
    a start where the gradient is small but the curvature is not (next to a minimum, or in
    Rosenbrock's valley from (−1, 1)) the tuned lr overshoots and the run diverges. That is
    the algorithm on exact gradients, not a numerical accident.

    Defaults: β = 0.999, w = 20 and momentum 0 as in the paper; lr = 1e-4, the official
    implementation's initial learning rate (the paper's experiments start from 1.0, which
    here makes the first steps diverge on most functions, as α moves away from its start
    by only 0.1% a step).
    """

    name: ClassVar[str] = "yellowfin"
    title: ClassVar[str] = "YellowFin"
    note: ClassVar[str] = (
        "Momentum SGD that measures the curvature and gradient noise as it goes and tunes its own "
        "learning rate and momentum from them.")
    paper: ClassVar[str] = "Zhang & Mitliagkas, 2019"
    State: ClassVar[type] = YellowFinState

    lr: float = 1e-4
    momentum: float = 0.0
    beta: float = 0.999
    curv_win_width: int = 20

    def check(self) -> None:
        super().check()
        check_range(self.name, "momentum", self.momentum, 0.0, 1.0)
        check_range(self.name, "beta", self.beta, 0.0, 1.0)
        _check_count(self.name, "curv_win_width", self.curv_win_width, 1)

    def init(self, params):
        points = np.shape(params)[:-1]
        zeros = np.zeros(points)
        return YellowFinState(
            velocity=np.zeros_like(params, dtype=float), curvatures=np.zeros(points + (int(self.curv_win_width),)),
            h_min_avg=zeros, h_max_avg=zeros, grad_avg=np.zeros_like(params, dtype=float), grad_norm_sq_avg=zeros,
            grad_norm_avg=zeros, dist_avg=zeros, tuned_lr=np.full(points, float(self.lr)),
            tuned_momentum=np.full(points, float(self.momentum)),
        )

    def estimates(self, state: YellowFinState, t: int):
        """The debiased measurements after step t: (h_min, h_max, C, D), each (N,)."""
        debias = 1 - self.beta**t
        grad_avg = state.grad_avg / debias
        variance = state.grad_norm_sq_avg / debias - np.sum(grad_avg * grad_avg, axis=-1)
        return (state.h_min_avg / debias, state.h_max_avg / debias, np.maximum(variance, 0.0),
                state.dist_avg / debias)

    def step(self, params, grad, state, t, loss=None):
        beta = self.beta
        h = np.sum(grad * grad, axis=-1)
        if t == 1:
            window = np.repeat(h[..., None], int(self.curv_win_width), axis=-1)
        else:
            window = np.concatenate([state.curvatures[..., 1:], h[..., None]], axis=-1)
        grad_norm_sq_avg = beta * state.grad_norm_sq_avg + (1 - beta) * h
        grad_norm_avg = beta * state.grad_norm_avg + (1 - beta) * np.sqrt(h)
        state = state._replace(
            curvatures=window,
            h_min_avg=beta * state.h_min_avg + (1 - beta) * window.min(axis=-1),
            h_max_avg=beta * state.h_max_avg + (1 - beta) * window.max(axis=-1),
            grad_avg=beta * state.grad_avg + (1 - beta) * grad,
            grad_norm_sq_avg=grad_norm_sq_avg,
            grad_norm_avg=grad_norm_avg,
            dist_avg=beta * state.dist_avg + (1 - beta) * _ratio_or_zero(grad_norm_avg, grad_norm_sq_avg),
        )
        h_min, h_max, variance, distance = self.estimates(state, t)
        measured = h_max > 0  # some gradient so far was non-zero
        mu_t, alpha_t = yellowfin_single_step(h_min, np.where(measured, h_max, 1.0), variance, distance)
        alpha = beta * state.tuned_lr + (1 - beta) * np.where(measured, alpha_t, state.tuned_lr)
        mu = beta * state.tuned_momentum + (1 - beta) * np.where(measured, mu_t, state.tuned_momentum)
        velocity = mu[..., None] * state.velocity - alpha[..., None] * grad
        return params + velocity, state._replace(velocity=velocity, tuned_lr=alpha, tuned_momentum=mu)

    def effective_step_size(self, state, t):
        """α, the tuned learning rate, on both coordinates."""
        return np.repeat(state.tuned_lr[..., None], 2, axis=-1)

    def internals(self, state, t):
        h_min, h_max, variance, distance = self.estimates(state, t)
        return {
            "effective step size x": state.tuned_lr, "effective step size y": state.tuned_lr,
            "tuned lr": state.tuned_lr, "tuned momentum": state.tuned_momentum,
            "velocity norm": np.linalg.norm(state.velocity, axis=-1),
            "h_min": h_min, "h_max": h_max, "variance C": variance, "distance D": distance,
        }


# ---------------------------------------------------------------------------------------
# More of torch.optim: Rprop, ASGD, Adafactor
# ---------------------------------------------------------------------------------------
def _check_pair(owner: str, name: str, value, meaning: str) -> None:
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ValueError(f"{owner}: {name} must be a pair {meaning}, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Rprop(Optimizer):
    r"""Rprop (resilient backpropagation), as torch.optim.Rprop.

    η_t = η₊ where g_t g'_{t−1} > 0,  η₋ where g_t g'_{t−1} < 0,  1 where it is 0
    Δ_t = min(max(η_t Δ_{t−1}, Δ_min), Δ_max)                        (Δ_0 = γ)
    g'_t = 0 where g_t g'_{t−1} < 0, else g_t
    x_t = x_{t−1} − Δ_t sign(g'_t)

    per coordinate, with g_t = ∇f(x_{t−1}), g'_0 = 0, (η₋, η₊) = etas and
    (Δ_min, Δ_max) = step_sizes. Only the gradient's sign is used: a coordinate's step grows
    while its sign holds; when the sign flips the step shrinks and that coordinate does not
    move (torch's variant, known as iRprop⁻; the paper also takes the previous step back).
    Riedmiller & Braun, "A Direct Adaptive Method for Faster Backpropagation Learning: The
    RPROP Algorithm" (1993).
    """

    name: ClassVar[str] = "rprop"
    title: ClassVar[str] = "Rprop"
    note: ClassVar[str] = (
        "Ignores the gradient's size and keeps a step size per coordinate: it grows while the "
        "gradient's sign stays the same and is cut when the sign flips.")
    paper: ClassVar[str] = "Riedmiller & Braun, 1993"
    state = ("prev", "step_size")

    lr: float = 1e-2
    etas: tuple[float, float] = (0.5, 1.2)
    step_sizes: tuple[float, float] = (1e-6, 50.0)

    def check(self) -> None:
        super().check()
        _check_pair(self.name, "etas", self.etas, "(etaminus, etaplus), 0 < etaminus < 1 < etaplus")
        check_range(self.name, "etas[0]", self.etas[0], 0.0, 1.0, low_open=True)
        check_range(self.name, "etas[1]", self.etas[1], 1.0, low_open=True)
        _check_pair(self.name, "step_sizes", self.step_sizes, "(min, max), 0 <= min <= max")
        check_range(self.name, "step_sizes[0]", self.step_sizes[0], 0.0)
        check_range(self.name, "step_sizes[1]", self.step_sizes[1], float(self.step_sizes[0]))

    def init(self, params):
        """g'_0 = 0 and every step size Δ_0 = lr."""
        return self.State(np.zeros_like(params, dtype=float), np.full_like(params, self.lr, dtype=float))

    def coefficients(self, t):
        return self.etas[0], self.etas[1], self.step_sizes[0], self.step_sizes[1]

    @staticmethod
    def update(x, g, prev, step_size, etaminus, etaplus, step_size_min, step_size_max):
        agreement = np.sign(g * prev)
        held = np.maximum(agreement, 0.0)  # 1 where the sign held, else 0
        flipped = np.maximum(-agreement, 0.0)  # 1 where it flipped, else 0
        factor = held * etaplus + flipped * etaminus + (1.0 - held - flipped)  # exactly η₊, η₋ or 1
        step_size = np.minimum(np.maximum(step_size * factor, step_size_min), step_size_max)
        g = g * (1.0 - flipped)
        return x - np.sign(g) * step_size, g, step_size

    def effective_step_size(self, state, t):
        """Δ_t, the distance each coordinate moved at step t (unless its sign flipped)."""
        return state.step_size


@dataclass(frozen=True, kw_only=True)
class ASGD(Optimizer):
    r"""Averaged SGD, as torch.optim.ASGD: SGD with a decaying step size, a decay term, and
    the running average of its points.

    η_t = γ / (1 + λγ(t − 1))^α;   μ_t = 1 / max(1, t − 1 − t₀)
    x_t = (1 − λη_t) x_{t−1} − η_t g_t
    x̄_t = x_t where μ_t = 1, else x̄_t = x̄_{t−1} + μ_t (x_t − x̄_{t−1})

    with g_t = ∇f(x_{t−1}) + w x_{t−1} (w = weight_decay, λ = lambd). The path is x_t; x̄_t
    (`ax` in the state) is the average Polyak and Juditsky prove converges faster: from step
    t₀ + 2 on it is the mean of the points since then (before, it is the point itself). The
    schedule of η and the decay term 1 − λη are torch's form, not the paper's.
    Polyak & Juditsky, "Acceleration of Stochastic Approximation by Averaging" (1992).
    """

    name: ClassVar[str] = "asgd"
    title: ClassVar[str] = "ASGD"
    note: ClassVar[str] = (
        "Gradient descent with a slowly shrinking step, which also keeps the average of its points "
        "since step t₀: on noisy gradients that average settles where the points jitter.")
    paper: ClassVar[str] = "Polyak & Juditsky, 1992"
    state = ("ax",)

    lr: float = 1e-2
    lambd: float = 1e-4
    alpha: float = 0.75
    t0: float = 1e6
    weight_decay: float = 0.0

    def check(self) -> None:
        super().check()
        check_range(self.name, "lambd", self.lambd, 0.0)
        check_range(self.name, "alpha", self.alpha, 0.0)
        check_range(self.name, "t0", self.t0, 0.0)
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)

    def _eta(self, t: int) -> float:
        """η_t, in torch's order of operations."""
        return self.lr / ((1 + self.lambd * self.lr * (t - 1)) ** self.alpha)

    def coefficients(self, t):
        eta = self._eta(t)
        return eta, 1 - self.lambd * eta, 1 / max(1, (t - 1) - self.t0), self.weight_decay

    @staticmethod
    def update(x, g, ax, eta, decay, mu, weight_decay):
        x, g = weight_decayed(x, g, weight_decay, eta, False)
        x = x * decay - eta * g
        if mu != 1:
            return x, ax + (x - ax) * mu
        return x, x

    def effective_step_size(self, state, t):
        """η_t, the factor on the gradient at step t."""
        return np.full(state.ax.shape, self._eta(t))

    def internals(self, state, t):
        return {**super().internals(state, t), "averaged x": state.ax[..., 0], "averaged y": state.ax[..., 1]}


class AdafactorState(NamedTuple):
    variance: np.ndarray  # v_t, the running average of g²
    step_scale: np.ndarray  # (N,): α_t / max(1, RMS(u_t)/d), the factor on u_t (for the look inside)


_RMS_OF_TWO = 2**0.5  # a start's parameter has two elements: RMS(v) = ‖v‖ / √2


@dataclass(frozen=True, kw_only=True)
class Adafactor(Optimizer):
    r"""Adafactor, as torch.optim.Adafactor, on each start as one parameter vector of two
    elements.

    ρ_t = min(γ, 1/√t);   α_t = max(ε₂, RMS(x_{t−1})) ρ_t;   β̂_t = 1 − t^τ
    v_t = β̂_t v_{t−1} + (1 − β̂_t) g_t²
    u_t = g_t / √max(v_t, ε₁²);   û_t = u_t / max(1, RMS(u_t) / d)
    x_t = (1 − γλ) x_{t−1} − α_t û_t

    with g_t = ∇f(x_{t−1}), τ = beta2_decay, (ε₁, ε₂) = eps (ε₁ = None: the machine epsilon),
    RMS(v) = ‖v‖/√2. The step is relative to the point's size (α_t), and the RMS of the
    point and of u mix the two coordinates. A vector's second moment is not factored (the
    row/column factors apply to matrices), so v is kept per coordinate. torch's variant of
    the paper: ε₁ bounds √v from below instead of being added to g², γ caps the relative
    step ρ_t (the paper's 10⁻²) and scales the weight decay, and there is no momentum.
    Shazeer & Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost" (2018).
    """

    name: ClassVar[str] = "adafactor"
    title: ClassVar[str] = "Adafactor"
    note: ClassVar[str] = (
        "Steps in proportion to the size of the point itself, each coordinate scaled by its running "
        "gradient size as in RMSprop, and the whole step capped in length.")
    paper: ClassVar[str] = "Shazeer & Stern, 2018"
    State: ClassVar[type] = AdafactorState

    lr: float = 1e-2
    beta2_decay: float = -0.8
    eps: tuple[float | None, float] = (None, 1e-3)
    d: float = 1.0
    weight_decay: float = 0.0

    def check(self) -> None:
        super().check()
        check_range(self.name, "beta2_decay", self.beta2_decay, -math.inf, 0.0, low_open=True, high_open=False)
        _check_pair(self.name, "eps", self.eps, "(eps1, eps2), eps1 None or >= 0, eps2 >= 0")
        if self.eps[0] is not None:
            check_range(self.name, "eps[0]", self.eps[0], 0.0)
        check_range(self.name, "eps[1]", self.eps[1], 0.0)
        check_range(self.name, "d", self.d, 1.0)
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)

    @property
    def _eps1(self) -> float:
        return float(np.finfo(float).eps) if self.eps[0] is None else float(self.eps[0])

    def init(self, params):
        return AdafactorState(np.zeros_like(params, dtype=float), np.zeros(np.shape(params)[:-1]))

    def step(self, params, grad, state, t, loss=None):
        eps1 = self._eps1
        rho = min(self.lr, 1 / (float(t) ** 0.5))
        alpha = np.maximum(self.eps[1], np.linalg.norm(params, axis=-1) / _RMS_OF_TWO) * rho
        if self.weight_decay != 0:
            params = params * (1 - self.lr * self.weight_decay)
        variance = lerp(state.variance, grad * grad, float(t) ** self.beta2_decay)
        u = grad * (1.0 / np.sqrt(np.maximum(variance, eps1 * eps1)))
        scale = alpha / np.maximum(1.0, np.linalg.norm(u, axis=-1) / (_RMS_OF_TWO * self.d))
        return params + -scale[..., None] * u, AdafactorState(variance, scale)

    def effective_step_size(self, state, t):
        """α_t / max(1, RMS(u_t)/d) / √max(v_t, ε₁²): the factor on g_t."""
        eps1 = self._eps1
        return state.step_scale[..., None] / np.sqrt(np.maximum(state.variance, eps1 * eps1))

    def internals(self, state, t):
        out = super().internals(state, t)
        out["second moment x"], out["second moment y"] = state.variance[..., 0], state.variance[..., 1]
        return out


# ---------------------------------------------------------------------------------------
# Quasi-Newton: L-BFGS (torch.optim.LBFGS, one iteration per step)
# ---------------------------------------------------------------------------------------
def _dot(a, b):
    """a·b over the last axis of (..., 2) arrays, summed as torch's dot of two numbers."""
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1]


def lbfgs_two_loop(grad, old_dirs, old_stps, ro, num_old, H_diag):
    r"""The L-BFGS direction d = −H g of each point, by the two-loop recursion (Nocedal & Wright,
    Numerical Optimization, Algorithm 7.4; Liu & Nocedal 1989), as torch computes it:

        q ← −g
        for i = newest … oldest:   α_i = ρ_i s_iᵀq;   q ← q − α_i y_i
        r ← γ q                                        (H⁰ = γ I, γ = H_diag)
        for i = oldest … newest:   β_i = ρ_i y_iᵀr;   r ← r + (α_i − β_i) s_i
        d = r

    with the stored pairs s_i = x_{i+1} − x_i, y_i = ∇f(x_{i+1}) − ∇f(x_i), ρ_i = 1 / y_iᵀs_i.
    H is BFGS's inverse Hessian approximation, built from γI by the stored pairs.

    grad (n, 2); the pairs age-major (each pair of all points contiguous): old_dirs (y) and
    old_stps (s) (k, n, 2), ro (k, n), oldest first. A point's num_old pairs are the last ones,
    k − num_old … k − 1, and the places before them hold zeros: masking their coefficients
    α_i and α_i − β_i to 0 leaves q and r exactly as they were, so each point follows its own
    recursion exactly."""
    k = len(ro)
    first = k - num_old  # each point's oldest pair
    alpha = np.empty((k, len(grad)))
    q = -grad
    for i in range(k - 1, -1, -1):
        alpha[i] = np.where(i >= first, _dot(old_stps[i], q) * ro[i], 0.0)
        q = q - alpha[i, :, None] * old_dirs[i]
    r = q * H_diag[:, None]
    for i in range(k):
        beta = _dot(old_dirs[i], r) * ro[i]
        r = r + np.where(i >= first, alpha[i] - beta, 0.0)[:, None] * old_stps[i]
    return r


def _remember(memory, new, where):
    """memory (N, m, ...), newest last, with `new` appended (and its oldest entry dropped) at
    the points `where`; a new array."""
    out = np.empty_like(memory)
    out[:, :-1], out[:, -1] = memory[:, 1:], new
    unchanged = ~where
    out[unchanged] = memory[unchanged]
    return out


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, low=None, high=None):
    """The minimizer of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clipped to
    [low, high] (default: between x1 and x2); the middle of that interval where the cubic has
    no minimizer (Nocedal & Wright, eq. 3.59; torch's `_cubic_interpolate`, from minFunc):

        d₁ = g1 + g2 − 3 (f1 − f2) / (x1 − x2),   d₂ = √(d₁² − g1 g2)
        x = x2 − (x2 − x1) (g2 + d₂ − d₁) / (g2 − g1 + 2 d₂)     (x1 ≤ x2; mirrored otherwise)
    """
    if low is None:
        forward = x1 <= x2
        low, high = np.where(forward, x1, x2), np.where(forward, x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    real = d2_square >= 0
    d2 = np.sqrt(np.where(real, d2_square, 0.0))
    minimizer = np.where(x1 <= x2, x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)),
                         x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2)))
    return np.where(real, np.minimum(np.maximum(minimizer, low), high), (low + high) / 2.0)


def strong_wolfe(function, x, d, f, gtd, t, max_ls, tolerance_change=1e-9, c1=1e-4, c2=0.9):
    r"""torch's strong-Wolfe line search (`torch.optim.lbfgs._strong_wolfe`) along d from each
    point x, on whole arrays: φ(t) = f(x + t d), φ′(t) = ∇f(x + t d)ᵀd, φ(0) = f, φ′(0) = gtd < 0.
    It looks for a step t with

        φ(t) ≤ φ(0) + c₁ t φ′(0)          (sufficient decrease)
        |φ′(t)| ≤ −c₂ φ′(0)                (curvature, strong form)

    Bracketing (Nocedal & Wright, Algorithm 3.5): from the initial t, stop when φ(t) fails the
    decrease test or is no lower than the previous trial (bracket [t_prev, t]), when the
    curvature test holds (done), or when φ′(t) ≥ 0 (bracket [t_prev, t]); else extrapolate to
    the cubic's minimizer clipped to [t + 0.01 (t − t_prev), 10 t]. Zoom (Algorithm 3.6):
    shrink the bracket by the cubic's minimizer (pulled 10% of the bracket inside when it lands
    at an end twice in a row), keeping the lower end, until both tests hold or the bracket is
    shorter than tolerance_change / max|d|. At most max_ls evaluations after the first; if
    they run out while bracketing, the bracket is [0, t]. The answer is the bracket's lower end.

    Each point searches on its own: the loops run over the points still searching, each
    iteration on all of them at once. Returns (t, evaluations, trials): the step length, the
    evaluations of f and ∇f made, and the trial points x + t d in order, (n, max_ls + 1, 2),
    NaN after the last. (torch also returns φ and ∇f at t, which one iteration does not use.)"""
    n = len(x)
    d_norm = np.abs(d).max(axis=-1)
    evaluations = np.zeros(n, dtype=np.int64)
    trials = np.full((n, max_ls + 1, 2), np.nan)

    def phi(rows, step):
        """φ and φ′ at t = step for the points `rows`, noting the trial points."""
        points = x[rows] + step[:, None] * d[rows]
        trials[rows, evaluations[rows]] = points
        evaluations[rows] += 1
        value = np.array(np.broadcast_to(np.asarray(function(points), dtype=float), rows.shape))
        return value, _dot(function.gradient(points), d[rows])

    everyone = np.arange(n)
    t = np.array(t, dtype=float)
    f_new, gtd_new = phi(everyone, t)
    t_prev, f_prev, gtd_prev = np.zeros(n), f.copy(), gtd.copy()
    ls_iter = np.zeros(n, dtype=np.int64)
    # The bracket's two ends (t, φ, φ′), in torch's order; `low` is the end with the lower φ.
    bracket, bracket_f, bracket_gtd = np.zeros((n, 2)), np.zeros((n, 2)), np.zeros((n, 2))
    done = np.zeros(n, dtype=bool)
    bracketed = np.zeros(n, dtype=bool)

    # Bracketing: the points still extrapolating.
    extrapolating = ls_iter < max_ls
    while (rows := np.flatnonzero(extrapolating)).size:
        step, value, slope = t[rows], f_new[rows], gtd_new[rows]
        too_high = (value > f[rows] + c1 * step * gtd[rows]) | ((ls_iter[rows] > 1) & (value >= f_prev[rows]))
        wolfe = ~too_high & (np.abs(slope) <= -c2 * gtd[rows])
        uphill = ~too_high & ~wolfe & (slope >= 0)
        onward = rows[~(too_high | wolfe | uphill)]  # still going down: extrapolate
        ends = rows[too_high | uphill]  # the bracket [t_prev, t] holds a good step
        bracket[ends] = np.stack([t_prev[ends], t[ends]], axis=-1)
        bracket_f[ends] = np.stack([f_prev[ends], f_new[ends]], axis=-1)
        bracket_gtd[ends] = np.stack([gtd_prev[ends], gtd_new[ends]], axis=-1)
        bracketed[ends] = True
        found = rows[wolfe]
        bracket[found, 0], bracket_f[found, 0], done[found] = t[found], f_new[found], True
        step = t[onward]
        new_step = _cubic_interpolate(t_prev[onward], f_prev[onward], gtd_prev[onward], step, f_new[onward],
                                      gtd_new[onward], step + 0.01 * (step - t_prev[onward]), step * 10)
        t_prev[onward], f_prev[onward], gtd_prev[onward] = step, f_new[onward], gtd_new[onward]
        t[onward] = new_step
        f_new[onward], gtd_new[onward] = phi(onward, new_step)
        ls_iter[onward] += 1
        extrapolating[rows] = False
        extrapolating[onward] = ls_iter[onward] < max_ls
    spent = np.flatnonzero(~done & ~bracketed)  # evaluations ran out while extrapolating
    bracket[spent] = np.stack([np.zeros(len(spent)), t[spent]], axis=-1)
    bracket_f[spent] = np.stack([f[spent], f_new[spent]], axis=-1)
    bracket_gtd[spent] = np.stack([gtd[spent], gtd_new[spent]], axis=-1)
    low = np.where(done | (bracket_f[:, 0] <= bracket_f[:, 1]), 0, 1)

    # Zoom: the points whose bracket still holds no step satisfying both tests.
    insufficient = np.zeros(n, dtype=bool)  # the last trial was close to an end of the bracket
    zooming = ~done & (ls_iter < max_ls)
    while (rows := np.flatnonzero(zooming)).size:
        short = np.abs(bracket[rows, 1] - bracket[rows, 0]) * d_norm[rows] < tolerance_change
        zooming[rows[short]] = False
        rows = rows[~short]
        if not rows.size:
            break
        (a, b), (fa, fb), (ga, gb) = bracket[rows].T, bracket_f[rows].T, bracket_gtd[rows].T
        step = _cubic_interpolate(a, fa, ga, b, fb, gb)
        top, bottom = np.maximum(a, b), np.minimum(a, b)
        margin = 0.1 * (top - bottom)
        near_end = np.minimum(top - step, step - bottom) < margin
        pull_in = near_end & (insufficient[rows] | (step >= top) | (step <= bottom))
        step = np.where(pull_in, np.where(np.abs(step - top) < np.abs(step - bottom), top - margin, bottom + margin),
                        step)
        insufficient[rows] = near_end & ~pull_in
        value, slope = phi(rows, step)
        ls_iter[rows] += 1

        lo, hi = low[rows], 1 - low[rows]
        too_high = (value > f[rows] + c1 * step * gtd[rows]) | (value >= bracket_f[rows, lo])
        # Too high: the trial replaces the high end.
        r, h = rows[too_high], hi[too_high]
        bracket[r, h], bracket_f[r, h], bracket_gtd[r, h] = step[too_high], value[too_high], slope[too_high]
        low[r] = np.where(bracket_f[r, 0] <= bracket_f[r, 1], 0, 1)
        # Low enough: the trial replaces the low end (the old low end becomes the high end if
        # the slope there points away from it); both tests holding ends the search.
        ok = ~too_high
        r, l, h, step, value, slope = rows[ok], lo[ok], hi[ok], step[ok], value[ok], slope[ok]
        wolfe = np.abs(slope) <= -c2 * gtd[r]
        done[r[wolfe]] = True
        flip = ~wolfe & (slope * (bracket[r, h] - bracket[r, l]) >= 0)
        rf, lf, hf = r[flip], l[flip], h[flip]
        for ends in (bracket, bracket_f, bracket_gtd):
            ends[rf, hf] = ends[rf, lf]
        bracket[r, l], bracket_f[r, l], bracket_gtd[r, l] = step, value, slope
        zooming[rows] = ~done[rows] & (ls_iter[rows] < max_ls)
    return bracket[everyone, low], evaluations, trials


class LBFGSState(NamedTuple):
    d: np.ndarray  # (N, 2): the last direction (torch's state "d")
    t: np.ndarray  # (N,): the last step length (torch's "t"; set also where the step was skipped)
    prev_flat_grad: np.ndarray  # (N, 2): the gradient at the start of the last iteration
    H_diag: np.ndarray  # (N,): γ = sᵀy / yᵀy of the newest pair, the scale of H⁰ = γ I
    n_iter: np.ndarray  # (N,) int: iterations so far (a step stopped by tolerance_grad is none)
    old_dirs: np.ndarray  # (N, history_size, 2): the y's, oldest first, the newest at the end
    old_stps: np.ndarray  # (N, history_size, 2): the s's, in the same places
    ro: np.ndarray  # (N, history_size): ρ = 1 / yᵀs, in the same places
    num_old: np.ndarray  # (N,) int: pairs in memory (the last num_old places; zeros before them)
    step_length: np.ndarray  # (N,): the τ the last step moved by along d, 0 where it did not move
    evaluations: np.ndarray  # (N,) int: evaluations of f and ∇f made by the last step
    trials: np.ndarray  # (N, max_eval or 0, 2): the last step's line-search trial points, NaN-padded


@dataclass(frozen=True, kw_only=True)
class LBFGS(Optimizer):
    r"""L-BFGS: a quasi-Newton method that models the inverse Hessian from its last m steps;
    one step is one iteration of torch.optim.LBFGS(max_iter=1).step(closure).

    d_t = −g_t at t = 1, else d_t = −H_t g_t      (two-loop recursion, `lbfgs_two_loop`)
    x_t = x_{t−1} + τ_t d_t

    with g_t = ∇f(x_{t−1}). H_t is BFGS's inverse Hessian approximation from H⁰ = γ I and the
    last m = history_size pairs s = τ_{t−1} d_{t−1}, y = g_t − g_{t−1}; a pair is stored only
    where yᵀs > 1e-10, and then γ = sᵀy / yᵀy. Step length: τ_1 = min(1, 1/‖g_1‖₁)·lr, then
    τ_t = lr; with line_search_fn="strong_wolfe" that is the first trial of torch's strong-Wolfe
    search (`strong_wolfe`, c₁ = 1e-4, c₂ = 0.9), with at most max_eval − 1 evaluations after its
    first. Liu & Nocedal, "On the limited memory BFGS method for large scale optimization"
    (1989), Mathematical Programming 45; Nocedal & Wright, Numerical Optimization (2006),
    Algorithms 7.4, 3.5 and 3.6.

    What is followed, exactly: torch's `LBFGS.step` with max_iter=1, one torch optimizer per
    start, down to its order of operations (tests/test_lbfgs.py compares the paths).
      * No move where max|g| ≤ tolerance_grad: torch returns at once, the state is kept and the
        iteration is not counted. No move either where gᵀd > −tolerance_change (d is no descent
        direction): that iteration counts (d, τ, the memory and the gradient are updated).
      * The gradient is the one the engine passes, torch's closure at the current point (with
        the run's gradient noise, if any); the line search evaluates f and ∇f itself, exactly.
      * Evaluations per step (`evaluations`): 1, the gradient, plus the line search's; without
        a line search torch evaluates nothing more in its last iteration.
      * torch's prev_loss is not kept: with max_iter=1 the loop ends before its tests read it.
      * The line search ends a zoom whose bracket is shorter than 1e-9 / max|d|, whatever
        tolerance_change is: torch does not pass tolerance_change on to `_strong_wolfe`.
      * max_eval, torch's bound on the evaluations of one step(closure): its default for
        max_iter=1 is 1·5//4 = 1, which leaves the search no evaluation after its first. It
        then keeps τ only if f decreased there, else the step does not move; with exact
        gradients nothing changes, so every later step tries the same point again (Rosenbrock
        from (−1.2, 1) never moves). A larger max_eval (torch's max_iter=20 comes with 25) runs
        the whole bracketing and zoom.
    """

    name: ClassVar[str] = "lbfgs"
    title: ClassVar[str] = "L-BFGS"
    note: ClassVar[str] = (
        "A quasi-Newton method: it estimates the curvature from its last steps and gradients, and "
        "steps to the minimum of that model (optionally with a line search).")
    paper: ClassVar[str] = "Liu & Nocedal, 1989"
    State: ClassVar[type] = LBFGSState
    needs_function: ClassVar[bool] = True  # for the line search
    CHOICES: ClassVar[dict[str, tuple]] = {"line_search_fn": (None, "strong_wolfe")}

    lr: float = 1.0
    history_size: int = 100
    tolerance_grad: float = 1e-7
    tolerance_change: float = 1e-9
    line_search_fn: str | None = None
    max_eval: int = 1

    def check(self) -> None:
        super().check()
        _check_count(self.name, "history_size", self.history_size, 1, 1000)
        check_range(self.name, "tolerance_grad", self.tolerance_grad, 0.0)
        check_range(self.name, "tolerance_change", self.tolerance_change, 0.0)
        if self.line_search_fn not in self.CHOICES["line_search_fn"]:
            raise ValueError(f"{self.name}: invalid line_search_fn {self.line_search_fn!r}; "
                             "accepted: None or 'strong_wolfe'")
        _check_count(self.name, "max_eval", self.max_eval, 1, 100)

    def init(self, params):
        n, m = len(params), int(self.history_size)
        trials = int(self.max_eval) if self.line_search_fn else 0
        return LBFGSState(
            d=np.zeros((n, 2)), t=np.zeros(n), prev_flat_grad=np.zeros((n, 2)), H_diag=np.ones(n),
            n_iter=np.zeros(n, dtype=np.int64), old_dirs=np.zeros((n, m, 2)), old_stps=np.zeros((n, m, 2)),
            ro=np.zeros((n, m)), num_old=np.zeros(n, dtype=np.int64), step_length=np.zeros(n),
            evaluations=np.zeros(n, dtype=np.int64), trials=np.full((n, trials, 2), np.nan),
        )

    def step(self, params, grad, state, t, loss=None, function=None):
        """One iteration per point. `function` (the TestFunction) is needed for the line search;
        `loss`, f(params), is evaluated there if not given."""
        searching = self.line_search_fn == "strong_wolfe"
        if searching and function is None:
            raise ValueError(f"{self.name}: line_search_fn='strong_wolfe' needs function= (the TestFunction)")
        params, grad = np.asarray(params, dtype=float), np.asarray(grad, dtype=float)
        n, m = len(params), int(self.history_size)
        with np.errstate(all="ignore"):  # a diverging point's infinities are the engine's to handle
            moving = ~(np.abs(grad).max(axis=-1) <= self.tolerance_grad)  # else torch returns at once
            n_iter = state.n_iter + moving
            first, later = moving & (n_iter == 1), moving & (n_iter > 1)

            # The memory: the last step's pair, where it saw positive curvature.
            y = grad - state.prev_flat_grad
            s = state.d * state.t[:, None]
            ys = _dot(y, s)
            new_pair = later & (ys > 1e-10)
            old_dirs, old_stps, ro, num_old = state.old_dirs, state.old_stps, state.ro, state.num_old
            H_diag = np.where(first, 1.0, state.H_diag)
            if new_pair.any():
                old_dirs, old_stps = _remember(old_dirs, y, new_pair), _remember(old_stps, s, new_pair)
                ro = _remember(ro, 1.0 / ys, new_pair)
                num_old = np.minimum(num_old + new_pair, m)
                H_diag = np.where(new_pair, ys / _dot(y, y), H_diag)

            # The direction and the first trial step length.
            d = np.where(first[:, None], -grad, state.d)
            if later.any():
                rows = np.flatnonzero(later)
                k = int(num_old[rows].max())  # the pairs in use, age-major for the recursion
                pairs = [np.moveaxis(a[:, m - k:], 1, 0)[:, rows] for a in (old_dirs, old_stps, ro)]
                d[rows] = lbfgs_two_loop(grad[rows], *pairs, num_old[rows], H_diag[rows])
            inverse_l1 = 1.0 / np.abs(grad).sum(axis=-1)
            step = np.where(first, np.where(inverse_l1 < 1.0, inverse_l1, 1.0) * self.lr, float(self.lr))
            gtd = _dot(grad, d)
            go = moving & ~(gtd > -self.tolerance_change)  # torch stops where d is no descent direction

            evaluations = np.ones(n, dtype=np.int64)
            trials = np.full((n, int(self.max_eval) if searching else 0, 2), np.nan)
            if searching and go.any():
                rows = np.flatnonzero(go)
                f = function(params[rows]) if loss is None else np.asarray(loss)[rows]
                f = np.broadcast_to(np.asarray(f, dtype=float), rows.shape)
                step[rows], used, trials[rows] = strong_wolfe(function, params[rows], d[rows], f, gtd[rows],
                                                              step[rows], int(self.max_eval) - 1)
                evaluations[rows] += used
            new_params = np.where(go[:, None], params + step[:, None] * d, params)
        return new_params, LBFGSState(
            d=d, t=np.where(moving, step, state.t),
            prev_flat_grad=np.where(moving[:, None], grad, state.prev_flat_grad),
            H_diag=H_diag, n_iter=n_iter, old_dirs=old_dirs, old_stps=old_stps, ro=ro, num_old=num_old,
            step_length=np.where(go, step, 0.0), evaluations=evaluations, trials=trials,
        )

    def effective_step_size(self, state, t):
        """τ, the factor on the last step's direction d (the step is τ d), on both coordinates;
        0 where the step did not move."""
        return np.repeat(state.step_length[:, None], 2, axis=-1)

    def internals(self, state, t):
        return {
            "effective step size x": state.step_length, "effective step size y": state.step_length,
            "direction norm": np.linalg.norm(state.d, axis=-1),
            "initial Hessian scale": state.H_diag,
            "history length": state.num_old.astype(float),
            "evaluations": state.evaluations.astype(float),
        }


# ---------------------------------------------------------------------------------------
# Second order: Newton's method with the function's Hessian
# ---------------------------------------------------------------------------------------
def symmetric_eigen_2x2(a, b, c):
    """Eigen-decomposition of symmetric [[a, b], [b, c]] in closed form, elementwise on arrays:
    (λ₁, λ₂, v) with λ₁ ≤ λ₂ and v = (v_x, v_y) the unit eigenvector of λ₂; (−v_y, v_x) is λ₁'s.

    λ = m ∓ r with m = (a + c)/2, r = √(((a − c)/2)² + b²). v ∝ (r + (a − c)/2, b) where a ≥ c,
    else ∝ (b, r − (a − c)/2): both are λ₂'s eigenvector, and the one chosen has no cancellation.
    Where r = 0 (a multiple of I) any basis will do: v = (1, 0)."""
    half = 0.5 * (a - c)
    radius = np.hypot(half, b)
    mean = 0.5 * (a + c)
    right = half >= 0
    vx = np.where(right, radius + half, b)
    vy = np.where(right, b, radius - half)
    norm = np.hypot(vx, vy)
    scalar = norm != 0  # r = 0; also keeps NaN, which goes on through the division
    vx = np.divide(vx, norm, out=np.ones_like(norm), where=scalar)
    vy = np.divide(vy, norm, out=np.zeros_like(norm), where=scalar)
    return mean - radius, mean + radius, (vx, vy)


class NewtonState(NamedTuple):
    curvatures: np.ndarray  # (N, 2): λ₁ ≤ λ₂, the Hessian's eigenvalues where the last step was taken
    step_size: np.ndarray  # (N, 2): γ × the diagonal of M⁻¹, the last step's matrix (see Newton)
    hessian_evaluations: np.ndarray  # (N,) int: Hessians evaluated so far (one per step, with one gradient)


@dataclass(frozen=True, kw_only=True)
class Newton(Optimizer):
    r"""Newton's method with damping, saddle-free where the Hessian is not positive definite.

    x_t = x_{t−1} − γ M⁻¹ g_t,   M = Σᵢ μᵢ vᵢ vᵢᵀ,   μᵢ = max(|λᵢ| + δ, |vᵢᵀ g_t| / L)

    with g_t = ∇f(x_{t−1}), H = ∇²f(x_{t−1}) = Σᵢ λᵢ vᵢ vᵢᵀ (the 2×2 eigen-decomposition, in
    closed form: `symmetric_eigen_2x2`), γ = lr, δ = damping and L the diagonal of the function's
    domain. So the step is γ Σᵢ (vᵢᵀ g / μᵢ) vᵢ: per eigenvector, the gradient's component
    divided by the curvature. Each step evaluates one gradient and one Hessian
    (`function.hessian`: analytic for the built-in functions, symbolic for typed ones); the
    state counts the Hessians (`hessian_evaluations`).

    * Where H is positive definite, M = H + δI: Newton's method (γ = 1, δ = 0 finds the minimum of
      a quadratic in one step; Nocedal & Wright, Numerical Optimization, 2006, §3.3), damped as by
      Levenberg (1944) and Marquardt (1963): δ > 0 shortens the step, most along flat directions,
      and turns it towards gradient descent with step γ/δ as δ grows.
    * Where it is not (a saddle, a maximum), plain Newton would step towards that stationary point,
      and (H + δI)⁻¹ would not even be defined where H + δI is singular. Saddle-free Newton
      (Dauphin et al., "Identifying and attacking the saddle point problem in high-dimensional
      non-convex optimization" (NeurIPS 2014), arXiv:1406.2572) replaces H by |H|, its eigenvalues by
      their absolute values: along a direction of negative curvature the step then goes downhill,
      away from the saddle, as far as the curvature says. δ is added after |·|, as the paper
      damps |H|; so the rule is one formula, continuous in H, and it equals (H + δI)⁻¹ g wherever H
      is positive semi-definite.
    * The floor |vᵢᵀ g| / L: a zero eigenvalue with δ = 0 (a linear direction: abs(x) + abs(y),
      max(x, y), an inflection line such as a cubic's) would make the step infinite, a tiny one
      astronomically long. The floor caps the step along each eigenvector at γL, one diagonal of
      the plotted domain: a step that long leaves the picture, so no step shorter than that is
      changed. It is scale-free (f's and x's units cancel, as in Newton's step). A direction with
      neither curvature nor slope gets no step.
    """

    name: ClassVar[str] = "newton"
    title: ClassVar[str] = "Newton"
    note: ClassVar[str] = (
        "Divides the gradient by the curvature (the Hessian): one step to the minimum of a bowl. Where "
        "the surface curves down, as at a saddle, it flips that direction to go downhill instead "
        "(saddle-free Newton).")
    paper: ClassVar[str] = "Newton–Raphson; saddle-free: Dauphin et al., 2014"
    State: ClassVar[type] = NewtonState
    needs_function: ClassVar[bool] = True  # for the Hessian

    lr: float = 1.0
    damping: float = 0.0

    def check(self) -> None:
        super().check()
        check_range(self.name, "damping", self.damping, 0.0)

    def init(self, params):
        points = np.shape(params)[:-1]
        return NewtonState(np.zeros(points + (2,)), np.zeros(points + (2,)), np.zeros(points, dtype=np.int64))

    def step(self, params, grad, state, t, loss=None, function=None):
        if function is None:
            raise ValueError(f"{self.name}: step needs function= (the test function, for its Hessian)")
        params, grad = np.asarray(params, dtype=float), np.asarray(grad, dtype=float)
        hessian = np.asarray(function.hessian(params), dtype=float)
        (x0, x1), (y0, y1) = function.domain
        reach = math.hypot(x1 - x0, y1 - y0)  # L
        with np.errstate(all="ignore"):  # a diverging point's infinities are the engine's to handle
            low, high, (vx, vy) = symmetric_eigen_2x2(
                hessian[..., 0, 0], 0.5 * (hessian[..., 0, 1] + hessian[..., 1, 0]), hessian[..., 1, 1])
            inverse, step = [], 0.0
            for curvature, (ux, uy) in ((low, (-vy, vx)), (high, (vx, vy))):
                along = ux * grad[..., 0] + uy * grad[..., 1]  # vᵢᵀ g
                mu = np.maximum(np.abs(curvature) + self.damping, np.abs(along) / reach)
                over_mu = np.divide(1.0, mu, out=np.zeros_like(mu), where=mu != 0)  # 0: no curvature, no slope
                inverse.append((over_mu, ux, uy))
                step = step + (along * over_mu)[..., None] * np.stack([ux, uy], axis=-1)
            new_params = params - self.lr * step
            diagonal = sum(over_mu[..., None] * np.stack([ux * ux, uy * uy], axis=-1) for over_mu, ux, uy in inverse)
        return new_params, NewtonState(np.stack([low, high], axis=-1), self.lr * diagonal,
                                       state.hessian_evaluations + 1)

    def effective_step_size(self, state, t):
        """γ × the diagonal of M⁻¹: the factor on a coordinate's own gradient in the step (exactly
        the step per gradient where H is diagonal; where it is not, the step mixes in the other
        coordinate's gradient too). 0 along a direction with neither curvature nor slope."""
        return state.step_size

    def internals(self, state, t):
        return {**super().internals(state, t), "smallest curvature": state.curvatures[..., 0],
                "largest curvature": state.curvatures[..., 1]}
