"""The run engine: one optimizer from many starts at once, with outcome analysis.

    result = run(function, optimizer, starts, steps)

moves every start (shape (2,) or (N, 2)) `steps` times. With `record=True` it keeps the whole
trajectory; with `record=False` it keeps O(N) memory (final points and losses, steps to
converge, outcome), which makes grids of a million starts practical. Both give the same
final points, losses and outcomes for the same inputs.

Each run gets an outcome:
  GLOBAL         ends within `tolerance` of a global minimum,
  LOCAL          ends within `tolerance` of another listed minimum, or where the gradient is
                 small (an unlisted minimum, e.g. one of Rastrigin's wells),
  NOT_CONVERGED  anything else,
  DIVERGED       its point or gradient (or, for an optimizer that needs it, its loss) became
                 non-finite: it is stopped at its last finite point, and `diverged_at` says at
                 which step that happened. Nothing raises and no RuntimeWarning leaks.

How it runs
-----------
A step is `function.gradient` and `optimizer.step` on (n, 2) arrays: the one definition of
each formula, run by numpy over all the starts of a chunk at once. Nothing is compiled and
nothing is a second copy of a formula; the engine's own work is kept to a few array
operations a step:

* Layout. Points live as a (2, n) array, so the function's partials run on contiguous rows
  of x and y; the optimizer gets (n, 2) transposed views (its element-wise updates run in
  memory order). A start's path does not depend on the other starts of its run.
* Chunks. Starts are cut into chunks of at most CHUNK points, each run through all its
  steps: a step's ~30 array operations then work on arrays that stay in the CPU's cache
  (measured on the article's four over a 201² grid: 0.65 s in chunks of ~10,000 starts,
  1.1 s in one chunk of 40,401). One thread: with two, the threads' many short numpy calls
  contend for the GIL and the run took 1.5x as long.
* record=False: per step, `_Tracker` keeps for every point, per listed minimum, the step from
  which it has stayed inside the tolerance ball, and the step from which its gradient has
  stayed small (a few array operations per minimum), and one sum per array tells whether
  everything is finite. Only when it is not are the diverged points found, frozen at their
  last finite point and dropped from the arrays.
* record=True: the steps run without any bookkeeping (a diverged point's NaNs harm no other
  point); divergence, outcomes and steps to converge are read off the trajectory at the end
  with the same formulas.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from .functions import TestFunction
from .optimizers import Optimizer

GLOBAL, LOCAL, NOT_CONVERGED, DIVERGED = 0, 1, 2, 3
OUTCOME_NAMES = ("global minimum", "other minimum", "not converged", "diverged")

MAX_STEPS = 100_000
CHUNK = 10240  # points per chunk: small enough that a step's arrays stay in the CPU's cache


@dataclass(frozen=True)
class RunResult:
    """What `run` returns. N is the number of starts, T the number of steps.

    points, losses, gradient_norms: (T+1, N, 2), (T+1, N), (T+1, N) when recorded, else None.
      After a divergence they repeat the last finite values.
    final, final_loss, final_gradient_norm: (N, 2), (N,), (N,): the last finite point, its
      loss and the norm of its gradient.
    diverged: (N,) bool; diverged_at: (N,) step at which the run went non-finite, −1 if never.
    outcome: (N,) one of GLOBAL, LOCAL, NOT_CONVERGED, DIVERGED.
    minimum_index: (N,) index into `function.minima` of the minimum reached, −1 if none.
    steps_to_converge: (N,) first step from which the run stayed within `tolerance` of the
      minimum it ends at (for unlisted minima: from which the gradient stayed small); −1 if
      it did not converge.
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
    final_gradient_norm: np.ndarray

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


def run(function: TestFunction, optimizer: Optimizer, starts, steps: int, *, record: bool = True,
        noise: float = 0.0, seed: int | None = None, tolerance: float | None = None) -> RunResult:
    """Run `optimizer` on `function` from every start for `steps` steps.

    Any `TestFunction` and any `Optimizer` work, built-in or a user's subclass.
    noise: standard deviation of Gaussian noise added to every gradient the optimizer sees
      (seeded by `seed`, one generator per chunk of CHUNK starts), to imitate the stochastic
      gradients of SGD. The recorded gradients and the outcomes use the exact gradient.
    tolerance: distance for "reached a minimum"; default `default_tolerance(function)`.
    """
    starts = _as_starts(starts)
    steps = int(steps)
    if not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be in [0, {MAX_STEPS}], got {steps}")
    noise = _non_negative("noise", noise)
    tolerance = default_tolerance(function) if tolerance is None else _non_negative("tolerance", tolerance)

    job = _Job(function, optimizer, _landscape(function, tolerance), starts, steps, noise, record)
    chunks = _chunks(len(starts))
    seeds = np.random.SeedSequence(seed).spawn(len(chunks)) if noise else [None] * len(chunks)
    for chunk, chunk_seed in zip(chunks, seeds):
        job.run_chunk(chunk, chunk_seed)
    return job.result()


# ---------------------------------------------------------------------------------------
# What the engine needs of the function
# ---------------------------------------------------------------------------------------
class _Landscape:
    """The function on (2, ...) arrays of points, its listed minima and the two tolerances."""

    def __init__(self, function: TestFunction, tolerance: float):
        self.function = function
        # Call the coordinate-wise methods directly unless a subclass overrides the public ones.
        self.own_partials = type(function).gradient is TestFunction.gradient
        self.own_value = type(function).__call__ is TestFunction.__call__
        self.minima = np.array([m.point for m in function.minima], dtype=float).reshape(-1, 2)
        self.is_global = np.array([m.is_global for m in function.minima], dtype=bool)
        self.squared_tolerance = tolerance * tolerance
        self.squared_gradient_tolerance = gradient_tolerance(function) ** 2

    def gradient(self, xy: np.ndarray) -> np.ndarray:
        """(2, n) gradient at (2, n) points, a new C-contiguous array."""
        grad = np.empty_like(xy)
        if self.own_partials:
            grad[0], grad[1] = self.function.partials(xy[0], xy[1])
        else:
            grad[:] = np.moveaxis(self.function.gradient(np.moveaxis(xy, 0, -1)), -1, 0)
        return grad

    def value(self, xy: np.ndarray) -> np.ndarray:
        """f at (2, ...) points, shape (...)."""
        if self.own_value:
            value = self.function.value(xy[0], xy[1])
        else:
            value = self.function(np.moveaxis(xy, 0, -1))
        return np.array(np.broadcast_to(value, xy.shape[1:]), dtype=float)

    def excess_distances(self, xy: np.ndarray):
        """For each listed minimum, squared distance − squared tolerance of (2, ...) points:
        negative (sign bit set) strictly inside its ball, else outside."""
        for mx, my in self.minima:
            dx = xy[0] - mx
            dy = xy[1] - my
            yield dx * dx + (dy * dy - self.squared_tolerance)

    def excess_gradient(self, grad: np.ndarray) -> np.ndarray:
        """Squared gradient norm − squared stationary tolerance: negative (sign bit set) where
        the gradient is small."""
        return grad[0] * grad[0] + (grad[1] * grad[1] - self.squared_gradient_tolerance)

    def conclude(self, xy, grad, since):
        """Label and steps to converge of final points (2, n) with gradients (2, n), given for
        each the step from which it stayed inside each minimum's ball and, in the last row,
        from which its gradient stayed small (`since`, (K + 1, n)).

        Label: index of the nearest listed minimum if strictly inside its ball, else −2 where
        the gradient is small (an unlisted stationary point), else −1."""
        n = xy.shape[1]
        label = np.where(np.signbit(self.excess_gradient(grad)), -2, -1)
        converged_since = np.where(label == -2, since[-1], -1).astype(np.int64)
        if len(self.minima):
            excess = np.array(list(self.excess_distances(xy))).reshape(-1, n)
            nearest = np.argmin(excess, axis=0)
            inside = np.signbit(excess[nearest, np.arange(n)])
            label = np.where(inside, nearest, label)
            converged_since = np.where(inside, since[nearest, np.arange(n)], converged_since).astype(np.int64)
        return label, converged_since


def _landscape(function: TestFunction, tolerance: float) -> _Landscape:
    """Cached per (function, tolerance): a function's minima may be solved on each access."""
    try:
        return _cached_landscape(function, tolerance)
    except TypeError:  # unhashable parameters
        return _Landscape(function, tolerance)


@functools.lru_cache(maxsize=128)
def _cached_landscape(function: TestFunction, tolerance: float) -> _Landscape:
    return _Landscape(function, tolerance)


# ---------------------------------------------------------------------------------------
# The run itself
# ---------------------------------------------------------------------------------------
class _Job:
    """One call of `run`: its inputs, its outputs, and the loop that moves a chunk of starts."""

    def __init__(self, function, optimizer, landscape, starts, steps, noise, record):
        self.optimizer, self.landscape = optimizer, landscape
        self.starts, self.steps, self.noise, self.record = starts, steps, noise, record
        self.needs_loss = bool(optimizer.needs_loss)
        n = len(starts)
        if record:
            self.points = np.empty((steps + 1, n, 2))
            self.gradients = np.empty((steps + 1, n, 2))
        else:
            self.final = np.empty((2, n))
            self.final_gradient = np.empty((2, n))
            self.diverged_at = np.full(n, -1)
            self.label = np.empty(n, dtype=np.int64)
            self.converged_since = np.empty(n, dtype=np.int64)

    def run_chunk(self, chunk: tuple[int, int], seed) -> None:
        with np.errstate(all="ignore"):
            if self.record:
                self._record(*chunk, seed)
            else:
                self._track(*chunk, seed)

    def _start(self, lo, hi, seed):
        xy = np.ascontiguousarray(self.starts[lo:hi].T)
        noise = None if seed is None else _ChunkNoise(seed, hi - lo, self.noise)
        grad = self.landscape.gradient(xy)
        loss = self.landscape.value(xy) if self.needs_loss else None
        return xy, grad, loss, self.optimizer.init(xy.T), noise

    def _step(self, xy, grad, loss, state, t, noise, columns=None):
        """One optimizer step on (2, n) points: the new points, gradient, loss and state.
        With noise, `noise` draws for the whole chunk and `columns` picks the active points'
        (None: all of them)."""
        if noise is not None:
            grad = noise.add_to(grad, columns)
        params, state = self.optimizer.step(xy.T, grad.T, state, t, loss=loss)
        xy = np.ascontiguousarray(np.asarray(params, dtype=float).T)
        grad = self.landscape.gradient(xy)
        loss = self.landscape.value(xy) if self.needs_loss else None
        return xy, grad, loss, state

    def _record(self, lo, hi, seed):
        """record=True: every step of every point, no bookkeeping (see `result`)."""
        xy, grad, loss, state, noise = self._start(lo, hi, seed)
        points, gradients = self.points[:, lo:hi], self.gradients[:, lo:hi]
        points[0], gradients[0] = xy.T, grad.T
        for t in range(1, self.steps + 1):
            xy, grad, loss, state = self._step(xy, grad, loss, state, t, noise)
            points[t], gradients[t] = xy.T, grad.T

    def _track(self, lo, hi, seed):
        """record=False: O(n) bookkeeping per step; diverged points leave the arrays."""
        xy, grad, loss, state, noise = self._start(lo, hi, seed)
        n = hi - lo
        tracker = _Tracker(self.landscape, n)
        active = np.arange(n)  # chunk positions of the points still moving
        diverged_at = self.diverged_at[lo:hi]
        final, final_gradient = np.empty((2, n)), np.empty((2, n))  # where each point stops
        since = np.empty_like(tracker.since)

        def stop(mask, xy, grad):
            where = active[mask]
            final[:, where], final_gradient[:, where] = xy[:, mask], grad[:, mask]
            since[:, where] = tracker.since[:, mask]

        tracker.observe(0, xy, grad)
        leaving = ~_finite(xy, grad, loss)  # a start whose gradient is not finite
        stop(leaving, xy, grad)
        diverged_at[active[leaving]] = 0
        for t in range(1, self.steps + 1):
            if leaving.any():  # drop the diverged points
                keep = ~leaving
                active, xy, grad = active[keep], xy[:, keep], grad[:, keep]
                state = type(state)(*(np.asarray(a)[keep] for a in state))
                loss = None if loss is None else loss[keep]
                tracker.since = tracker.since[:, keep]
                leaving = np.zeros(len(active), dtype=bool)
            if not len(active):
                break
            new_xy, new_grad, new_loss, new_state = self._step(
                xy, grad, loss, state, t, noise, active if len(active) < n else None)
            tracker.observe(t, new_xy, new_grad)
            if not _all_finite(new_xy, new_grad, new_loss):
                leaving = ~_finite(new_xy, new_grad, new_loss)
                stop(leaving, xy, grad)  # the last finite point
                diverged_at[active[leaving]] = t
            xy, grad, loss, state = new_xy, new_grad, new_loss, new_state
        stop(~leaving, xy, grad)
        label, converged_since = self.landscape.conclude(final, final_gradient, since)
        self.final[:, lo:hi], self.final_gradient[:, lo:hi] = final, final_gradient
        self.label[lo:hi], self.converged_since[lo:hi] = label, converged_since

    def result(self) -> RunResult:
        landscape = self.landscape
        with np.errstate(all="ignore"):
            if self.record:
                points, gradients = self.points, self.gradients
                losses = landscape.value(np.moveaxis(points, -1, 0))
                bad = ~(np.isfinite(points).all(-1) & np.isfinite(gradients).all(-1))
                if self.needs_loss:
                    bad |= ~np.isfinite(losses)
                diverged_at = np.where(bad.any(0), np.argmax(bad, axis=0), -1)
                for i in np.flatnonzero(diverged_at >= 0):  # repeat the last finite point
                    first = max(int(diverged_at[i]), 1)
                    points[first:, i], gradients[first:, i] = points[first - 1, i], gradients[first - 1, i]
                    losses[first:, i] = losses[first - 1, i]
                xy, grad = np.moveaxis(points, -1, 0), np.moveaxis(gradients, -1, 0)  # (2, T+1, N) views
                gradient_norms = _norm(grad)
                outside = [~np.signbit(excess) for excess in landscape.excess_distances(xy)]
                outside.append(~np.signbit(landscape.excess_gradient(grad)))
                since = np.array([_after_last(mask) for mask in outside])
                final, final_gradient = xy[:, -1], grad[:, -1]
                label, converged_since = landscape.conclude(final, final_gradient, since)
                final_loss = losses[-1].copy()
            else:
                points = losses = gradient_norms = None
                final, final_gradient = self.final, self.final_gradient
                diverged_at, label, converged_since = self.diverged_at, self.label, self.converged_since
                final_loss = landscape.value(final)
            final_gradient_norm = _norm(final_gradient)

        diverged = diverged_at >= 0
        listed = (label >= 0) & ~diverged
        outcome = np.full(len(label), NOT_CONVERGED)
        outcome[label == -2] = LOCAL
        outcome[listed] = np.where(landscape.is_global[label[listed]], GLOBAL, LOCAL)
        outcome[diverged] = DIVERGED
        converged = (outcome == GLOBAL) | (outcome == LOCAL)
        return RunResult(
            points=points,
            losses=losses,
            gradient_norms=gradient_norms,
            final=np.array(final.T, order="C"),
            final_loss=final_loss,
            diverged=diverged,
            diverged_at=diverged_at,
            outcome=outcome,
            minimum_index=np.where(listed, label, -1),
            steps_to_converge=np.where(converged, converged_since, -1),
            final_gradient_norm=final_gradient_norm,
        )


# ---------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------
class _ChunkNoise:
    """A chunk's seeded Gaussian gradient noise. It draws for all `width` points of the chunk
    at every step, so a point's noise does not depend on which others are still moving."""

    def __init__(self, seed: np.random.SeedSequence, width: int, scale: float):
        self.rng, self.width, self.scale = np.random.default_rng(seed), width, scale

    def add_to(self, grad: np.ndarray, columns: np.ndarray | None) -> np.ndarray:
        draw = self.rng.standard_normal((2, self.width))
        return grad + self.scale * (draw if columns is None else draw[:, columns])


class _Tracker:
    """For each active point, the step from which on it has stayed strictly inside each listed
    minimum's tolerance ball, and from which its gradient has stayed strictly below the
    stationary tolerance: one more than the last step it was outside, 0 if never. Rows
    0..K−1 of `since` are the K minima, row K the gradient. Per step, with the formulas of
    `_Landscape.excess_distances` and `excess_gradient`:

        excess = (x − mx)² + ((y − my)² − tolerance²)      (negative: inside)
        since = max(since, copysign(t + 1, excess))
    """

    def __init__(self, landscape: _Landscape, n: int):
        self.landscape = landscape
        self.since = np.zeros((len(landscape.minima) + 1, n))

    def observe(self, t: int, xy: np.ndarray, grad: np.ndarray) -> None:
        excesses = [*self.landscape.excess_distances(xy), self.landscape.excess_gradient(grad)]
        for row, excess in zip(self.since, excesses):
            np.maximum(row, np.copysign(t + 1.0, excess, out=excess), out=row)


def _chunks(n: int) -> list[tuple[int, int]]:
    """Bounds of nearly equal chunks of at most CHUNK starts (a start's gradient noise depends
    on them)."""
    count = max(1, -(-n // CHUNK))
    bounds = [n * i // count for i in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def _as_starts(starts) -> np.ndarray:
    try:
        starts = np.array(starts, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("starts must be numbers of shape (2,) or (N, 2)") from None
    if starts.ndim == 1:
        starts = starts[None, :]
    if starts.ndim != 2 or starts.shape[1] != 2:
        raise ValueError(f"starts must have shape (2,) or (N, 2), got {starts.shape}")
    if not np.all(np.isfinite(starts)):
        raise ValueError("starts must be finite numbers")
    return starts


def _non_negative(name: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def _all_finite(*arrays) -> bool:
    """One cheap reduction per array; False also when a sum merely overflows (then the exact
    per-point test decides)."""
    return all(a is None or math.isfinite(np.add.reduce(a, axis=None)) for a in arrays)


def _finite(xy, grad, loss) -> np.ndarray:
    finite = np.isfinite(xy).all(0) & np.isfinite(grad).all(0)
    return finite if loss is None else finite & np.isfinite(loss)


def _norm(vectors: np.ndarray) -> np.ndarray:
    """Euclidean norm along axis 0 of (2, ...) vectors, as np.linalg.norm computes it."""
    return np.sqrt(vectors[0] * vectors[0] + vectors[1] * vectors[1])


def _after_last(mask: np.ndarray) -> np.ndarray:
    """Along axis 0: one more than the last index where mask is True, 0 if never."""
    return np.where(mask.any(0), mask.shape[0] - np.argmax(mask[::-1], axis=0), 0)
