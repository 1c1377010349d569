"""Learning-rate schedulers, each computing what torch.optim.lr_scheduler computes.

Each scheduler is a frozen dataclass whose fields are the arguments of its torch class (names
and defaults as there), checked on construction. Given an optimizer and a number of steps it
gives the hyperparameters of every step:

    schedule = get_scheduler("cosine_annealing_lr", T_max=100)
    schedule.hyperparameters(optimizer, steps)   # [{"lr": ...}, ...] for steps t = 1..steps
    schedule.optimizers(optimizer, steps)        # the optimizer of each step, for core.run

Step t uses the values after t − 1 calls of `scheduler.step()`: exactly what torch's optimizer
uses for its t-th `optimizer.step()` when `scheduler.step()` follows each `optimizer.step()`.
Where torch computes a value recursively from the current one (`get_lr`, "chainable" form),
so do we, in its order of operations: the values are torch's to the last bit.

`one_cycle_lr` and `cyclic_lr` also cycle the momentum (`cycle_momentum=True`, as torch by
default): an optimizer's `betas[0]` if it has `betas`, else its `momentum`, as torch prefers.
An optimizer with neither raises ValueError, as torch does; that includes our "sgd", which is
torch's SGD with momentum 0 (torch would cycle, and so switch on, its momentum: that is our
"momentum" optimizer). Both schedulers also set the first step's lr (and momentum) themselves,
overriding the optimizer's, as torch does at their construction.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import ClassVar

from .checks import check_range
from .optimizers import Optimizer, _check_flag
from .registry import _lookup


def _check_integer(owner: str, name: str, value, low: int) -> None:
    """Raise ValueError naming `name` unless value is an integer ≥ low."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{owner}: {name} must be an integer in [{low}, inf), got {value!r}")


def _check_choice(owner: str, name: str, value, choices) -> None:
    if isinstance(value, bool) or value not in choices:
        raise ValueError(f"{owner}: {name} must be one of {', '.join(map(repr, choices))}, got {value!r}")


def momentum_field(optimizer: Optimizer) -> str:
    """The hyperparameter a momentum cycle sets: "betas" (its first entry) if the optimizer
    has betas, else "momentum", as torch's OneCycleLR and CyclicLR choose; ValueError if
    neither."""
    names = {f.name for f in dataclasses.fields(optimizer)}
    for name in ("betas", "momentum"):
        if name in names:
            return name
    raise ValueError(
        f"optimizer must support momentum or beta1 with `cycle_momentum` option enabled; "
        f"{optimizer.name} has neither: set cycle_momentum=False"
        + (' or use "momentum"' if optimizer.name == "sgd" else ""))


def _replaced(optimizer: Optimizer, changes: dict) -> Optimizer:
    """A copy of `optimizer` with its fields changed. Not checked again: torch's parameter
    groups take any value a schedule reaches (an lr of 0 among them), our constructors don't."""
    new = copy.copy(optimizer)
    for name, value in changes.items():
        object.__setattr__(new, name, value)
    return new


@dataclass(frozen=True, kw_only=True)
class Scheduler:
    """Base class. A subclass sets `name` and `torch_name`, its argument fields and `check`,
    and writes torch's `get_lr` as `lr(epoch, lr, base_lr)`: the lr after `epoch` calls of
    scheduler.step() (torch's last_epoch), from the lr after epoch − 1 and the optimizer's
    initial lr. One that cycles the momentum also has `cycle_momentum` and `momentum(epoch)`."""

    name: ClassVar[str]
    torch_name: ClassVar[str]
    CHOICES: ClassVar[dict[str, tuple]] = {}  # arguments that take one of a few values: those values

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        pass

    def lr(self, epoch: int, lr: float, base_lr: float) -> float:
        raise NotImplementedError

    def momentum(self, epoch: int) -> float:
        raise NotImplementedError

    def lrs(self, lr: float, steps: int) -> list[float]:
        """The lr of steps t = 1..steps of an optimizer whose lr is `lr`."""
        values, base_lr = [], lr
        for epoch in range(steps):
            lr = self.lr(epoch, lr, base_lr)
            values.append(lr)
        return values

    def hyperparameters(self, optimizer: Optimizer, steps: int) -> list[dict]:
        """The hyperparameters of steps t = 1..steps: {"lr": γ_t}, and the momentum or betas
        when the momentum is cycled."""
        lrs = self.lrs(optimizer.lr, steps)
        if not getattr(self, "cycle_momentum", False):
            return [{"lr": lr} for lr in lrs]
        field = momentum_field(optimizer)
        momenta = [self.momentum(epoch) for epoch in range(steps)]
        if field == "betas":
            momenta = [(m, *optimizer.betas[1:]) for m in momenta]
        return [{"lr": lr, field: m} for lr, m in zip(lrs, momenta)]

    def optimizers(self, optimizer: Optimizer, steps: int) -> list[Optimizer]:
        """The optimizer of each step t = 1..steps (index t − 1): `optimizer` with that step's
        hyperparameters, one object while they repeat."""
        out, last, current = [], None, optimizer
        for changes in self.hyperparameters(optimizer, steps):
            if changes != last:
                last, current = changes, _replaced(optimizer, changes)
            out.append(current)
        return out

    @property
    def arguments(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclass(frozen=True, kw_only=True)
class StepLR(Scheduler):
    """γ_e = γ_{e−1} · gamma when e is a multiple of step_size, else γ_{e−1}
    (= γ₀ · gamma^⌊e / step_size⌋), as torch.optim.lr_scheduler.StepLR."""

    name: ClassVar[str] = "step_lr"
    torch_name: ClassVar[str] = "StepLR"

    step_size: int
    gamma: float = 0.1

    def check(self) -> None:
        _check_integer(self.name, "step_size", self.step_size, 1)
        check_range(self.name, "gamma", self.gamma, 0.0, low_open=True)

    def lr(self, epoch, lr, base_lr):
        return lr * self.gamma if epoch > 0 and epoch % self.step_size == 0 else lr


@dataclass(frozen=True, kw_only=True)
class MultiStepLR(Scheduler):
    """γ_e = γ_{e−1} · gamma when e is one of the milestones, else γ_{e−1}
    (= γ₀ · gamma^(milestones ≤ e)), as torch.optim.lr_scheduler.MultiStepLR."""

    name: ClassVar[str] = "multi_step_lr"
    torch_name: ClassVar[str] = "MultiStepLR"

    milestones: tuple[int, ...]
    gamma: float = 0.1

    def check(self) -> None:
        if isinstance(self.milestones, list):  # read from JSON
            object.__setattr__(self, "milestones", tuple(self.milestones))
        milestones = self.milestones
        if not isinstance(milestones, tuple) or not all(
                isinstance(m, numbers.Integral) and not isinstance(m, bool) and m >= 1 for m in milestones) \
                or any(a >= b for a, b in zip(milestones, milestones[1:])):
            raise ValueError(f"{self.name}: milestones must be increasing integers in [1, inf), got {milestones!r}")
        check_range(self.name, "gamma", self.gamma, 0.0, low_open=True)

    def lr(self, epoch, lr, base_lr):
        return lr * self.gamma if epoch in self.milestones else lr


@dataclass(frozen=True, kw_only=True)
class ExponentialLR(Scheduler):
    """γ_e = γ_{e−1} · gamma (= γ₀ · gammaᵉ), as torch.optim.lr_scheduler.ExponentialLR."""

    name: ClassVar[str] = "exponential_lr"
    torch_name: ClassVar[str] = "ExponentialLR"

    gamma: float

    def check(self) -> None:
        check_range(self.name, "gamma", self.gamma, 0.0, low_open=True)

    def lr(self, epoch, lr, base_lr):
        return lr * self.gamma if epoch > 0 else lr


@dataclass(frozen=True, kw_only=True)
class CosineAnnealingLR(Scheduler):
    """γ_e = η_min + (γ₀ − η_min)(1 + cos(π e / T_max)) / 2, computed as torch does it, from
    γ_{e−1}: γ_e = η_min + (γ_{e−1} − η_min)(1 + cos(π e / T_max)) / (1 + cos(π (e−1) / T_max)),
    and γ_e = γ_{e−1} + (γ₀ − η_min)(1 − cos(π / T_max)) / 2 where that divides by 0
    (e − 1 − T_max a multiple of 2 T_max; past T_max the lr rises again).
    As torch.optim.lr_scheduler.CosineAnnealingLR; Loshchilov & Hutter, "SGDR: Stochastic
    Gradient Descent with Warm Restarts" (2017)."""

    name: ClassVar[str] = "cosine_annealing_lr"
    torch_name: ClassVar[str] = "CosineAnnealingLR"

    T_max: int
    eta_min: float = 0.0

    def check(self) -> None:
        _check_integer(self.name, "T_max", self.T_max, 1)
        check_range(self.name, "eta_min", self.eta_min, 0.0)

    def lr(self, epoch, lr, base_lr):
        if epoch == 0:
            return lr
        if (epoch - 1 - self.T_max) % (2 * self.T_max) == 0:
            return lr + (base_lr - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
        return ((1 + math.cos(math.pi * epoch / self.T_max)) / (1 + math.cos(math.pi * (epoch - 1) / self.T_max))
                * (lr - self.eta_min) + self.eta_min)


@dataclass(frozen=True, kw_only=True)
class CosineAnnealingWarmRestarts(Scheduler):
    """γ_e = η_min + (γ₀ − η_min)(1 + cos(π T_cur / T_i)) / 2, where T_cur counts the steps
    since the last restart and T_i is the length of the current period: T_0 at first, then
    times T_mult at each restart. As torch.optim.lr_scheduler.CosineAnnealingWarmRestarts;
    Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts" (2017)."""

    name: ClassVar[str] = "cosine_annealing_warm_restarts"
    torch_name: ClassVar[str] = "CosineAnnealingWarmRestarts"

    T_0: int
    T_mult: int = 1
    eta_min: float = 0.0

    def check(self) -> None:
        _check_integer(self.name, "T_0", self.T_0, 1)
        _check_integer(self.name, "T_mult", self.T_mult, 1)
        check_range(self.name, "eta_min", self.eta_min, 0.0)

    def lr(self, epoch, lr, base_lr):
        t_cur, t_i = epoch, self.T_0
        while t_cur >= t_i:
            t_cur, t_i = t_cur - t_i, t_i * self.T_mult
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2


@dataclass(frozen=True, kw_only=True)
class OneCycleLR(Scheduler):
    """The 1cycle policy: the lr anneals from max_lr / div_factor up to max_lr over the first
    pct_start of total_steps, then down to max_lr / (div_factor · final_div_factor), while the
    momentum anneals from max_momentum down to base_momentum and back. With three_phase, the lr
    first returns to its initial value (and the momentum to max_momentum) in a phase as long as
    the first, then falls to the minimum. Annealing from a to b over a phase, at its fraction p:
    "cos": b + (a − b)(1 + cos(π p)) / 2;  "linear": (b − a) p + a. Phase ends, in steps:
    pct_start · total_steps − 1 (and 2 pct_start · total_steps − 2), total_steps − 1.
    The schedule sets the optimizer's lr (its own lr is ignored). More than total_steps steps
    raise ValueError, as torch's scheduler does when stepped past total_steps.
    As torch.optim.lr_scheduler.OneCycleLR (with total_steps; its epochs and steps_per_epoch
    only multiply to it); Smith & Topin, "Super-Convergence" (2018)."""

    name: ClassVar[str] = "one_cycle_lr"
    torch_name: ClassVar[str] = "OneCycleLR"
    CHOICES: ClassVar[dict[str, tuple]] = {"anneal_strategy": ("cos", "linear")}

    max_lr: float
    total_steps: int
    pct_start: float = 0.3
    anneal_strategy: str = "cos"
    cycle_momentum: bool = True
    base_momentum: float = 0.85
    max_momentum: float = 0.95
    div_factor: float = 25.0
    final_div_factor: float = 1e4
    three_phase: bool = False

    def check(self) -> None:
        check_range(self.name, "max_lr", self.max_lr, 0.0, low_open=True)
        _check_integer(self.name, "total_steps", self.total_steps, 1)
        check_range(self.name, "pct_start", self.pct_start, 0.0, 1.0, high_open=False)
        if float(self.pct_start * self.total_steps) == 1:  # torch would divide 0 by 0
            raise ValueError(f"{self.name}: pct_start · total_steps must not be 1, got "
                             f"{self.pct_start!r} · {self.total_steps!r}")
        _check_choice(self.name, "anneal_strategy", self.anneal_strategy, self.CHOICES["anneal_strategy"])
        _check_flag(self.name, "cycle_momentum", self.cycle_momentum)
        check_range(self.name, "base_momentum", self.base_momentum, 0.0, 1.0)
        check_range(self.name, "max_momentum", self.max_momentum, 0.0, 1.0)
        check_range(self.name, "div_factor", self.div_factor, 0.0, low_open=True)
        check_range(self.name, "final_div_factor", self.final_div_factor, 0.0, low_open=True)
        _check_flag(self.name, "three_phase", self.three_phase)

    def _phase(self, epoch: int) -> tuple[tuple[float, float, float, float], float]:
        """The phase of `epoch`, (start lr, end lr, start momentum, end momentum), and the
        fraction of it done."""
        if epoch > self.total_steps:
            raise ValueError(f"{self.name}: tried to step {epoch} times; total_steps is {self.total_steps}")
        initial = self.max_lr / self.div_factor
        low, high = self.base_momentum, self.max_momentum
        phases = [(float(self.pct_start * self.total_steps) - 1, (initial, self.max_lr, high, low))]
        if self.three_phase:
            phases.append((float(2 * self.pct_start * self.total_steps) - 2, (self.max_lr, initial, low, high)))
            phases.append((self.total_steps - 1, (initial, initial / self.final_div_factor, high, high)))
        else:
            phases.append((self.total_steps - 1, (self.max_lr, initial / self.final_div_factor, low, high)))
        start_step = 0.0
        for i, (end_step, values) in enumerate(phases):
            if epoch <= end_step or i == len(phases) - 1:
                return values, (epoch - start_step) / (end_step - start_step)
            start_step = end_step

    def _anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def lr(self, epoch, lr, base_lr):
        (start, end, _, _), pct = self._phase(epoch)
        return self._anneal(start, end, pct)

    def momentum(self, epoch):
        (_, _, start, end), pct = self._phase(epoch)
        return self._anneal(start, end, pct)

    def lrs(self, lr, steps):
        self._phase(steps)  # torch's scheduler.step() after the last step raises if it is too many
        return super().lrs(lr, steps)


@dataclass(frozen=True, kw_only=True)
class LinearLR(Scheduler):
    """γ_e = γ₀ · (s + (f − s) · min(e, total_iters) / total_iters), with s = start_factor and
    f = end_factor, computed as torch does it: γ₀ = γ · s, then
    γ_e = γ_{e−1} (1 + (f − s) / (total_iters · s + (e − 1)(f − s))) up to total_iters.
    As torch.optim.lr_scheduler.LinearLR."""

    name: ClassVar[str] = "linear_lr"
    torch_name: ClassVar[str] = "LinearLR"

    start_factor: float = 1.0 / 3
    end_factor: float = 1.0
    total_iters: int = 5

    def check(self) -> None:
        check_range(self.name, "start_factor", self.start_factor, 0.0, 1.0, low_open=True, high_open=False)
        check_range(self.name, "end_factor", self.end_factor, 0.0, 1.0, high_open=False)
        _check_integer(self.name, "total_iters", self.total_iters, 1)

    def lr(self, epoch, lr, base_lr):
        if epoch == 0:
            return lr * self.start_factor
        if epoch > self.total_iters:
            return lr
        change = self.end_factor - self.start_factor
        return lr * (1.0 + change / (self.total_iters * self.start_factor + (epoch - 1) * change))


@dataclass(frozen=True, kw_only=True)
class CyclicLR(Scheduler):
    """The lr rises linearly from base_lr to max_lr over step_size_up steps and falls back over
    step_size_down (default: step_size_up); the momentum moves the other way, from max_momentum
    to base_momentum and back. The rise is scaled by 1 ("triangular"), by 1/2^(c−1) in cycle
    c = 1, 2, ... ("triangular2") or by gammaᵉ at step e ("exp_range"):
    γ_e = base_lr + (max_lr − base_lr) · h_e · scale,   μ_e = max_m − (max_m − base_m) · h_e · scale
    with h_e ∈ [0, 1] the triangle wave. The schedule sets the optimizer's lr (its own lr is
    ignored). As torch.optim.lr_scheduler.CyclicLR (without its custom scale_fn); Smith,
    "Cyclical Learning Rates for Training Neural Networks" (2017)."""

    name: ClassVar[str] = "cyclic_lr"
    torch_name: ClassVar[str] = "CyclicLR"
    CHOICES: ClassVar[dict[str, tuple]] = {"mode": ("triangular", "triangular2", "exp_range")}

    base_lr: float
    max_lr: float
    step_size_up: int = 2000
    step_size_down: int | None = None
    mode: str = "triangular"
    gamma: float = 1.0
    cycle_momentum: bool = True
    base_momentum: float = 0.8
    max_momentum: float = 0.9

    def check(self) -> None:
        check_range(self.name, "base_lr", self.base_lr, 0.0, low_open=True)
        check_range(self.name, "max_lr", self.max_lr, 0.0, low_open=True)
        _check_integer(self.name, "step_size_up", self.step_size_up, 1)
        if self.step_size_down is not None:
            _check_integer(self.name, "step_size_down", self.step_size_down, 1)
        _check_choice(self.name, "mode", self.mode, self.CHOICES["mode"])
        check_range(self.name, "gamma", self.gamma, 0.0, low_open=True)
        _check_flag(self.name, "cycle_momentum", self.cycle_momentum)
        check_range(self.name, "base_momentum", self.base_momentum, 0.0, 1.0)
        check_range(self.name, "max_momentum", self.max_momentum, 0.0, 1.0)

    def _wave(self, epoch: int) -> tuple[float, float]:
        """The triangle wave h_e ∈ [0, 1] at `epoch`, and the mode's scale."""
        up = float(self.step_size_up)
        total = up + (up if self.step_size_down is None else float(self.step_size_down))
        ratio = up / total
        cycle = math.floor(1 + epoch / total)
        x = 1.0 + epoch / total - cycle
        wave = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        if self.mode == "triangular":
            return wave, 1.0
        if self.mode == "triangular2":
            return wave, 1 / 2.0 ** (cycle - 1)
        return wave, self.gamma**epoch

    def lr(self, epoch, lr, base_lr):
        wave, scale = self._wave(epoch)
        return self.base_lr + (self.max_lr - self.base_lr) * wave * scale

    def momentum(self, epoch):
        wave, scale = self._wave(epoch)
        return self.max_momentum - (self.max_momentum - self.base_momentum) * wave * scale


@dataclass(frozen=True, kw_only=True)
class PolynomialLR(Scheduler):
    """γ_e = γ₀ · (1 − min(e, total_iters) / total_iters)^power, computed as torch does it:
    γ_e = γ_{e−1} · ((1 − e / total_iters) / (1 − (e − 1) / total_iters))^power up to
    total_iters. As torch.optim.lr_scheduler.PolynomialLR."""

    name: ClassVar[str] = "polynomial_lr"
    torch_name: ClassVar[str] = "PolynomialLR"

    total_iters: int = 5
    power: float = 1.0

    def check(self) -> None:
        _check_integer(self.name, "total_iters", self.total_iters, 1)
        check_range(self.name, "power", self.power, 0.0)

    def lr(self, epoch, lr, base_lr):
        if epoch == 0 or epoch > self.total_iters:
            return lr
        return lr * ((1.0 - epoch / self.total_iters) / (1.0 - (epoch - 1) / self.total_iters)) ** self.power


SCHEDULERS: dict[str, type[Scheduler]] = {cls.name: cls for cls in (
    StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, CosineAnnealingWarmRestarts, OneCycleLR, LinearLR,
    CyclicLR, PolynomialLR,
)}


def get_scheduler(name: str, **arguments) -> Scheduler:
    """The scheduler `name` with the given arguments; raises ValueError on bad input."""
    cls = _lookup(SCHEDULERS, "scheduler", name, arguments, "argument")
    missing = [f.name for f in dataclasses.fields(cls)
               if f.default is dataclasses.MISSING and f.name not in arguments]
    if missing:
        raise ValueError(f"{name}: missing argument(s) {', '.join(missing)}")
    return cls(**arguments)
