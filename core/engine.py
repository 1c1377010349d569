"""The run engine: one optimizer from many starts at once, with outcome analysis.

    result = run(function, optimizer, starts, steps)

moves every start (shape (2,) or (N, 2)) `steps` times. With `record=True` it keeps the whole
trajectory; with `record=False` it keeps O(N) memory and stops updating starts that have settled,
which makes grids of a million starts practical.

Each run gets an outcome:
  GLOBAL         ends within `tolerance` of a global minimum,
  LOCAL          ends within `tolerance` of another listed minimum, or where the gradient is
                 small (an unlisted minimum, e.g. one of Rastrigin's wells),
  NOT_CONVERGED  anything else,
  DIVERGED       its point, gradient or loss became non-finite (it is stopped at its last finite
                 point, and `diverged_at` says at which step that happened).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .functions import TestFunction
from .optimizers import Optimizer

GLOBAL, LOCAL, NOT_CONVERGED, DIVERGED = 0, 1, 2, 3
OUTCOME_NAMES = ("global minimum", "other minimum", "not converged", "diverged")

MAX_STEPS = 100_000


@dataclass(frozen=True)
class RunResult:
    """What `run` returns. N is the number of starts, T the number of steps.

    points, losses, gradient_norms: (T+1, N, 2), (T+1, N), (T+1, N) when recorded, else None.
      After a divergence they repeat the last finite values.
    final, final_loss: (N, 2), (N,): the last finite point and its loss.
    diverged: (N,) bool; diverged_at: (N,) step at which the run went non-finite, −1 if never.
    outcome: (N,) one of GLOBAL, LOCAL, NOT_CONVERGED, DIVERGED.
    minimum_index: (N,) index into `function.minima` of the minimum reached, −1 if none.
    steps_to_converge: (N,) first step from which the run stayed within `tolerance` of the
      minimum it ends at (for unlisted minima: from which the gradient stayed small); −1 if never.
    """

    points: np.ndarray | None
    losses: np.ndarray | None
    gradient_norms: np.ndarray | None
    final: np.ndarray
    final_loss: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray
    outcome: np.ndarray
    minimum_index: np.ndarray
    steps_to_converge: np.ndarray

    @property
    def outcome_names(self) -> list[str]:
        return [OUTCOME_NAMES[o] for o in self.outcome]


def default_tolerance(function: TestFunction) -> float:
    """Distance within which a run counts as having reached a minimum: 0.5% of the domain's
    diagonal."""
    (x0, x1), (y0, y1) = function.domain
    return 0.005 * float(np.hypot(x1 - x0, y1 - y0))


def gradient_tolerance(function: TestFunction) -> float:
    """Gradient norm under which a point counts as stationary: 1e-3 of the gradient's median
    norm over a coarse grid of the domain."""
    (x0, x1), (y0, y1) = function.domain
    grid = np.stack(np.meshgrid(np.linspace(x0, x1, 21), np.linspace(y0, y1, 21)), axis=-1)
    with np.errstate(all="ignore"):
        norms = np.linalg.norm(function.gradient(grid), axis=-1)
    norms = norms[np.isfinite(norms)]
    scale = float(np.median(norms)) if norms.size else 1.0
    return 1e-3 * (scale if scale > 0 else 1.0)


def _as_starts(starts) -> np.ndarray:
    starts = np.asarray(starts, dtype=float)
    if starts.ndim == 1:
        starts = starts[None, :]
    if starts.ndim != 2 or starts.shape[1] != 2:
        raise ValueError(f"starts must have shape (2,) or (N, 2), got {starts.shape}")
    if not np.all(np.isfinite(starts)):
        raise ValueError("starts must be finite numbers")
    return starts


class _Labeller:
    """Which known minimum (if any) each point is at, vectorized."""

    def __init__(self, function: TestFunction, tolerance: float):
        minima = function.minima
        self.points = np.array([m.point for m in minima], dtype=float).reshape(-1, 2)
        self.is_global = np.array([m.is_global for m in minima], dtype=bool)
        self.tolerance = tolerance
        self.gradient_tolerance = gradient_tolerance(function)

    def label(self, points: np.ndarray, grad_norm: np.ndarray) -> np.ndarray:
        """Index of the listed minimum within tolerance, else −2 where the gradient is small
        (an unlisted stationary point), else −1."""
        labels = np.where(grad_norm <= self.gradient_tolerance, -2, -1)
        if len(self.points):
            distances = np.linalg.norm(points[:, None, :] - self.points[None, :, :], axis=-1)
            nearest = np.argmin(distances, axis=1)
            near = distances[np.arange(len(points)), nearest] <= self.tolerance
            labels = np.where(near, nearest, labels)
        return labels

    def outcome(self, labels: np.ndarray, diverged: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        outcome = np.full(labels.shape, NOT_CONVERGED)
        listed = labels >= 0
        if len(self.points):
            reached_global = listed & self.is_global[np.where(listed, labels, 0)]
        else:
            reached_global = np.zeros_like(listed)
        outcome[listed] = LOCAL
        outcome[reached_global] = GLOBAL
        outcome[labels == -2] = LOCAL
        outcome[diverged] = DIVERGED
        return outcome, np.where(listed & ~diverged, labels, -1)


def run(function: TestFunction, optimizer: Optimizer, starts, steps: int, *, record: bool = True,
        noise: float = 0.0, seed: int | None = None, tolerance: float | None = None) -> RunResult:
    """Run `optimizer` on `function` from every start for `steps` steps.

    noise: standard deviation of Gaussian noise added to every gradient (seeded by `seed`),
      to imitate the stochastic gradients of SGD. With noise, nothing is treated as settled.
    tolerance: distance for "reached a minimum"; default `default_tolerance(function)`.
    """
    starts = _as_starts(starts)
    steps = int(steps)
    if not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be in [0, {MAX_STEPS}], got {steps}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    tolerance = default_tolerance(function) if tolerance is None else float(tolerance)
    labeller = _Labeller(function, tolerance)
    rng = np.random.default_rng(seed) if noise else None

    n = len(starts)
    params = starts.copy()
    state = optimizer.init(params)
    diverged_at = np.full(n, -1)
    with np.errstate(all="ignore"):
        loss = function(params)
        grad = function.gradient(params)
    grad_norm = np.linalg.norm(grad, axis=-1)
    labels = labeller.label(params, grad_norm)
    label_since = np.zeros(n, dtype=int)

    if record:
        points = np.empty((steps + 1, n, 2))
        losses = np.empty((steps + 1, n))
        grad_norms = np.empty((steps + 1, n))
        points[0], losses[0], grad_norms[0] = params, loss, grad_norm

    # Only the `active` starts are updated: not the diverged ones and, without recording or
    # noise, not those whose point and state no longer change (a fixed point of the update).
    active = np.arange(n)
    bad = ~(np.isfinite(loss) & np.all(np.isfinite(grad), axis=-1))
    if bad.any():
        diverged_at[bad] = 0
        active = active[~bad]
        state = _take(state, ~bad)
    sub_params, sub_grad = params[active], grad[active]

    for t in range(1, steps + 1):
        if not len(active):
            if record:
                points[t:], losses[t:], grad_norms[t:] = points[t - 1], losses[t - 1], grad_norms[t - 1]
            break
        if rng is not None:
            sub_grad = sub_grad + noise * rng.standard_normal(sub_grad.shape)
        with np.errstate(all="ignore"):
            sub_loss = function(sub_params) if optimizer.needs_loss else None
            new_params, new_state = optimizer.step(sub_params, sub_grad, state, t, loss=sub_loss)
            new_grad = function.gradient(new_params)
            new_loss = function(new_params) if record else None
        finite = np.all(np.isfinite(new_params), axis=-1) & np.all(np.isfinite(new_grad), axis=-1)
        if record:
            finite &= np.isfinite(new_loss)
        new_grad_norm = np.linalg.norm(new_grad, axis=-1)
        if not finite.all():
            diverged_at[active[~finite]] = t
        # Settled: the update no longer changes the point (it is a fixed point in floating
        # point), and the optimizer's state is unchanged too, so all later steps are identical.
        keep = finite
        if not record and rng is None:
            settled = np.all(new_params == sub_params, axis=-1) & _unchanged(new_state, state)
            keep = finite & ~settled

        new_labels = labeller.label(new_params, new_grad_norm)
        moved = active[finite]
        changed = new_labels[finite] != labels[moved]
        label_since[moved[changed]] = t
        labels[moved] = new_labels[finite]
        params[moved] = new_params[finite]
        if record:
            points[t] = points[t - 1]
            losses[t] = losses[t - 1]
            grad_norms[t] = grad_norms[t - 1]
            points[t, moved] = new_params[finite]
            losses[t, moved] = new_loss[finite]
            grad_norms[t, moved] = new_grad_norm[finite]

        if keep.all():
            active, state, sub_params, sub_grad = active, new_state, new_params, new_grad
        else:
            active = active[keep]
            state = _take(new_state, keep)
            sub_params, sub_grad = new_params[keep], new_grad[keep]

    diverged = diverged_at >= 0
    with np.errstate(all="ignore"):
        final_loss = function(params)
    outcome, minimum_index = labeller.outcome(labels, diverged)
    converged = (outcome == GLOBAL) | (outcome == LOCAL)
    return RunResult(
        points=points if record else None,
        losses=losses if record else None,
        gradient_norms=grad_norms if record else None,
        final=params,
        final_loss=final_loss,
        diverged=diverged,
        diverged_at=diverged_at,
        outcome=outcome,
        minimum_index=minimum_index,
        steps_to_converge=np.where(converged, label_since, -1),
    )


def _take(state, mask):
    return type(state)(*(a[mask] for a in state))


def _unchanged(new_state, old_state) -> np.ndarray:
    same = True
    for new, old in zip(new_state, old_state):
        equal = new == old
        same = same & (np.all(equal, axis=-1) if equal.ndim == 2 else equal)
    return np.asarray(same)
