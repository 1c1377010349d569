"""First-order optimizers as pure, vectorized update rules.

Each optimizer is a frozen dataclass whose fields are its hyperparameters (names, defaults and
meaning follow torch.optim wherever torch has the algorithm). It has two pure functions in the
style of optax:

    state = opt.init(params)                       # params: (N, 2)
    params, state = opt.step(params, grad, state, t)  # t = 1, 2, ... the step number

`state` is a NamedTuple of per-point arrays (each of shape (N, 2) or (N,)), so a run engine
can index it by point (`type(state)(*(a[mask] for a in state))`) and the dashboard can show it.
Nothing is mutated in place.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np


# ---------------------------------------------------------------------------------------
# Validation, in the manner of torch.optim
# ---------------------------------------------------------------------------------------
def check_range(owner: str, name: str, value, low: float, high: float = math.inf,
                low_open: bool = False, high_open: bool = True) -> None:
    """Raise ValueError naming `name` and the accepted range unless value is a finite real
    number with low <(=) value <(=) high."""
    accepted = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: {name} must be a number in {accepted}, got {value!r}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if not math.isfinite(value) or too_low or too_high:
        raise ValueError(f"{owner}: invalid {name} {value!r}; accepted range {accepted}")


def _check_flag(owner: str, name: str, value) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{owner}: {name} must be True or False, got {value!r}")


def _check_betas(owner: str, betas) -> None:
    if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
        raise ValueError(f"{owner}: betas must be a pair (beta1, beta2), each in [0.0, 1.0), got {betas!r}")
    check_range(owner, "betas[0]", betas[0], 0.0, 1.0)
    check_range(owner, "betas[1]", betas[1], 0.0, 1.0)


class Empty(NamedTuple):
    """State of a stateless optimizer."""


@dataclass(frozen=True, kw_only=True)
class Optimizer:
    """Base class. Subclasses set `name`, `title`, the hyperparameter fields and implement
    `init` and `step`; `check()` validates the hyperparameters and runs on construction."""

    name: ClassVar[str]
    title: ClassVar[str]
    needs_loss: ClassVar[bool] = False  # True if step() needs f(params) as `loss`

    lr: float = 1e-3

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        check_range(self.name, "lr", self.lr, 0.0, low_open=True)

    def init(self, params: np.ndarray) -> NamedTuple:
        return Empty()

    def step(self, params: np.ndarray, grad: np.ndarray, state: NamedTuple, t: int, loss=None):
        raise NotImplementedError

    @property
    def hyperparameters(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


# ---------------------------------------------------------------------------------------
# Shared pieces of the update rules
# ---------------------------------------------------------------------------------------
def _zeros(params: np.ndarray) -> np.ndarray:
    return np.zeros_like(params, dtype=float)


def _weight_decay(params, grad, weight_decay: float, lr: float, decoupled: bool = False):
    """Apply weight decay λ: coupled (L2), g ← g + λx, or decoupled (Loshchilov & Hutter),
    x ← (1 − γλ) x before the step. Returns (params, grad)."""
    if not weight_decay:
        return params, grad
    if decoupled:
        return params * (1 - lr * weight_decay), grad
    return params, grad + weight_decay * params


def _lerp(start, end, weight: float):
    """start + weight·(end − start), in the form torch.lerp uses for this weight (for equal
    rounding): the exponential moving averages of torch.optim's Adam family are lerps."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


def _ema_of_square(average, value, decay: float):
    """decay·average + (1 − decay)·value², in torch's order (mul_(decay).addcmul_)."""
    return decay * average + (1 - decay) * value * value


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

    lr: float = 1e-3
    weight_decay: float = 0.0

    def check(self) -> None:
        super().check()
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)

    def step(self, params, grad, state, t, loss=None):
        params, grad = _weight_decay(params, grad, self.weight_decay, self.lr)
        return params - self.lr * grad, state


class Velocity(NamedTuple):
    momentum: np.ndarray  # torch's momentum_buffer


def _momentum_buffer(buffer, grad, t: int, momentum: float, dampening: float = 0.0):
    """torch.optim.SGD's buffer: b_1 = g_1, b_t = μ b_{t−1} + (1 − τ) g_t."""
    if t == 1:
        return grad
    return momentum * buffer + (1 - dampening) * grad


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

    lr: float = 1e-3
    momentum: float = 0.9
    dampening: float = 0.0
    weight_decay: float = 0.0

    def check(self) -> None:
        super().check()
        check_range(self.name, "momentum", self.momentum, 0.0, 1.0)
        check_range(self.name, "dampening", self.dampening, 0.0, 1.0)
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)

    def init(self, params):
        return Velocity(_zeros(params))

    def step(self, params, grad, state, t, loss=None):
        params, grad = _weight_decay(params, grad, self.weight_decay, self.lr)
        buffer = _momentum_buffer(state.momentum, grad, t, self.momentum, self.dampening)
        return params - self.lr * buffer, Velocity(buffer)


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

    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0

    def check(self) -> None:
        super().check()
        check_range(self.name, "momentum", self.momentum, 0.0, 1.0, low_open=True)
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)

    def init(self, params):
        return Velocity(_zeros(params))

    def step(self, params, grad, state, t, loss=None):
        params, grad = _weight_decay(params, grad, self.weight_decay, self.lr)
        buffer = _momentum_buffer(state.momentum, grad, t, self.momentum)
        return params - self.lr * (grad + self.momentum * buffer), Velocity(buffer)


class RMSpropState(NamedTuple):
    square_avg: np.ndarray  # v, the average of g²
    grad_avg: np.ndarray  # ḡ, the average of g (used when centered)
    momentum_buffer: np.ndarray  # b (used when momentum > 0)


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

    def init(self, params):
        return RMSpropState(_zeros(params), _zeros(params), _zeros(params))

    def step(self, params, grad, state, t, loss=None):
        params, grad = _weight_decay(params, grad, self.weight_decay, self.lr)
        square_avg = _ema_of_square(state.square_avg, grad, self.alpha)
        grad_avg = state.grad_avg
        if self.centered:
            grad_avg = _lerp(grad_avg, grad, 1 - self.alpha)
            avg = np.sqrt(square_avg - grad_avg * grad_avg) + self.eps
        else:
            avg = np.sqrt(square_avg) + self.eps
        buffer = state.momentum_buffer
        if self.momentum > 0:
            buffer = self.momentum * buffer + grad / avg
            params = params - self.lr * buffer
        else:
            params = params - self.lr * grad / avg
        return params, RMSpropState(square_avg, grad_avg, buffer)


# ---------------------------------------------------------------------------------------
# Adam family
# ---------------------------------------------------------------------------------------
class Moments(NamedTuple):
    exp_avg: np.ndarray  # first moment m
    exp_avg_sq: np.ndarray  # second moment v


@dataclass(frozen=True, kw_only=True)
class _AdamFamily(Optimizer):
    """The hyperparameters, checks and moments shared by Adam and its variants."""

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0

    def check(self) -> None:
        super().check()
        _check_betas(self.name, self.betas)
        check_range(self.name, "eps", self.eps, 0.0)
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)

    def init(self, params):
        return Moments(_zeros(params), _zeros(params))

    def _moments(self, state, grad) -> Moments:
        """m_t = β₁ m_{t−1} + (1 − β₁) g_t,  v_t = β₂ v_{t−1} + (1 − β₂) g_t²."""
        beta1, beta2 = self.betas
        return Moments(_lerp(state.exp_avg, grad, 1 - beta1), _ema_of_square(state.exp_avg_sq, grad, beta2))

    def _adam_step(self, params, exp_avg, exp_avg_sq, t, bias_correction=True):
        """x_t = x_{t−1} − γ (m_t / (1 − β₁ᵗ)) / (√(v_t / (1 − β₂ᵗ)) + ε), in torch's order."""
        beta1, beta2 = self.betas
        if bias_correction:
            step_size = self.lr / (1 - beta1**t)
            denom = np.sqrt(exp_avg_sq) / (1 - beta2**t) ** 0.5 + self.eps
        else:
            step_size = self.lr
            denom = np.sqrt(exp_avg_sq) + self.eps
        return params - step_size * exp_avg / denom


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

    bias_correction: bool = True

    def check(self) -> None:
        super().check()
        _check_flag(self.name, "bias_correction", self.bias_correction)

    def step(self, params, grad, state, t, loss=None):
        params, grad = _weight_decay(params, grad, self.weight_decay, self.lr)
        m, v = self._moments(state, grad)
        return self._adam_step(params, m, v, t, self.bias_correction), Moments(m, v)


class AMSGradMoments(NamedTuple):
    exp_avg: np.ndarray  # first moment m
    exp_avg_sq: np.ndarray  # second moment v
    max_exp_avg_sq: np.ndarray  # v̂, the largest v so far


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

    def init(self, params):
        return AMSGradMoments(_zeros(params), _zeros(params), _zeros(params))

    def step(self, params, grad, state, t, loss=None):
        params, grad = _weight_decay(params, grad, self.weight_decay, self.lr)
        m, v = self._moments(state, grad)
        v_max = np.maximum(state.max_exp_avg_sq, v)
        return self._adam_step(params, m, v_max, t), AMSGradMoments(m, v, v_max)


@dataclass(frozen=True, kw_only=True)
class AdamW(_AdamFamily):
    r"""AdamW, as torch.optim.AdamW: Adam with decoupled weight decay.

    x' = (1 − γλ) x_{t−1};  m_t, v_t as in Adam with g_t = ∇f(x_{t−1})
    x_t = x' − γ · (m_t / (1 − β₁ᵗ)) / (√(v_t / (1 − β₂ᵗ)) + ε)

    Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (2019).
    """

    name: ClassVar[str] = "adamw"
    title: ClassVar[str] = "AdamW"

    weight_decay: float = 1e-2

    def step(self, params, grad, state, t, loss=None):
        params, grad = _weight_decay(params, grad, self.weight_decay, self.lr, decoupled=True)
        m, v = self._moments(state, grad)
        return self._adam_step(params, m, v, t), Moments(m, v)


class NAdamState(NamedTuple):
    exp_avg: np.ndarray  # first moment m
    exp_avg_sq: np.ndarray  # second moment v
    mu_product: np.ndarray  # (N,): Π_{i≤t} μ_i, torch's per-tensor scalar, kept per point


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

    lr: float = 2e-3
    momentum_decay: float = 4e-3
    decoupled_weight_decay: bool = False

    def check(self) -> None:
        super().check()
        check_range(self.name, "momentum_decay", self.momentum_decay, 0.0)
        _check_flag(self.name, "decoupled_weight_decay", self.decoupled_weight_decay)

    def init(self, params):
        return NAdamState(_zeros(params), _zeros(params), np.ones(params.shape[:-1]))

    def step(self, params, grad, state, t, loss=None):
        beta1, beta2 = self.betas
        params, grad = _weight_decay(params, grad, self.weight_decay, self.lr, self.decoupled_weight_decay)
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * self.momentum_decay))
        mu_product = state.mu_product * mu
        m, v = self._moments(state, grad)
        denom = np.sqrt(v / (1 - beta2**t)) + self.eps
        grad_size = (-self.lr * (1.0 - mu) / (1.0 - mu_product))[..., None]
        momentum_size = ((-self.lr * mu_next) / (1.0 - mu_product * mu_next))[..., None]
        params = params + grad_size * grad / denom
        params = params + momentum_size * m / denom
        return params, NAdamState(m, v, mu_product)


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

    decoupled_weight_decay: bool = False

    def check(self) -> None:
        super().check()
        _check_flag(self.name, "decoupled_weight_decay", self.decoupled_weight_decay)

    def step(self, params, grad, state, t, loss=None):
        beta1, beta2 = self.betas
        params, grad = _weight_decay(params, grad, self.weight_decay, self.lr, self.decoupled_weight_decay)
        m, v = self._moments(state, grad)
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        m_hat = m / bias_correction1
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * (beta2**t) / bias_correction2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive_lr = bias_correction2**0.5 / (np.sqrt(v) + self.eps)
            update = m_hat * self.lr * adaptive_lr * rect
        else:
            update = m_hat * self.lr
        return params - update, Moments(m, v)


class AdamaxState(NamedTuple):
    exp_avg: np.ndarray  # first moment m
    exp_inf: np.ndarray  # u, the decaying maximum of |g|


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

    lr: float = 2e-3

    def init(self, params):
        return AdamaxState(_zeros(params), _zeros(params))

    def step(self, params, grad, state, t, loss=None):
        beta1, beta2 = self.betas
        params, grad = _weight_decay(params, grad, self.weight_decay, self.lr)
        m = _lerp(state.exp_avg, grad, 1 - beta1)
        u = np.maximum(beta2 * state.exp_inf, np.abs(grad) + self.eps)
        step_size = self.lr / (1 - beta1**t)
        return params - step_size * m / u, AdamaxState(m, u)


# ---------------------------------------------------------------------------------------
# Accumulating methods
# ---------------------------------------------------------------------------------------
class AdagradState(NamedTuple):
    sum: np.ndarray  # s, the sum of g²


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
        return AdagradState(np.full_like(params, self.initial_accumulator_value, dtype=float))

    def step(self, params, grad, state, t, loss=None):
        params, grad = _weight_decay(params, grad, self.weight_decay, self.lr)
        step_size = self.lr / (1 + (t - 1) * self.lr_decay)
        total = state.sum + grad * grad
        return params - step_size * grad / (np.sqrt(total) + self.eps), AdagradState(total)


class AdadeltaState(NamedTuple):
    square_avg: np.ndarray  # v, the average of g²
    acc_delta: np.ndarray  # u, the average of Δ²


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

    lr: float = 1.0
    rho: float = 0.9
    eps: float = 1e-6
    weight_decay: float = 0.0

    def check(self) -> None:
        super().check()
        check_range(self.name, "rho", self.rho, 0.0, 1.0, high_open=False)
        check_range(self.name, "eps", self.eps, 0.0)
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)

    def init(self, params):
        return AdadeltaState(_zeros(params), _zeros(params))

    def step(self, params, grad, state, t, loss=None):
        params, grad = _weight_decay(params, grad, self.weight_decay, self.lr)
        square_avg = _ema_of_square(state.square_avg, grad, self.rho)
        delta = np.sqrt(state.acc_delta + self.eps) / np.sqrt(square_avg + self.eps) * grad
        acc_delta = _ema_of_square(state.acc_delta, delta, self.rho)
        return params - self.lr * delta, AdadeltaState(square_avg, acc_delta)


# ---------------------------------------------------------------------------------------
# Newer optimizers, from their papers (torch.optim does not have them)
# ---------------------------------------------------------------------------------------
class FirstMoment(NamedTuple):
    exp_avg: np.ndarray  # m


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

    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.99)
    weight_decay: float = 0.0

    def check(self) -> None:
        super().check()
        _check_betas(self.name, self.betas)
        check_range(self.name, "weight_decay", self.weight_decay, 0.0)

    def init(self, params):
        return FirstMoment(_zeros(params))

    def step(self, params, grad, state, t, loss=None):
        beta1, beta2 = self.betas
        direction = np.sign(beta1 * state.exp_avg + (1 - beta1) * grad)
        params, grad = _weight_decay(params, grad, self.weight_decay, self.lr, decoupled=True)
        m = beta2 * state.exp_avg + (1 - beta2) * grad
        return params - self.lr * direction, FirstMoment(m)


class BeliefMoments(NamedTuple):
    exp_avg: np.ndarray  # first moment m
    exp_avg_var: np.ndarray  # s, the "belief": the average of (g − m)²


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

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-16

    def check(self) -> None:
        super().check()
        _check_betas(self.name, self.betas)
        check_range(self.name, "eps", self.eps, 0.0)

    def init(self, params):
        return BeliefMoments(_zeros(params), _zeros(params))

    def step(self, params, grad, state, t, loss=None):
        beta1, beta2 = self.betas
        m = beta1 * state.exp_avg + (1 - beta1) * grad
        s = _ema_of_square(state.exp_avg_var, grad - m, beta2) + self.eps
        m_hat = m / (1 - beta1**t)
        s_hat = s / (1 - beta2**t)
        return params - self.lr * m_hat / (np.sqrt(s_hat) + self.eps), BeliefMoments(m, s)


# ---------------------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------------------
_CLASSES: tuple[type[Optimizer], ...] = (
    SGD, Momentum, Nesterov, RMSprop, Adam, AMSGrad, AdamW, NAdam, RAdam, Adamax, Adagrad,
    Adadelta, Lion, AdaBelief,
)
OPTIMIZER_CLASSES: dict[str, type[Optimizer]] = {cls.name: cls for cls in _CLASSES}
OPTIMIZERS: tuple[str, ...] = tuple(OPTIMIZER_CLASSES)


def get_optimizer(name: str, **hyperparameters) -> Optimizer:
    """The optimizer `name` with the given hyperparameters; raises ValueError on bad input."""
    try:
        cls = OPTIMIZER_CLASSES[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZERS)}") from None
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(hyperparameters) - known
    if unknown:
        raise ValueError(
            f"{name}: unknown hyperparameter(s) {', '.join(sorted(unknown))}; accepted: {', '.join(sorted(known))}"
        )
    if "betas" in hyperparameters and isinstance(hyperparameters["betas"], list):
        hyperparameters["betas"] = tuple(hyperparameters["betas"])
    return cls(**hyperparameters)
