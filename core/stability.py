"""The edge of stability along a path: the sharpness where each step was taken, the same
curvature as the optimizer's step sees it, and the largest value at which that step is still
stable on a quadratic.

    >>> f = get_function("rosenbrock")
    >>> s = stability(f, get_optimizer("sgd", lr=1e-3), start=(-1.0, 1.5), steps=500)
    >>> s.sharpness.shape, float(s.threshold[0])
    ((500,), 2.0)

Gradient descent with step size η on f = ½ xᵀHx is stable iff η λ_max(H) < 2: above it the
iterate is multiplied by 1 − ηλ < −1 along the top eigenvector and grows. Cohen et al. ("Gradient
Descent on Neural Networks Typically Occurs at the Edge of Stability", ICLR 2021) found that on
neural networks the sharpness λ_max rises until it reaches 2/η and then hovers there; Cohen et
al. ("Adaptive Gradient Methods at the Edge of Stability", 2022, arXiv:2207.14484) found the same
for adaptive methods with the *preconditioned* sharpness and the threshold of their update
rule, (2 + 2β₁)/(1 − β₁) = 38 for Adam with β₁ = 0.9 (their 38/η, with η inside P here).

The values come from `core.inside.trace`, i.e. from `core.run` itself: the path, the effective
step sizes and the per-step hyperparameters (a schedule's lr and momentum) are the run's own;
nothing here steps an optimizer.

What is compared, per family (P = diag(p_x, p_y) a per-coordinate factor, H = ∇²f(x_{t−1}) + wI
with w the coupled weight decay, which is part of the gradient the step uses):

  family        optimizers                          effective sharpness             threshold
  heavy ball    SGD, ASGD, Adagrad, Adadelta,       (1 − τ) λ_max(P^½ H P^½)        2 (1 + μ)
                Adafactor (μ = 0); Momentum,
                RMSprop, YellowFin
  Nesterov      Nesterov                            γ λ_max(H)                      2 (1 + μ) / (1 + 2μ)
  EMA momentum  Adam, AMSGrad, AdamW, NAdam,        ω_t λ_max(P^½ H P^½)            2 (1 + β₁) / (1 − β₁)
                RAdam, Adamax, AdaBelief, Eve
  Newton        Newton                              γ λ₂ / (|λ₂| + δ)               2
  none          Lion, Rprop, L-BFGS                 NaN                             None

P is the factor on the gradient (or first moment) in step t, read from the run's internals
"effective step size x/y": γ_t for SGD and momentum, γ/(√v̂ + ε) for RMSprop and the Adam
family, and so on (see `core.optimizers.Optimizer.effective_step_size`); for Adadelta, whose
internal after step t already holds u_t, the factor step t used, γ√(u_{t−1} + ε)/√(v_t + ε), is read
off step t − 1's. ASGD's decay term adds its λ to w (x_t = (1 − λη_t) x_{t−1} − η_t g_t). ω_t is Adam's first-
moment bias correction 1/(1 − β₁ᵗ), so ω_t P is exactly the factor on m_t in step t; ω_t → 1 within
~50 steps at β₁ = 0.9, after which P is the "P⁻¹ = diag(√v̂ + ε)/η" of Cohen et al. 2022.
Since P is diagonal and positive, λ(P^½ H P^½) = λ(P H): the eigenvalues of the step's
linearization, whatever the rotation of H.

Derivations (on a quadratic with P, γ, μ frozen; in z = P^{−½} x each eigenvector q of
P^½ H P^½ is a scalar recursion; stability of z² − Tz + D by Jury's test, |D| < 1 and
1 ± T + D > 0, the binding one being 1 + T + D > 0, a root through −1):

* heavy ball, b_t = μ b_{t−1} + (1 − τ) g_t, x_t = x_{t−1} − γ b_t, s = γ(1 − τ)q:
  T = 1 − s + μ, D = μ, so 1 + T + D = 2(1 + μ) − s > 0 ⇔ γ(1 − τ)q < 2(1 + μ). μ = 0 is GD's 2.
  Polyak's form (YellowFin: x_t = x_{t−1} − α g_t + μ(x_{t−1} − x_{t−2})) is the same recursion.
* Nesterov, b_t = μ b_{t−1} + g_t, x_t = x_{t−1} − γ(g_t + μ b_t), s = γq:
  T = 1 + μ − s(1 + μ), D = μ(1 − s), 1 + T + D = 2(1 + μ) − s(1 + 2μ) ⇔ s < 2(1 + μ)/(1 + 2μ)
  (|D| < 1 then holds since s < 2). 1.357 at μ = 0.9: the look-ahead costs stability.
* EMA momentum, m_t = β m_{t−1} + (1 − β) g_t, x_t = x_{t−1} − P(a g_t + c m_t) (Adam: a = 0,
  c = 1/(1 − βᵗ); NAdam: a = (1 − μ_t)/(1 − Π_{i≤t} μ_i), c = μ_{t+1}/(1 − Π_{i≤t+1} μ_i)):
  T = 1 + β − q(a + c(1 − β)), D = β(1 − qa), 1 + T + D = 2(1 + β) − q(a(1 + β) + c(1 − β))
  ⇔ ω q < 2(1 + β)/(1 − β) with ω = c + a(1 + β)/(1 − β) (|D| < 1 is then implied). Adam at
  β₁ = 0.9: 38; NAdam late in a run (μ_t ≈ β₁, the products ≈ 0): ω = 1 + 2β₁, Nesterov's factor.
* Newton, x_t = x_{t−1} − γ M⁻¹ g_t with M = |H| + δI (core.optimizers.Newton): along
  eigenvector i the iterate is multiplied by 1 − γλᵢ/(|λᵢ| + δ), stable iff γλᵢ/(|λᵢ| + δ) < 2;
  λ/(|λ| + δ) grows with λ, so λ₂ (the larger) decides. So plain Newton (δ = 0) is stable for
  any γ < 2 on a convex quadratic. Newton's floor |vᵢᵀg|/L on |λᵢ| + δ is left out: it only
  shortens steps farther than the domain's diagonal L from the minimum.

What these bounds are not: exact for a run whose P, γ, μ change (a schedule, an adaptive
preconditioner), or where H changes along the path. They say what the step would do if the
current point's curvature and the current step sizes were frozen: the "edge" of the papers.
Left out on purpose: decoupled weight decay (AdamW, Adafactor, NAdam/RAdam with
decoupled_weight_decay) multiplies x by 1 − γλ, a contraction not in P; Adafactor's relative
step α_t ∝ RMS(x) and its update clipping, which make its P depend on x and g (P is the factor
the step used); the first step's momentum buffer b_1 = g_1 (not (1 − τ) g_1).

No threshold, and why: Lion and Rprop step by ±Δ per coordinate, sign(·) of the gradient or of
a momentum: the step's size does not depend on the gradient's, so there is no linearization; on
a quadratic they neither converge nor diverge but end in an oscillation of size ~Δ for any lr.
L-BFGS multiplies the gradient by τ_t H_t, with H_t its inverse-Hessian model rebuilt every step
from the last steps (and τ_t from a line search): no fixed step matrix, and H_t is not among the
run's internals. An optimizer class not listed in RULES has no threshold either.

Shapes: every array has one entry per step t = 1 … k, where k ≤ steps is the trace's length
(a run stops being recorded before the step at which it diverged). Where the Hessian is not
finite (a typed function's singularity) sharpness and effective sharpness are NaN and `unstable`
is False.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .functions import TestFunction
from .inside import trace
from .optimizers import (AMSGrad, ASGD, LBFGS, SGD, AdaBelief, Adadelta, Adafactor, Adagrad, Adam, Adamax, AdamW,
                         Eve, Lion, Momentum, NAdam, Nesterov, Newton, Optimizer, RAdam, RMSprop, Rprop, YellowFin)
from .schedulers import Scheduler

HEAVY_BALL, NESTEROV, EMA_MOMENTUM, NEWTON = "heavy ball", "nesterov", "ema momentum", "newton"

RULES: dict[type[Optimizer], str] = {
    SGD: HEAVY_BALL, Momentum: HEAVY_BALL, RMSprop: HEAVY_BALL, ASGD: HEAVY_BALL, Adagrad: HEAVY_BALL,
    Adadelta: HEAVY_BALL, Adafactor: HEAVY_BALL, YellowFin: HEAVY_BALL,
    Nesterov: NESTEROV,
    Adam: EMA_MOMENTUM, AMSGrad: EMA_MOMENTUM, AdamW: EMA_MOMENTUM, NAdam: EMA_MOMENTUM, RAdam: EMA_MOMENTUM,
    Adamax: EMA_MOMENTUM, AdaBelief: EMA_MOMENTUM, Eve: EMA_MOMENTUM,
    Newton: NEWTON,
}
"""The family of each optimizer class that has a threshold (exact class: a subclass may change
the update, so it is not assumed to share its parent's bound)."""

RULE_TEXT: dict[str, str] = {
    HEAVY_BALL: "(1 − τ)·λ_max(P H) < 2(1 + μ), P the per-coordinate step size (γ for SGD and momentum), "
                "μ the momentum (0 without), τ the dampening: heavy ball on a frozen quadratic",
    NESTEROV: "γ·λ_max(H) < 2(1 + μ)/(1 + 2μ): Nesterov momentum on a frozen quadratic",
    EMA_MOMENTUM: "ω_t·λ_max(P H) < 2(1 + β₁)/(1 − β₁) (38 at β₁ = 0.9), P = γ/(√v̂ + ε) per coordinate, "
                  "ω_t the first moment's bias correction 1/(1 − β₁ᵗ) (NAdam: its weight on g and m): "
                  "Cohen et al. 2022's preconditioned sharpness",
    NEWTON: "γ·λ₂/(|λ₂| + δ) < 2: damped Newton on a frozen quadratic (plain Newton: any γ < 2)",
}

NO_THRESHOLD: dict[type[Optimizer], str] = {
    Lion: "Lion steps every coordinate by ±γ, the sign of a momentum: its step does not scale with the "
          "gradient, so there is no linear stability bound (on a quadratic it ends in an oscillation of size ~γ "
          "for any γ)",
    Rprop: "Rprop steps by ±Δ, the sign of the gradient: its step does not scale with the gradient, so there is "
           "no linear stability bound",
    LBFGS: "L-BFGS multiplies the gradient by τ H_t, its inverse-Hessian model rebuilt from its last steps every "
           "step (τ from a line search): there is no fixed step matrix to bound",
}


def _optimizer_class(optimizer) -> type:
    if isinstance(optimizer, str):
        from .registry import OPTIMIZER_CLASSES  # by name, as the dashboard knows them
        return OPTIMIZER_CLASSES[optimizer]
    return optimizer if isinstance(optimizer, type) else type(optimizer)


def has_threshold(optimizer: Optimizer | type[Optimizer] | str) -> bool:
    """True if `stability` gives this optimizer (instance, class or registry name) a threshold."""
    return _optimizer_class(optimizer) in RULES


def threshold_rule(optimizer: Optimizer | type[Optimizer] | str) -> str:
    """In a sentence: what is compared with what for this optimizer, or why nothing is."""
    cls = _optimizer_class(optimizer)
    if cls in RULES:
        return RULE_TEXT[RULES[cls]]
    return NO_THRESHOLD.get(cls, f"{getattr(cls, 'title', cls.__name__)}: no stability bound is known here")


class Stability(NamedTuple):
    """The edge of stability along one run; k entries, one per step t = 1 … k (see `stability`)."""

    steps: np.ndarray  # (k,) int: t
    sharpness: np.ndarray  # (k,): λ_max(∇²f(x_{t−1})), the largest Hessian eigenvalue where step t was taken
    effective_sharpness: np.ndarray  # (k,): what is compared with the threshold (module docstring); NaN if none
    threshold: np.ndarray | None  # (k,): the bound of step t; None where the optimizer has none
    unstable: np.ndarray  # (k,) bool: effective_sharpness > threshold (False without a threshold, or at NaN)
    diverged_at: int  # the step at which the run diverged (as core.run says), −1 if it did not
    rule: str  # `threshold_rule(optimizer)`

    @property
    def ratio(self) -> np.ndarray:
        """effective_sharpness / threshold, (k,): 1 is the edge, on one scale for every optimizer
        (NaN where there is no threshold)."""
        if self.threshold is None:
            return np.full(len(self.steps), np.nan)
        with np.errstate(all="ignore"):
            return self.effective_sharpness / self.threshold


def largest_eigenvalue(a, b, c):
    """λ_max of the symmetric [[a, b], [b, c]], elementwise on arrays, in closed form:
    max(a, c) + b² / (r + |a − c|/2), r = √(((a − c)/2)² + b²). That is m + r with m = (a + c)/2
    written without cancellation (all terms ≥ 0), so it is exactly max(a, c) where b = 0."""
    a, b, c = (np.asarray(v, dtype=float) for v in (a, b, c))
    with np.errstate(all="ignore"):
        half = 0.5 * np.abs(a - c)
        denominator = np.hypot(half, b) + half
        square = b * b
        extra = np.divide(square, denominator, out=np.zeros(np.broadcast(square, denominator).shape),
                          where=denominator != 0)  # 0 only where b = 0 and a = c
        return np.maximum(a, c) + extra


def _per_step(optimizers: list[Optimizer], read) -> np.ndarray:
    return np.array([float(read(o)) for o in optimizers], dtype=float)


def _coupled_decay(optimizers: list[Optimizer]) -> np.ndarray:
    """w_t: the weight decay added to the gradient the step uses (0 where it is decoupled), plus
    ASGD's λ (its step is x_t = (1 − λη_t) x_{t−1} − η_t g_t)."""
    def decay(o):
        if isinstance(o, (AdamW, Adafactor, Lion)) or getattr(o, "decoupled_weight_decay", False):
            return 0.0
        return getattr(o, "weight_decay", 0.0) + (o.lambd if isinstance(o, ASGD) else 0.0)
    return _per_step(optimizers, decay)


def _adadelta_factor(optimizers, internals, step_size) -> np.ndarray:
    """Adadelta's factor on g_t in step t, γ_t √(u_{t−1} + ε) / √(v_t + ε): its internal step
    size after step t already holds u_t, so √(u_{t−1} + ε) is read off step t − 1's (u_0 = 0)."""
    lr = _per_step(optimizers, lambda o: o.lr)[:, None]
    eps = _per_step(optimizers, lambda o: o.eps)[:, None]
    root_v = np.sqrt(np.stack([internals["second moment x"], internals["second moment y"]], axis=-1) + eps)
    root_u = np.sqrt(np.broadcast_to(eps, root_v.shape)).copy()
    root_u[1:] = step_size[:-1] / lr[:-1] * root_v[:-1]
    return lr * root_u / root_v


def stability(function: TestFunction, optimizer: Optimizer, start, steps: int, noise: float = 0.0,
              seed: int | None = None, scheduler: Scheduler | None = None) -> Stability:
    """The sharpness, effective sharpness and stability threshold of every step of the run of
    `optimizer` from `start` (two numbers), as `core.inside.trace(function, optimizer, start,
    steps, noise, seed, scheduler)` records it (the same run as `core.run`). See the module's
    docstring for what is compared, per optimizer family, and why."""
    run = trace(function, optimizer, start, steps, noise, seed, scheduler)
    k = len(run.points) - 1
    t = np.arange(1, k + 1)
    optimizers = (scheduler.optimizers(optimizer, int(steps)) if scheduler is not None else [optimizer] * k)[:k]
    with np.errstate(all="ignore"):
        hessian = np.asarray(function.hessian(run.points[:-1]), dtype=float).reshape(k, 2, 2)
    hxx, hyy = hessian[:, 0, 0], hessian[:, 1, 1]
    hxy = 0.5 * (hessian[:, 0, 1] + hessian[:, 1, 0])
    sharpness = largest_eigenvalue(hxx, hxy, hyy)
    rule = threshold_rule(optimizer)
    family = RULES.get(type(optimizer))
    if family is None or k == 0:
        threshold = None if family is None else np.zeros(0)
        return Stability(t, sharpness, np.full(k, np.nan), threshold, np.zeros(k, dtype=bool), run.diverged_at, rule)

    internals = run.internals
    step_size = np.stack([internals["effective step size x"], internals["effective step size y"]], axis=-1)
    shift = _coupled_decay(optimizers)
    weight = np.ones(k)
    if family == HEAVY_BALL:
        if isinstance(optimizer, YellowFin):
            momentum = internals["tuned momentum"]
        else:
            momentum = _per_step(optimizers, lambda o: getattr(o, "momentum", 0.0))
        weight = 1 - _per_step(optimizers, lambda o: getattr(o, "dampening", 0.0))
        threshold = 2 * (1 + momentum)
        if isinstance(optimizer, Adadelta):
            step_size = _adadelta_factor(optimizers, internals, step_size)
    elif family == NESTEROV:
        momentum = _per_step(optimizers, lambda o: o.momentum)
        threshold = 2 * (1 + momentum) / (1 + 2 * momentum)
    elif family == EMA_MOMENTUM:
        beta1 = _per_step(optimizers, lambda o: o.betas[0])
        if isinstance(optimizer, NAdam):
            mus = np.array([o.coefficients(int(i))[:2] for o, i in zip(optimizers, t)], dtype=float)
            product = np.cumprod(mus[:, 0])  # Π_{i≤t} μ_i, the state's mu_product after step t
            on_g = (1 - mus[:, 0]) / (1 - product)
            on_m = mus[:, 1] / (1 - product * mus[:, 1])
        else:
            corrected = np.array([getattr(o, "bias_correction", True) for o in optimizers], dtype=bool)
            on_g = np.zeros(k)
            on_m = np.where(corrected, 1 / (1 - beta1**t), 1.0)
        weight = on_m + on_g * (1 + beta1) / (1 - beta1)
        threshold = 2 * (1 + beta1) / (1 - beta1)
    else:  # NEWTON: P = γ/(|λ₂| + δ) on both coordinates, so λ_max(P H) = γ λ₂/(|λ₂| + δ)
        lr = _per_step(optimizers, lambda o: o.lr)
        mu = np.abs(internals["largest curvature"]) + _per_step(optimizers, lambda o: o.damping)
        scale = np.divide(lr, mu, out=np.zeros(k), where=mu != 0)  # the step's convention: no curvature, no step
        step_size = np.repeat(scale[:, None], 2, axis=-1)
        threshold = np.full(k, 2.0)

    with np.errstate(all="ignore"):
        root = np.sqrt(step_size)
        effective = weight * largest_eigenvalue(step_size[:, 0] * (hxx + shift), root[:, 0] * root[:, 1] * hxy,
                                                step_size[:, 1] * (hyy + shift))
        unstable = effective > threshold  # False at NaN
    return Stability(t, sharpness, effective, np.asarray(threshold, dtype=float), unstable, run.diverged_at, rule)


__all__ = ["EMA_MOMENTUM", "HEAVY_BALL", "NESTEROV", "NEWTON", "NO_THRESHOLD", "RULES", "RULE_TEXT", "Stability",
           "has_threshold", "largest_eigenvalue", "stability", "threshold_rule"]
