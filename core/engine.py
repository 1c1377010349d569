"""The run engine: one optimizer from many starts at once, with outcome analysis.

    result = run(function, optimizer, starts, steps)

moves every start (shape (2,) or (N, 2)) `steps` times. With `record=True` it keeps the whole
trajectory; with `record=False` it keeps O(N) memory (final points and losses, steps to
converge, outcome), which makes grids of a million starts practical. Both give bitwise the
same final points, losses and outcomes for the same inputs.

Each run gets an outcome:
  GLOBAL         ends within `tolerance` of a global minimum,
  LOCAL          ends within `tolerance` of another listed minimum, or where the gradient is
                 small (an unlisted minimum, e.g. one of Rastrigin's wells),
  NOT_CONVERGED  anything else,
  DIVERGED       its point or gradient (or, for an optimizer that needs it, its loss) became
                 non-finite: it is stopped at its last finite point, and `diverged_at` says at
                 which step that happened. Nothing raises and no RuntimeWarning leaks.

Design
------
The work is `function.partials` and `optimizer.step` on arrays of points; everything else is
bookkeeping, and the bookkeeping is what made the first engine ~10x slower than a plain loop
(per step it labelled every point against every minimum with norms, argmin and fancy
indexing, checked finiteness per point and re-indexed the state). Now:

* Layout. Points live as a (2, n) array, so x and y are contiguous rows: the function's
  partials run on contiguous arrays (no strided views, no `np.stack` into (n, 2)), and the
  optimizer gets (n, 2) transposed *views*, so its elementwise updates also run over
  contiguous memory. Elementwise results do not depend on layout, length or position in
  the array (numpy's loops are the same for contiguous, strided and length-1 arrays; the
  tests compare the engine with a plain loop bit for bit), so a start's path is the same
  whether it runs alone or in a grid. (Python floats or numpy scalars would be faster for
  one start, but their `**` differs from the arrays' in the last bit, so they are not used.)
* Chunks. Starts are cut into chunks of at most CHUNK points, each run through *all* its
  steps before the next (rows never interact). A chunk is big enough that the ~6 calls of
  a step cost little next to their work (a 201x201 grid is two chunks, one per thread).
  Gradient noise comes from one seeded generator per chunk, drawn for the whole chunk every
  step, so it depends on the seed and N only.
* Threads. Chunks run on THREADS threads. The fused loops and numpy's ufuncs release the
  GIL, and a step is only ~6 calls per chunk, so two threads on two chunks of ~20,000
  starts took 0.57-0.75x the time of one (the results are the same, which a test checks).
  With the ~70 numpy calls a step of the reference code, a second thread did not pay.
  A single start is one chunk, so a dashboard click never takes both cores. The threads
  are kept between runs (`_pool`): starting two took ~2 ms a run (a 201x201 grid's 1-step
  run: 3.8 -> 2.1 ms).
* Cheap per-step bookkeeping (record=False). The outcome is decided once, from the final
  point; per step `_Tracker` keeps, per listed minimum, the step from which the point has
  stayed inside its tolerance ball, and the step from which its gradient has stayed below
  the stationary tolerance, in one branch-free fused loop that also reports whether every
  value is finite. `steps_to_converge` is the one that belongs to the final label.
* A shrinking active set, exactly. A point leaves the active set when it diverges, or when
  one step changed neither it nor any array of its optimizer's state, bit for bit, and the
  optimizer's step does not depend on t (probed once per optimizer: SGD, momentum, RMSprop,
  the article's Adam do; bias-corrected Adam does not): all its later steps would be the
  same. The arrays are compacted only when a quarter of the active points have settled (or
  one diverged). On Rastrigin most SGD runs settle; on the two-gaussian bowl almost none do
  within the article's step counts (y decays geometrically towards 0 and never repeats).
* record=True runs the same step code without the bookkeeping: it writes every point and
  gradient into the trajectory, and derives divergence, labels and steps to converge from
  it at the end with the same elementwise formulas, so the two modes agree bitwise. Per-run
  constants (minima, gradient tolerance) are cached for the built-in functions.

Fused loops (core/fused.py, core/fused_gradients.py). The gradient of every built-in
function, every optimizer and the bookkeeping run as numba loops that repeat the reference
formulas operation for operation, with numpy's own ufuncs for exp, sin, cos and powers, so
the results are the reference's bit for bit (tests/test_fused.py) while a step is ~5 passes
over memory instead of ~70. What has no fused loop (a typed function) runs the reference
code.

Whole runs. When the function's gradient can be called from compiled code (every built-in
function) and the optimizer has a plan (every one; the loop computes Eve's loss and calls
numpy's arcsinh and sinh for YellowFin's tuner), all steps run in one compiled call:
`fused.whole_run` records a trajectory (1,000 steps of one start in ~1-2 ms instead of
~15 ms of Python; with gradient noise too, its chunk's draws made beforehand), and
`fused.tracked_run` does record=False without noise (a grid's draws for all steps would not
fit in memory), moving a chunk's points BLOCK at a time through all their steps with the
tracker's loop and the divergence stops in between, so that their arrays stay in the CPU's
cache; it skips the active-set shrinking, whose results are the same. numpy's exp, sin,
cos, power, hypot, arcsinh and sinh are called from inside those loops
(core/numpy_loops.py) to keep the bits; the tests compare both whole runs with the
per-step code bit for bit. For chunks of a grid (fused_pairs.PAIR_MIN_POINTS starts or
more), `fused_pairs.tracked_run` takes the pair's single-loop pass instead, once it is
compiled on the machine (`fused_pairs.warm`): 1.3-1.6x faster, the same bits.

Measured: see README ("Speed") and benchmarks/bench_core.py.
"""

from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .functions import FUNCTION_CLASSES, TestFunction
from .fused import conclude, fused_gradient, steps_of, track, whole_run
from .fused_gradients import fused_value
from .fused_pairs import tracked_run
from .optimizers import Optimizer

GLOBAL, LOCAL, NOT_CONVERGED, DIVERGED = 0, 1, 2, 3
OUTCOME_NAMES = ("global minimum", "other minimum", "not converged", "diverged")

MAX_STEPS = 100_000
CHUNK = 32768  # points per chunk; see "Chunks" in the docstring
THREADS = 2  # threads over chunks; see "Threads" in the docstring
SETTLE_CHECK_EVERY = 8  # steps between checks for points that no longer move
COMPACT_SHARE = 0.25  # compact the active set once this share of it has settled


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

    noise: standard deviation of Gaussian noise added to every gradient the optimizer sees
      (seeded by `seed`, one generator per chunk of CHUNK starts), to imitate the stochastic
      gradients of SGD. The recorded gradients and the outcomes use the exact gradient.
    tolerance: distance for "reached a minimum"; default `default_tolerance(function)`.
    """
    starts = _as_starts(starts)
    steps = int(steps)
    if not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be in [0, {MAX_STEPS}], got {steps}")
    try:
        noise = float(noise)
    except (TypeError, ValueError):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}") from None
    if not (math.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    tolerance = default_tolerance(function) if tolerance is None else float(tolerance)
    if not (math.isfinite(tolerance) and tolerance >= 0):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")

    job = _Job(function, optimizer, _landscape(function, tolerance), starts, steps, noise, record)
    chunks = _chunks(len(starts))
    seeds = np.random.SeedSequence(seed).spawn(len(chunks)) if noise else [None] * len(chunks)
    if min(THREADS, len(chunks)) > 1:
        list(_pool(THREADS).map(job.run_chunk, chunks, seeds))  # list(): re-raises a worker's error
    else:
        for chunk, chunk_seed in zip(chunks, seeds):
            job.run_chunk(chunk, chunk_seed)
    return job.result()


# ---------------------------------------------------------------------------------------
# What the engine needs of the function
# ---------------------------------------------------------------------------------------
class _Landscape:
    """The function on (2, n) arrays of points, its listed minima and the two tolerances."""

    def __init__(self, function: TestFunction, tolerance: float):
        self.function = function
        # Call the coordinate-wise methods directly unless a subclass overrides the public ones.
        self.own_partials = type(function).gradient is TestFunction.gradient
        self.own_value = type(function).__call__ is TestFunction.__call__
        self.fused_gradient = fused_gradient(function) if self.own_partials else None
        self.fused_value = fused_value(function) if self.own_value else None
        minima = function.minima
        self.minima = np.array([m.point for m in minima], dtype=float).reshape(-1, 2)
        self.is_global = np.array([m.is_global for m in minima], dtype=bool)
        self.minima_x, self.minima_y = np.ascontiguousarray(self.minima[:, 0]), np.ascontiguousarray(self.minima[:, 1])
        self.squared_tolerance = tolerance * tolerance
        self.squared_gradient_tolerance = gradient_tolerance(function) ** 2

    def gradient(self, xy: np.ndarray) -> np.ndarray:
        """(2, n) gradient at (2, n) C-contiguous points, a new array."""
        if self.fused_gradient is not None:
            return self.fused_gradient(xy)
        if self.own_partials:
            dx, dy = self.function.partials(xy[0], xy[1])
            grad = np.empty_like(xy)
            grad[0] = dx
            grad[1] = dy
            return grad
        return np.array(self.function.gradient(xy.T).T, dtype=float, order="C")

    def value(self, xy: np.ndarray) -> np.ndarray:
        """f at (2, ...) points, shape (...)."""
        if self.fused_value is not None and xy.ndim == 2 and xy.flags.c_contiguous:
            return self.fused_value(xy)
        if self.own_value:
            value = self.function.value(xy[0], xy[1])
        else:
            value = self.function(np.moveaxis(xy, 0, -1))
        fresh = isinstance(value, np.ndarray) and value.base is None  # not a view of the points
        if fresh and value.shape == xy.shape[1:] and value.dtype == float:
            return value
        return np.array(np.broadcast_to(value, xy.shape[1:]), dtype=float)

    def excess_distances(self, xy: np.ndarray):
        """For each listed minimum, squared distance − squared tolerance of (2, ...) points:
        negative (sign bit set) strictly inside its ball, else outside."""
        for mx, my in self.minima:
            dx = xy[0] - mx
            dy = xy[1] - my
            yield dx * dx + (dy * dy - self.squared_tolerance)

    @staticmethod
    def squared_norm(grad: np.ndarray) -> np.ndarray:
        return grad[0] * grad[0] + grad[1] * grad[1]

    def excess_gradient(self, grad: np.ndarray) -> np.ndarray:
        """Squared gradient norm − squared stationary tolerance: negative (sign bit set) where
        the gradient is small."""
        return grad[0] * grad[0] + (grad[1] * grad[1] - self.squared_gradient_tolerance)

    def conclude(self, xy, grad, inside_from, flat_from):
        """Label and steps to converge from the final points (2, n), their gradients, and for
        each point the step from which it stayed inside each minimum's ball (K, n) and from
        which its gradient stayed small (n,).

        Label: index of the nearest listed minimum within tolerance, else −2 where the
        gradient is small (an unlisted stationary point), else −1. "Within" and "small" are
        the tracker's tests: the sign bit of the excess (strictly inside the ball, strictly
        below the tolerance). A point that left the active set as an exact fixed point is,
        at every later step, where it stopped: the values observed until then are final.
        """
        n = xy.shape[1]
        label, converged_since = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        x, y, gx, gy = (np.ascontiguousarray(row, dtype=float) for row in (*xy, *grad))
        conclude(x, y, gx, gy, self.minima_x, self.minima_y, self.squared_tolerance, self.squared_gradient_tolerance,
                 np.ascontiguousarray(inside_from, dtype=float).reshape(len(self.minima), n),
                 np.ascontiguousarray(flat_from, dtype=float), label, converged_since)
        return label, converged_since


def _landscape(function: TestFunction, tolerance: float) -> _Landscape:
    """Cached for the built-in functions (their minima are solved numerically on each access)."""
    if FUNCTION_CLASSES.get(getattr(function, "name", None)) is type(function):
        try:
            return _cached_landscape(function, tolerance)
        except TypeError:  # unhashable parameters
            pass
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
        self.function, self.optimizer, self.landscape = function, optimizer, landscape
        self.starts, self.steps, self.noise, self.record = starts, steps, noise, record
        self.needs_loss = bool(optimizer.needs_loss)
        self.stepper = steps_of(optimizer)  # from Python: its plan's kernel, or optimizer.step
        # All steps in one compiled call where the function and optimizer allow: the same bits.
        self.whole_run = whole_run(function, optimizer) if record else None
        self.tracked_run = tracked_run(function, optimizer) if not record and not noise else None
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
            # Exact fixed points may leave the active set only if later steps are the same.
            self.drop_settled = not noise and _time_invariant(optimizer)

    # -- one chunk ---------------------------------------------------------------------
    def run_chunk(self, chunk: tuple[int, int], seed) -> None:
        with np.errstate(all="ignore"):
            if self.record:
                self._record(*chunk, seed)
            else:
                self._track(*chunk, seed)

    def _step(self, xy, grad, loss, state, t, noise, columns=None):
        """One optimizer step on (2, n) points: the new points, gradient, loss and state.
        With noise, `noise` draws for the whole chunk and `columns` picks the active points'
        (None: all of them)."""
        if noise is not None:
            grad = noise.add_to(grad, columns)
        xy, state = self.stepper.step(xy, grad, state, t, loss)
        grad = self.landscape.gradient(xy)
        loss = self.landscape.value(xy) if self.needs_loss else None
        return xy, grad, loss, state

    def _start(self, lo, hi, seed):
        xy = np.ascontiguousarray(self.starts[lo:hi].T)
        noise = None if seed is None else _ChunkNoise(seed, hi - lo, self.noise)
        grad = self.landscape.gradient(xy)
        loss = self.landscape.value(xy) if self.needs_loss else None
        return xy, grad, loss, self.stepper.init(hi - lo), noise

    def _record(self, lo, hi, seed):
        """record=True: every step of every point, no bookkeeping (see `result`)."""
        if self.whole_run is not None:  # all steps in one compiled call: the same bits
            draws = None if seed is None else _ChunkNoise(seed, hi - lo, self.noise).draws(self.steps)
            points, gradients = self.whole_run(np.ascontiguousarray(self.starts[lo:hi].T), self.steps, draws,
                                               self.noise)
            self.points[:, lo:hi], self.gradients[:, lo:hi] = points.transpose(0, 2, 1), gradients.transpose(0, 2, 1)
            return
        xy, grad, loss, state, noise = self._start(lo, hi, seed)
        points, gradients = self.points[:, lo:hi], self.gradients[:, lo:hi]
        points[0], gradients[0] = xy.T, grad.T
        for t in range(1, self.steps + 1):
            xy, grad, loss, state = self._step(xy, grad, loss, state, t, noise)
            points[t], gradients[t] = xy.T, grad.T

    def _track(self, lo, hi, seed):
        """record=False: O(n) bookkeeping per step, and an active set that shrinks."""
        landscape = self.landscape
        if self.tracked_run is not None:
            final, final_gradient, since, self.diverged_at[lo:hi] = self.tracked_run(
                self.starts[lo:hi].T, self.steps, landscape.minima, landscape.squared_tolerance,
                landscape.squared_gradient_tolerance)
            self._conclude(lo, hi, final, final_gradient, since)
            return
        xy, grad, loss, state, noise = self._start(lo, hi, seed)
        n, steps = hi - lo, self.steps
        tracker = _Tracker(self.landscape, n)
        active = np.arange(n)  # chunk positions of the points still moving
        diverged_at = self.diverged_at[lo:hi]
        # What each point leaves behind when it stops.
        final, final_gradient = np.empty((2, n)), np.empty((2, n))
        since = tracker.since.copy()

        def stop(mask, xy, grad):
            where = active[mask]
            final[:, where], final_gradient[:, where] = xy[:, mask], grad[:, mask]
            since[:, where] = tracker.since[:, mask]

        tracker.observe(0, xy, grad)
        leaving = ~_finite(xy, grad, loss)  # a start whose gradient is not finite
        stop(leaving, xy, grad)
        diverged_at[active[leaving]] = 0
        for t in range(1, steps + 1):
            if leaving is not None and leaving.any():  # compact the active set
                keep = ~leaving
                active, xy, grad, state = active[keep], xy[:, keep], grad[:, keep], self.stepper.take(state, keep)
                loss = None if loss is None else loss[keep]
                tracker.keep(keep)
            leaving = None
            if not len(active):
                break
            new_xy, new_grad, new_loss, new_state = self._step(
                xy, grad, loss, state, t, noise, active if len(active) < n else None)
            if not (tracker.observe(t, new_xy, new_grad) and _all_finite(new_loss)):
                leaving = ~_finite(new_xy, new_grad, new_loss)
                stop(leaving, xy, grad)  # the last finite point
                diverged_at[active[leaving]] = t
            if self.drop_settled and t % SETTLE_CHECK_EVERY == 0:
                settled = (new_xy == xy).all(0) & self.stepper.unchanged(new_state, state)
                if leaving is not None:
                    settled &= ~leaving
                if settled.sum() >= COMPACT_SHARE * len(active):
                    stop(settled, new_xy, new_grad)
                    leaving = settled if leaving is None else leaving | settled
            xy, grad, loss, state = new_xy, new_grad, new_loss, new_state
        stop(np.ones(len(active), dtype=bool) if leaving is None else ~leaving, xy, grad)
        self._conclude(lo, hi, final, final_gradient, since)

    def _conclude(self, lo, hi, final, final_gradient, since):
        label, converged_since = self.landscape.conclude(final, final_gradient, since[:-1], since[-1])
        self.final[:, lo:hi], self.final_gradient[:, lo:hi] = final, final_gradient
        self.label[lo:hi], self.converged_since[lo:hi] = label, converged_since

    # -- the result ------------------------------------------------------------------------
    def result(self) -> RunResult:
        landscape = self.landscape
        with np.errstate(all="ignore"):
            if self.record:
                points, gradients = self.points, self.gradients
                xy = np.moveaxis(points, -1, 0)  # (2, T+1, N) views
                grad = np.moveaxis(gradients, -1, 0)
                losses = landscape.value(xy)
                bad = ~(np.isfinite(points).all(-1) & np.isfinite(gradients).all(-1))
                if self.needs_loss:
                    bad |= ~np.isfinite(losses)
                diverged_at = np.where(bad.any(0), np.argmax(bad, axis=0), -1)
                for i in np.flatnonzero(diverged_at >= 0):  # repeat the last finite point
                    first = max(int(diverged_at[i]), 1)
                    points[first:, i], gradients[first:, i] = points[first - 1, i], gradients[first - 1, i]
                    losses[first:, i] = losses[first - 1, i]
                gradient_norms = np.sqrt(landscape.squared_norm(grad))
                # The bookkeeping of record=False, from the trajectory.
                inside_from = np.array([_after_last(~np.signbit(excess))
                                        for excess in landscape.excess_distances(xy)]).reshape(-1, points.shape[1])
                flat_from = _after_last(~np.signbit(landscape.excess_gradient(grad)))
                final, final_gradient = xy[:, -1], grad[:, -1]
                label, converged_since = landscape.conclude(final, final_gradient, inside_from, flat_from)
                final_loss = losses[-1].copy()
            else:
                points = losses = gradient_norms = None
                final, final_gradient = self.final, self.final_gradient
                diverged_at, label, converged_since = self.diverged_at, self.label, self.converged_since
                final_loss = landscape.value(final)
            final_gradient_norm = np.sqrt(landscape.squared_norm(final_gradient))

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

    def draws(self, steps: int) -> np.ndarray:
        """(steps, 2, width): the next `steps` draws of add_to at once (the generator fills an
        array in order, so they are the same numbers; for whole recorded runs)."""
        return self.rng.standard_normal((steps, 2, self.width))


class _Tracker:
    """For each active point, the step from which on it has stayed strictly inside each listed
    minimum's tolerance ball, and from which its gradient has stayed strictly below the
    stationary tolerance: one more than the last step it was outside (steep), 0 if never.
    Rows 0..K−1 of `since` are the K minima, row K the gradient. Per step, in one fused loop
    (core.fused.track), with the formulas of `_Landscape.excess_distances` and
    `excess_gradient`:

        excess = (x − mx)² + ((y − my)² − tolerance²)      (negative: inside)
        since = max(since, copysign(t + 1, excess))
    """

    def __init__(self, landscape: _Landscape, n: int):
        self.landscape = landscape
        self.since = np.zeros((len(landscape.minima) + 1, n))

    def observe(self, t: int, xy: np.ndarray, grad: np.ndarray) -> bool:
        """Update with step t's points and gradients (2, n); return whether they are all finite."""
        landscape = self.landscape
        return track(xy[0], xy[1], grad[0], grad[1], landscape.minima_x, landscape.minima_y,
                     landscape.squared_tolerance, landscape.squared_gradient_tolerance, self.since, float(t + 1))

    def keep(self, keep: np.ndarray) -> None:
        self.since = self.since[:, keep]


@functools.lru_cache(maxsize=4)
def _pool(threads: int) -> ThreadPoolExecutor:
    """The engine's pool of `threads` threads, made on first use and kept (its tasks, chunks,
    only run numba and numpy loops: none waits for another run, so sharing cannot deadlock)."""
    return ThreadPoolExecutor(threads, thread_name_prefix="core.run")


def _chunks(n: int) -> list[tuple[int, int]]:
    """Bounds of nearly equal chunks of at most CHUNK starts, an even number of them when
    more than one (so that two threads share the work evenly). They depend on n and CHUNK
    only, not on the threads: so does a start's gradient noise."""
    count = -(-n // CHUNK)
    if count > 1:
        count += count % 2
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


def _all_finite(*arrays) -> bool:
    """One cheap reduction per array; False also when a sum merely overflows (then the exact
    per-point test decides)."""
    return all(a is None or math.isfinite(np.add.reduce(a, axis=None)) for a in arrays)


def _finite(xy, grad, loss) -> np.ndarray:
    finite = np.isfinite(xy).all(0) & np.isfinite(grad).all(0)
    return finite if loss is None else finite & np.isfinite(loss)


def _after_last(mask: np.ndarray) -> np.ndarray:
    """Along axis 0: one more than the last index where mask is True, 0 if never."""
    return np.where(mask.any(0), mask.shape[0] - np.argmax(mask[::-1], axis=0), 0)


def _time_invariant(optimizer: Optimizer) -> bool:
    """Whether `optimizer.step` gives bitwise the same result for every t from
    SETTLE_CHECK_EVERY on (probed once per optimizer, on random inputs, at t = 8, 9, 17, 100,
    1000, 65536 and MAX_STEPS + 1): then a point and state that one step (checked at t = 8,
    16, ...) leaves unchanged stay unchanged. SGD, momentum, RMSprop and the article's Adam
    are; bias-corrected Adam, NAdam, RAdam or Adagrad with lr_decay are not."""
    try:
        return _cached_time_invariant(optimizer)
    except TypeError:  # unhashable hyperparameters
        return _probe_time_invariance(optimizer)


@functools.lru_cache(maxsize=256)
def _cached_time_invariant(optimizer: Optimizer) -> bool:
    return _probe_time_invariance(optimizer)


def _probe_time_invariance(optimizer: Optimizer) -> bool:
    rng = np.random.default_rng(20180101)
    params = rng.normal(size=(8, 2))
    loss = rng.uniform(1.0, 2.0, size=8)
    try:
        with np.errstate(all="ignore"):
            state = optimizer.init(params)
            for t in range(1, SETTLE_CHECK_EVERY):
                params, state = optimizer.step(params, rng.normal(size=(8, 2)), state, t, loss=loss * t)
            grad = rng.normal(size=(8, 2))
            outputs = [optimizer.step(params, grad, state, t, loss=loss)
                       for t in (SETTLE_CHECK_EVERY, SETTLE_CHECK_EVERY + 1, 17, 100, 1000, 65536, MAX_STEPS + 1)]
    except Exception:  # noqa: BLE001 - any doubt means "not time-invariant"
        return False
    reference = [outputs[0][0], *outputs[0][1]]
    for params_t, state_t in outputs[1:]:
        arrays = [params_t, *state_t]
        if len(arrays) != len(reference) or not all(
                np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True) for a, b in zip(arrays, reference)):
            return False
    return True
