"""The run engine: one optimizer from many starts at once, with outcome analysis.

    result = run(function, optimizer, starts, steps)

moves every start (shape (2,) or (N, 2)) `steps` times. With `record=True` it keeps the whole
trajectory; with `record=False` it keeps O(N) memory (final points and losses, steps to
converge, outcome), which makes grids of a million starts practical. Both give the same
final points, losses and outcomes for the same inputs.

Each run gets an outcome:
  GLOBAL         ends within `tolerance` of a global minimum,
  LOCAL          ends within `tolerance` of another listed minimum, or where the gradient is
                 small and a local minimum (positive definite Hessian) lies within `tolerance`
                 (an unlisted minimum, e.g. one of Rastrigin's wells),
  NOT_CONVERGED  anything else where f is defined,
  UNDEFINED      ends, without diverging, at a point where f is not a real number (a typed
                 log(−x² − 1 − y²) has a finite gradient but no value anywhere),
  DIVERGED       its point or gradient (or, for an optimizer that needs it, its loss) became
                 non-finite: it is stopped at its last finite point, and `diverged_at` says at
                 which step that happened. Nothing raises and no RuntimeWarning leaks.

How it runs
-----------
A step is the function's gradient and the optimizer's update, each written once (its
`partials`, its `update` or `step`), on all the starts of a chunk at once:

* The gradient is numpy's: `function.partials` on (n,) rows of x and y (numpy's exp, sin and
  cos run in SIMD, ~10x faster than the C library's that compiled code would call).
* The update is numpy's too (`optimizer.step`) for a few starts, such as a click's runs. For
  grids (COMPILED_MIN_STARTS or more), an optimizer with an element-wise `update` has that
  very function compiled by numba into a loop over every coordinate of the chunk (`_advance_loop`),
  which LLVM vectorizes: ~5x faster than numpy's dozen passes over memory. It is compiled once
  per process and optimizer, in the background (`compiled_update`): until it is ready, numpy
  steps. The same function, the same formulas; the tests compare the two with tolerances.
* record=False: per step, one compiled pass (`_observe`) keeps for every point, per listed
  minimum, the step from which it has stayed inside the tolerance ball, and the step from
  which its gradient has stayed small, and tells whether everything is finite. Only when it is
  not are the diverged points found, frozen at their last finite point and dropped.
* record=True: the steps run without bookkeeping (a diverged point's NaNs harm no other
  point); divergence, outcomes and steps to converge are read off the trajectory at the end
  with the same formula (`_excess`).
* Chunks. Starts are cut into chunks of at most CHUNK points, each run through all its
  steps: a step's arrays then stay in the CPU's cache. One thread: with two, the threads'
  many short numpy calls contend for the GIL (measured: 1.5x slower).
"""

from __future__ import annotations

import functools
import math
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np
from numba import njit
from numba.extending import register_jitable

from .functions import TestFunction
from .optimizers import Optimizer
from .schedulers import Scheduler

GLOBAL, LOCAL, NOT_CONVERGED, DIVERGED, UNDEFINED = 0, 1, 2, 3, 4
OUTCOME_NAMES = ("global minimum", "other minimum", "not converged", "diverged", "undefined")

MAX_STEPS = 100_000
CHUNK = 10240  # points per chunk: small enough that a step's arrays stay in the CPU's cache
COMPILED_MIN_STARTS = 1024  # runs with fewer starts step with numpy (a click's runs among them)


@dataclass(frozen=True)
class RunResult:
    """What `run` returns. N is the number of starts, T the number of steps.

    points, losses, gradient_norms: (T+1, N, 2), (T+1, N), (T+1, N) when recorded, else None.
      After a divergence they repeat the last finite values.
    final, final_loss, final_gradient_norm: (N, 2), (N,), (N,): the last finite point, its
      loss and the norm of its gradient.
    diverged: (N,) bool; diverged_at: (N,) step at which the run went non-finite, −1 if never.
    outcome: (N,) one of GLOBAL, LOCAL, NOT_CONVERGED, DIVERGED, UNDEFINED.
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
        noise: float = 0.0, seed: int | None = None, tolerance: float | None = None,
        on_chunk: Callable[[float], None] | None = None, scheduler: Scheduler | None = None) -> RunResult:
    """Run `optimizer` on `function` from every start for `steps` steps.

    Any `TestFunction` and any `Optimizer` work, built-in or a user's subclass.
    noise: standard deviation of Gaussian noise added to every gradient the optimizer sees
      (seeded by `seed`, one generator per chunk of CHUNK starts), to imitate the stochastic
      gradients of SGD. The recorded gradients and the outcomes use the exact gradient.
    tolerance: distance for "reached a minimum"; default `default_tolerance(function)`.
    on_chunk: called with the share of starts done after each chunk of CHUNK starts (a page
      shows progress there, and its framework may stop the run by raising from it).
    scheduler: a learning-rate schedule (core.schedulers): step t uses the optimizer's
      hyperparameters as torch's scheduler sets them for its t-th step; the optimizer's state
      carries over from step to step, as in torch.
    """
    starts = _as_starts(starts)
    steps = int(steps)
    if not 0 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be in [0, {MAX_STEPS}], got {steps}")
    noise = _non_negative("noise", noise)
    tolerance = default_tolerance(function) if tolerance is None else _non_negative("tolerance", tolerance)

    optimizers = None if scheduler is None else scheduler.optimizers(optimizer, steps)
    job = _Job(function, optimizer, _landscape(function, tolerance), starts, steps, noise, record, optimizers)
    chunks = _chunks(len(starts))
    seeds = np.random.SeedSequence(seed).spawn(len(chunks)) if noise else [None] * len(chunks)
    for chunk, chunk_seed in zip(chunks, seeds):
        job.run_chunk(chunk, chunk_seed)
        if on_chunk is not None:
            on_chunk(chunk[1] / len(starts))
    return job.result()


# ---------------------------------------------------------------------------------------
# What the engine needs of the function
# ---------------------------------------------------------------------------------------
@register_jitable
def _excess(dx, dy, squared_tolerance):
    """Squared distance minus squared tolerance, of a difference (dx, dy): negative (sign bit
    set) strictly inside the tolerance ball. For numbers and arrays alike."""
    return dx * dx + (dy * dy - squared_tolerance)


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

    def since_of_path(self, xy: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """What `_observe` keeps, from a whole path: points and gradients (2, T+1, n) -> (K+1, n),
        for each listed minimum (then the gradient) one more than the last step at which the
        point was outside its ball (the gradient not small), 0 if never."""
        outside = [~np.signbit(_excess(xy[0] - mx, xy[1] - my, self.squared_tolerance)) for mx, my in self.minima]
        outside.append(~np.signbit(_excess(grad[0], grad[1], self.squared_gradient_tolerance)))
        return np.array([_after_last(mask) for mask in outside]).reshape(len(outside), -1)

    def conclude(self, since: np.ndarray, last_step: int, final: np.ndarray, final_gradient: np.ndarray):
        """Label and steps to converge of each run from `since` (K+1, n) after `last_step`.

        Label: the listed minimum whose ball the point is in at the end (the one it has been in
        longest, should balls overlap), else −2 where the gradient is small at the end and a
        local minimum is within the tolerance (an unlisted minimum, e.g. one of Rastrigin's
        wells), else −1."""
        n = since.shape[1]
        flat = since[-1] <= last_step
        if flat.any():
            flat[flat] = self.near_a_minimum(final[:, flat], final_gradient[:, flat])
        label = np.where(flat, -2, -1)
        converged_since = np.where(flat, since[-1], -1).astype(np.int64)
        if len(self.minima):
            longest = np.argmin(since[:-1], axis=0)
            earliest = since[longest, np.arange(n)]
            inside = earliest <= last_step
            label = np.where(inside, longest, label)
            converged_since = np.where(inside, earliest, converged_since).astype(np.int64)
        return label, converged_since


    def near_a_minimum(self, xy: np.ndarray, grad: np.ndarray) -> np.ndarray:
        """Whether a local minimum lies within the tolerance of each (2, m) point: f is defined
        there, its Hessian (`function.hessian`) is positive definite and Newton's step to the
        stationary point, H⁻¹∇f, is shorter than the tolerance. A small gradient alone is not
        enough: a run still crawling along Rosenbrock's valley has one too."""
        with np.errstate(all="ignore"):
            hessian = self.function.hessian(np.moveaxis(xy, 0, -1))
            hxx, hxy, hyy = hessian[..., 0, 0], hessian[..., 0, 1], hessian[..., 1, 1]
            det = hxx * hyy - hxy * hxy
            step_x = (hyy * grad[0] - hxy * grad[1]) / det
            step_y = (hxx * grad[1] - hxy * grad[0]) / det
            return ((hxx > 0) & (det > 0) & np.signbit(_excess(step_x, step_y, self.squared_tolerance))
                    & np.isfinite(self.value(xy)))  # where f is undefined (log of a negative), no minimum


def _landscape(function: TestFunction, tolerance: float) -> _Landscape:
    """Cached per (function, tolerance): a function's minima may be solved on each access."""
    try:
        return _cached_landscape(function, tolerance)
    except TypeError:  # unhashable parameters
        return _Landscape(function, tolerance)


@functools.lru_cache(maxsize=128)
def _cached_landscape(function: TestFunction, tolerance: float) -> _Landscape:
    return _Landscape(function, tolerance)


@njit(cache=True, error_model="numpy", nogil=True)
def _observe(xy, grad, minima, squared_tolerance, squared_gradient_tolerance, since, t1):
    """After a step, for (2, n) points and gradients: since[k] = max(since[k], copysign(t1,
    excess)) for each listed minimum k (row K: the gradient), t1 = step + 1; so since holds one
    more than the last step at which the point was outside, 0 if never. Returns whether every
    point and gradient is finite."""
    n, k_minima = xy.shape[1], minima.shape[0]
    for k in range(k_minima):
        for i in range(n):
            excess = _excess(xy[0, i] - minima[k, 0], xy[1, i] - minima[k, 1], squared_tolerance)
            since[k, i] = max(since[k, i], math.copysign(t1, excess))
    finite = True
    for i in range(n):
        excess = _excess(grad[0, i], grad[1, i], squared_gradient_tolerance)
        since[k_minima, i] = max(since[k_minima, i], math.copysign(t1, excess))
        finite &= math.isfinite(xy[0, i] + xy[1, i] + grad[0, i] + grad[1, i])
    return finite


# ---------------------------------------------------------------------------------------
# What the engine needs of the optimizer: its update, by numpy or compiled
# ---------------------------------------------------------------------------------------
class _NumpySteps:
    """The optimizer's own `step`, on the engine's (2, n) arrays (as (n, 2) views); step t by
    optimizers[t − 1], the state made by the first."""

    def __init__(self, optimizers, xy: np.ndarray, function):
        self.optimizers, self.state = optimizers, optimizers[0].init(xy.T)
        self.extra = {"function": function} if optimizers[0].needs_function else {}

    def step(self, xy, grad, t, loss):
        params, self.state = self.optimizers[t - 1].step(xy.T, grad.T, self.state, t, loss=loss, **self.extra)
        return np.ascontiguousarray(np.asarray(params, dtype=float).T)

    def keep(self, mask):
        self.state = type(self.state)(*(np.asarray(a)[mask] for a in self.state))


class _CompiledSteps:
    """The optimizer's `update`, compiled: state as (2, n) arrays that the loop updates in place;
    step t with the coefficients of optimizers[t − 1]."""

    def __init__(self, advance, optimizers, xy: np.ndarray):
        self.advance, self.optimizers = advance, optimizers
        self.states = [np.ascontiguousarray(np.asarray(a, dtype=float).T) for a in optimizers[0].init(xy.T)]

    def step(self, xy, grad, t, loss):
        new_xy = np.empty(xy.shape)  # C-contiguous, as every array the loop sees flat
        self.advance(np.ascontiguousarray(xy), np.ascontiguousarray(grad), new_xy, self.states,
                     _numbers(self.optimizers[t - 1].coefficients(t)))
        return new_xy

    def keep(self, mask):
        # a[:, mask] may come out column-major: its flat copy would take the loop's writes.
        self.states = [np.ascontiguousarray(a[:, mask]) for a in self.states]


def _numbers(coefficients) -> tuple:
    """Coefficients as Python bools and floats, so that every step calls the same compiled loop."""
    return tuple(bool(c) if isinstance(c, (bool, np.bool_)) else float(c) for c in coefficients)


def _advance_loop(update, state_count: int):
    """A numba loop applying the compiled `update` to every coordinate of C-contiguous (2, n)
    arrays: `loop(x, g, out, *states, c)`, `out` and the states written in place."""
    if state_count == 0:
        def loop(x, g, out, c):
            x, g, out = x.reshape(-1), g.reshape(-1), out.reshape(-1)
            for i in range(x.size):
                out[i] = update(x[i], g[i], *c)
    elif state_count == 1:
        def loop(x, g, out, s0, c):
            x, g, out, s0 = x.reshape(-1), g.reshape(-1), out.reshape(-1), s0.reshape(-1)
            for i in range(x.size):
                out[i], s0[i] = update(x[i], g[i], s0[i], *c)
    elif state_count == 2:
        def loop(x, g, out, s0, s1, c):
            x, g, out, s0, s1 = x.reshape(-1), g.reshape(-1), out.reshape(-1), s0.reshape(-1), s1.reshape(-1)
            for i in range(x.size):
                out[i], s0[i], s1[i] = update(x[i], g[i], s0[i], s1[i], *c)
    else:
        def loop(x, g, out, s0, s1, s2, c):
            x, g, out = x.reshape(-1), g.reshape(-1), out.reshape(-1)
            s0, s1, s2 = s0.reshape(-1), s1.reshape(-1), s2.reshape(-1)
            for i in range(x.size):
                out[i], s0[i], s1[i], s2[i] = update(x[i], g[i], s0[i], s1[i], s2[i], *c)
    return njit(error_model="numpy", nogil=True)(loop)


MAX_COMPILED_STATES = 3
_compiled: dict = {}  # (update, coefficient types) -> advance(xy, grad, out, states, c), or None if it failed
_compiling: set = set()
_compiling_lock = threading.Lock()  # guards _compiling
_compile_lock = threading.Lock()  # one compilation at a time


def compiled_update(optimizer, wait: bool = False):
    """The optimizer's `update` compiled into a loop, `advance(xy, grad, out, states,
    coefficients)` on C-contiguous (2, n) arrays (`out` and the states written in place), if
    it is ready; else None, after starting its compilation in a background
    thread (or compiling it now with `wait=True`). None also for an optimizer without an
    element-wise update (one that overrides `step`, or has more than three state arrays), or
    whose update numba cannot compile (it then always steps with numpy)."""
    if not (isinstance(optimizer, Optimizer) and type(optimizer).step is Optimizer.step
            and len(optimizer.state) <= MAX_COMPILED_STATES):
        return None
    try:
        key = (type(optimizer).update, tuple(type(c) for c in _numbers(optimizer.coefficients(1))))
    except (TypeError, ValueError):  # coefficients that are not plain numbers: numpy steps
        return None
    if key in _compiled:
        return _compiled[key]
    with _compiling_lock:
        starting = key not in _compiling
        _compiling.add(key)
    if wait:
        _compile(key, optimizer)
    elif starting:
        threading.Thread(target=_compile, args=(key, optimizer), name="core-compile", daemon=True).start()
    return _compiled.get(key)


def _compile(key, optimizer) -> None:
    with _compile_lock:  # one compilation of a key at a time; the second caller finds it done
        if key in _compiled:
            return
        try:
            update = njit(error_model="numpy", nogil=True)(type(optimizer).update)
            loop = _advance_loop(update, len(optimizer.state))
            example = (*(np.ones((2, 1)) for _ in range(3 + len(optimizer.state))), _numbers(optimizer.coefficients(1)))
            with np.errstate(all="ignore"):
                loop(*example)
            # The compiled loop itself: calling it skips the dispatcher's typing of every argument.
            compiled = loop.overloads[tuple(loop.typeof_pyval(a) for a in example)].entry_point

            def advance(xy, grad, out, states, c):
                compiled(xy, grad, out, *states, c)

        except Exception:  # noqa: BLE001 - numba could not compile it: numpy steps instead
            advance = None
        _compiled[key] = advance


# ---------------------------------------------------------------------------------------
# The run itself
# ---------------------------------------------------------------------------------------
class _Job:
    """One call of `run`: its inputs, its outputs, and the loop that moves a chunk of starts."""

    def __init__(self, function, optimizer, landscape, starts, steps, noise, record, optimizers=None):
        # Step t's optimizer is optimizers[t − 1] (a scheduler's: one class, other hyperparameters).
        self.optimizers, self.landscape = optimizers or [optimizer] * max(steps, 1), landscape
        self.starts, self.steps, self.noise, self.record = starts, steps, noise, record
        self.needs_loss = bool(optimizer.needs_loss)
        n = len(starts)
        self.advance = compiled_update(optimizer) if n >= COMPILED_MIN_STARTS and steps else None
        if record:
            self.points = np.empty((steps + 1, n, 2))
            self.gradients = np.empty((steps + 1, n, 2))
        else:
            self.final = np.empty((2, n))
            self.final_gradient = np.empty((2, n))
            self.diverged_at = np.full(n, -1)
            self.since = np.empty((len(landscape.minima) + 1, n))

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
        if self.advance is not None:
            steps = _CompiledSteps(self.advance, self.optimizers, xy)
        else:
            steps = _NumpySteps(self.optimizers, xy, self.landscape.function)
        return xy, grad, loss, steps, noise

    def _step(self, xy, grad, loss, steps, t, noise, columns=None):
        """One optimizer step on (2, n) points: the new points, gradient and loss.
        With noise, `noise` draws for the whole chunk and `columns` picks the active points'
        (None: all of them)."""
        if noise is not None:
            grad = noise.add_to(grad, columns)
        xy = steps.step(xy, grad, t, loss)
        grad = self.landscape.gradient(xy)
        loss = self.landscape.value(xy) if self.needs_loss else None
        return xy, grad, loss

    def _record(self, lo, hi, seed):
        """record=True: every step of every point, no bookkeeping (see `result`)."""
        xy, grad, loss, steps, noise = self._start(lo, hi, seed)
        points, gradients = self.points[:, lo:hi], self.gradients[:, lo:hi]
        points[0], gradients[0] = xy.T, grad.T
        for t in range(1, self.steps + 1):
            xy, grad, loss = self._step(xy, grad, loss, steps, t, noise)
            points[t], gradients[t] = xy.T, grad.T

    def _track(self, lo, hi, seed):
        """record=False: one compiled pass of bookkeeping per step; diverged points leave."""
        xy, grad, loss, steps, noise = self._start(lo, hi, seed)
        n, landscape = hi - lo, self.landscape
        active = np.arange(n)  # chunk positions of the points still moving
        diverged_at = self.diverged_at[lo:hi]
        final, final_gradient = self.final[:, lo:hi], self.final_gradient[:, lo:hi]  # where points stop
        since, chunk_since = np.zeros((len(landscape.minima) + 1, n)), self.since[:, lo:hi]

        def observe(t, xy, grad, loss) -> bool:
            finite = _observe(xy, grad, landscape.minima, landscape.squared_tolerance,
                              landscape.squared_gradient_tolerance, since, t + 1.0)
            return finite and _all_finite(loss)

        def stop(mask, xy, grad):
            where = slice(None) if mask.all() and len(active) == n else active[mask]
            final[:, where], final_gradient[:, where] = xy[:, mask], grad[:, mask]
            chunk_since[:, where] = since[:, mask]

        leaving = None if observe(0, xy, grad, loss) else ~_finite(xy, grad, loss)
        if leaving is not None:  # a start whose gradient is not finite
            stop(leaving, xy, grad)
            diverged_at[active[leaving]] = 0
        for t in range(1, self.steps + 1):
            if leaving is not None:  # drop the diverged points
                keep = ~leaving
                active = active[keep]
                xy, grad, since = (np.ascontiguousarray(a[:, keep]) for a in (xy, grad, since))
                loss = None if loss is None else loss[keep]
                steps.keep(keep)
                leaving = None
            if not len(active):
                break
            new_xy, new_grad, new_loss = self._step(xy, grad, loss, steps, t, noise,
                                                    active if len(active) < n else None)
            if not observe(t, new_xy, new_grad, new_loss):
                leaving = ~_finite(new_xy, new_grad, new_loss)
                stop(leaving, xy, grad)  # the last finite point; `since` is that of step t: only
                diverged_at[active[leaving]] = t  # the outcome DIVERGED is read from it
            xy, grad, loss = new_xy, new_grad, new_loss
        stop(np.ones(len(active), dtype=bool) if leaving is None else ~leaving, xy, grad)

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
                since = landscape.since_of_path(xy, grad)
                final, final_gradient = xy[:, -1], grad[:, -1]
                final_loss = losses[-1].copy()
            else:
                points = losses = gradient_norms = None
                final, final_gradient = self.final, self.final_gradient
                diverged_at, since = self.diverged_at, self.since
                final_loss = landscape.value(final)
            final_gradient_norm = _norm(final_gradient)
        label, converged_since = landscape.conclude(since, self.steps, final, final_gradient)

        diverged = diverged_at >= 0
        listed = (label >= 0) & ~diverged
        outcome = np.full(len(label), NOT_CONVERGED)
        outcome[label == -2] = LOCAL
        outcome[listed] = np.where(landscape.is_global[label[listed]], GLOBAL, LOCAL)
        outcome[diverged] = DIVERGED
        outcome[~diverged & ~np.isfinite(final_loss)] = UNDEFINED
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
