"""A look inside one run: the optimizer's internal state step by step, and the gradient field.

    >>> f = get_function("rosenbrock")
    >>> internals = trace_internals(f, get_optimizer("adam", lr=0.01), start=(-1.0, 1.5), steps=100)
    >>> internals["effective step size x"].shape
    (100,)

The run is `core.run(..., record=True)` itself, with the optimizer wrapped in a recorder that
notes its state after every step. So the path, the gradient noise and the point of divergence
are the engine's own, by construction, whatever the engine does to be fast.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .engine import run
from .functions import TestFunction
from .optimizers import Optimizer
from .schedulers import Scheduler


class _Recorder:
    """Stands in for `optimizer` in `run` (one start): passes every call through (step t to
    optimizers[t − 1], a schedule's optimizer of that step), and keeps the new point and the
    internals after each step t."""

    def __init__(self, optimizers: list[Optimizer]):
        self.optimizers = optimizers
        optimizer = self.optimizer = optimizers[0]
        self.needs_loss, self.needs_function = optimizer.needs_loss, optimizer.needs_function
        self.points: dict[int, np.ndarray] = {}
        self.internals: dict[int, dict[str, float]] = {}

    def init(self, params):
        return self.optimizer.init(params)

    def step(self, params, grad, state, t, loss=None, **function):
        optimizer = self.optimizers[t - 1]
        params, state = optimizer.step(params, grad, state, t, loss=loss, **function)
        with np.errstate(all="ignore"):
            internals = optimizer.internals(state, t)
        self.points[t] = np.array(params, dtype=float).reshape(2)
        self.internals[t] = {name: float(np.ravel(value)[0]) for name, value in internals.items()}
        return params, state


class Trace(NamedTuple):
    """One run seen from inside. k ≤ steps is the number of steps recorded (see `trace`)."""

    points: np.ndarray  # (k+1, 2): the start, then the point after each step
    internals: dict[str, np.ndarray]  # name -> (k,): entry i is the value after step i + 1
    diverged_at: int  # the step at which `run` says the run diverged, −1 if it did not


def trace(function: TestFunction, optimizer: Optimizer, start, steps: int, noise: float = 0.0,
          seed: int | None = None, scheduler: Scheduler | None = None) -> Trace:
    """Run `optimizer` from `start` (two numbers) as `run(..., record=True, noise=noise,
    seed=seed, scheduler=scheduler)` does, and record its internals (names in
    `core.optimizers.INTERNALS`).

    k = steps, unless the run diverged at step d: then k = d − 1, the steps before it. The
    record also ends before the first step where an internal quantity is not finite, so every
    array is finite and all have length k. The names are the optimizer's, even when k = 0."""
    recorder = _Recorder([optimizer] * max(int(steps), 1) if scheduler is None
                         else scheduler.optimizers(optimizer, int(steps)) or [optimizer])
    result = run(function, recorder, np.asarray(start, dtype=float).reshape(1, 2), steps, record=True,
                 noise=noise, seed=seed)
    diverged_at = int(result.diverged_at[0])
    last = int(steps) if diverged_at < 0 else max(diverged_at - 1, 0)
    with np.errstate(all="ignore"):
        names = list(optimizer.internals(optimizer.init(np.zeros((1, 2))), 1))
    k = 0
    while k < last and all(np.isfinite(v) for v in recorder.internals[k + 1].values()):
        k += 1
    internals = {name: np.array([recorder.internals[t][name] for t in range(1, k + 1)], dtype=float)
                 for name in names}
    points = np.array([result.points[0, 0]] + [recorder.points[t] for t in range(1, k + 1)])
    return Trace(points, internals, diverged_at)


def trace_internals(function: TestFunction, optimizer: Optimizer, start, steps: int, noise: float = 0.0,
                    seed: int | None = None, scheduler: Scheduler | None = None) -> dict[str, np.ndarray]:
    """{name: (k,) array}: the value after step t = 1 … k of each internal quantity (see `trace`)."""
    return trace(function, optimizer, start, steps, noise, seed, scheduler).internals


def gradient_field(function: TestFunction, resolution: int = 15) -> tuple[np.ndarray, ...]:
    """The direction of steepest descent, −∇f / ‖∇f‖, at the centres of a resolution ×
    resolution grid of cells over the domain: (xs, ys, u, v), each of shape (M,), with unit
    (u, v). Points where the gradient is zero or not finite are left out (M ≤ resolution²)."""
    resolution = int(resolution)
    if resolution < 1:
        raise ValueError(f"resolution must be >= 1, got {resolution}")
    (x0, x1), (y0, y1) = function.domain
    centres = (np.arange(resolution) + 0.5) / resolution
    points = np.stack(np.meshgrid(x0 + centres * (x1 - x0), y0 + centres * (y1 - y0)), axis=-1).reshape(-1, 2)
    with np.errstate(all="ignore"):
        grad = function.gradient(points)
        norm = np.linalg.norm(grad, axis=-1)
        direction = -grad / norm[:, None]
    keep = np.all(np.isfinite(direction), axis=-1) & (norm > 0)
    points, direction = points[keep], direction[keep]
    return points[:, 0], points[:, 1], direction[:, 0], direction[:, 1]


__all__ = ["Trace", "gradient_field", "trace", "trace_internals"]
