"""One compiled pass per (function, optimizer) pair: a tracked run's step in a single loop.

A tracked run (record=False, `fused._tracked_run`) takes each step in stages, each a loop
over the block's arrays: the optimizer's kernel, the first part of the function's gradient,
numpy's ufunc (exp, sin, ...), the gradient's last part, the tracker. Here one loop per pair
does, point by point,

    the gradient's last part at p_t -> the tracker and the finite check of (p_t, g_t) ->
    the optimizer's step to p_{t+1} -> the first part of p_{t+1}'s gradient,

and only numpy's ufunc loop runs between two passes. Everything a point needs stays in
registers, and the block's rows are read and written once a step instead of ~5 times:
1.3-1.6x faster on the two-gaussian bowl (benchmarks/bench_core.py). The formulas are the
same elements (`fused_gradients.inline`) as the staged loops', so the same IEEE operations
in the same order: the same bits (tests/test_fused_pairs.py compares the two).

The price is compile time: numba compiles a pass for each pair (with its number of listed
minima and its hyperparameters that are 0 or 1 as constants) in 4-9 s; its disk cache then
keeps it (loading takes ~20 ms). That is longer than the app's grids take, so
`tracked_run` takes a pass only once it is compiled on the machine (`warm`, which leaves a
marker that other processes find) and only for chunks of at least PAIR_MIN_POINTS starts;
otherwise the staged loops run, and nobody waits for a compiler. Pairs: every built-in
function but Ackley (two rounds of ufuncs) with every optimizer but Eve (it steps on the
loss) and YellowFin (its tuner's ufuncs); the others keep the staged loops.

A block is one flat array of rows (`_at`), so that LLVM vectorizes the pass (with separate
arrays it gives up on the alias checks): rows X, Y (p_t, then p_{t+1}), the last finite
point and its gradient, a finite flag, the function's ufunc rows, the optimizer's state
planes (plane k, coordinate c in row s0 + 2k + c, as `fused._initial_state`) and the
tracker's rows.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import warnings
from pathlib import Path

import numba
import numpy as np
from numba import errors, types
from numba.extending import overload

from . import fused
from . import fused_gradients as fg
from .fused import (ADABELIEF, ADADELTA, ADAGRAD, ADAM, ADAMAX, BLOCK, HEAVY_BALL, LION, NADAM, RADAM, RMSPROP,
                    SGD, _adabelief_at, _adadelta_at, _adagrad_at, _adam_at, _adamax_at, _all_finite,
                    _heavy_ball_at, _lion_at, _nadam_at, _radam_at, _rmsprop_at, _sgd_at, later_mark,
                    squares_tiny)
from .fused_gradients import (BEALE, FRAME_WORDS, LEVI13, MCCORMICK, RASTRIGIN, STYBLINSKI_TANG,
                              TWO_GAUSSIANS, arithmetic_gradient_at, inline, jit)
from .numpy_loops import COS, EXP, POWER, SIN, apply, apply_binary

PAIR_MIN_POINTS = 4096  # chunks at least this big run through a per-pair pass (see the docstring)

_PAIR_FUNCTIONS = fg._ARITHMETIC + (() if fg.LOOPS is None else (
    fg.fn.TwoGaussians, fg.fn.Rastrigin, fg.fn.Levi13, fg.fn.McCormick, fg.fn.Beale, fg.fn.StyblinskiTang))
_PAIR_OPTIMIZERS = (SGD, HEAVY_BALL, RMSPROP, ADAM, NADAM, RADAM, ADAMAX, ADAGRAD, ADADELTA, LION, ADABELIEF)

# The block's rows; the function's ufunc rows from UFUNC on, then the state, then the tracker.
X, Y, LAST_X, LAST_Y, LAST_GX, LAST_GY, FINITE, UFUNC = range(8)


_ROW = BLOCK + 8  # a block's row length: one cache line more than its points (see `_at`)


@inline
def _at(row, i):
    """Where column i of a row is in a block: a flat array of rows of _ROW numbers each, so
    that rows lie a constant distance apart (LLVM then needs no alias checks to vectorize),
    and not a multiple of 4 KiB (rows that far apart share the L1 cache's sets: a pass over
    more rows than its 12 ways evicts its own lines)."""
    return row * _ROW + i


_PARAMETERS = 8  # function parameters and hyperparameters are passed zero-padded to this length


def _by_kind(stub, table: dict, default=None) -> None:
    """Make `stub(kind, ...)` call table[kind](...) in compiled code, chosen when numba
    compiles the call: `kind` must be a constant there (the pass's are), so that only that
    kind's formulas are compiled into the loop, inlined. (The typing function and the call
    are written out with the stub's own parameters: numba cannot inline through *args.)"""
    names = ", ".join(list(inspect.signature(stub).parameters)[1:])
    namespace = {}
    exec(f"def choose(kind, {names}):\n    return pick(kind)\n"
         f"def call(chosen):\n    return lambda kind, {names}: chosen({names})", namespace)

    def pick(kind):
        if not isinstance(kind, types.IntegerLiteral):
            raise errors.TypingError(f"{stub.__name__}: the kind must be a compile-time constant")
        return namespace["call"](table.get(kind.literal_value, default))

    namespace["pick"] = pick
    overload(stub, inline="always")(namespace["choose"])


@jit
def _ufunc_rows(kind):
    """How many rows of ufunc results the gradient of function `kind` needs."""
    if kind == LEVI13:
        return 5
    if kind == TWO_GAUSSIANS or kind == RASTRIGIN or kind == STYBLINSKI_TANG:
        return 2
    if kind == MCCORMICK or kind == BEALE:
        return 1
    return 0


# Per kind, what the pass does for point i; `_by_kind` picks one at compile time.
@inline
def _bowl_arguments(q, x, y, b, i):
    b[_at(UFUNC, i)], b[_at(UFUNC + 1, i)] = fg._two_gaussian_exponents_at(x, y, q[0], q[1], q[6])


@inline
def _rastrigin_arguments(q, x, y, b, i):
    b[_at(UFUNC, i)], b[_at(UFUNC + 1, i)] = q[0] * x, q[0] * y


@inline
def _levi13_arguments(q, x, y, b, i):
    (b[_at(UFUNC, i)], b[_at(UFUNC + 1, i)], b[_at(UFUNC + 2, i)], b[_at(UFUNC + 3, i)],
     b[_at(UFUNC + 4, i)]) = fg._levi13_sine_arguments_at(x, y)


@inline
def _mccormick_arguments(q, x, y, b, i):
    b[_at(UFUNC, i)] = x + y


@inline
def _no_arguments(q, x, y, b, i):
    """Beale's and Styblinski–Tang's power reads the X, Y rows; arithmetic functions need none."""


def _ufunc_arguments_at(kind, q, x, y, b, i):
    """Into the ufunc rows of point i: what numpy's ufunc takes for the gradient at (x, y), as
    `fused_gradients.compiled_gradient` computes it."""


_by_kind(_ufunc_arguments_at, {TWO_GAUSSIANS: _bowl_arguments, RASTRIGIN: _rastrigin_arguments,
                               LEVI13: _levi13_arguments, MCCORMICK: _mccormick_arguments}, _no_arguments)


@inline
def _bowl_gradient(q, x, y, b, i):
    return fg._two_gaussian_gradient_at(x, y, b[_at(UFUNC, i)], b[_at(UFUNC + 1, i)], q[2], q[3])


@inline
def _rastrigin_gradient(q, x, y, b, i):
    return fg._rastrigin_gradient_at(x, y, q[1], b[_at(UFUNC, i)], b[_at(UFUNC + 1, i)])


@inline
def _levi13_gradient(q, x, y, b, i):
    return fg._levi13_gradient_at(x, y, b[_at(UFUNC, i)], b[_at(UFUNC + 1, i)], b[_at(UFUNC + 2, i)],
                                  b[_at(UFUNC + 3, i)], b[_at(UFUNC + 4, i)])


@inline
def _mccormick_gradient(q, x, y, b, i):
    return fg._mccormick_gradient_at(x, y, b[_at(UFUNC, i)])


@inline
def _beale_gradient(q, x, y, b, i):
    return fg._beale_gradient_at(x, y, b[_at(UFUNC, i)])


@inline
def _styblinski_tang_gradient(q, x, y, b, i):
    return fg._styblinski_tang_gradient_at(x, y, b[_at(UFUNC, i)], b[_at(UFUNC + 1, i)])


def _arithmetic_gradient(kind):
    @inline
    def gradient(q, x, y, b, i):
        return arithmetic_gradient_at(kind, q, x, y)
    return gradient


def _gradient_at(kind, q, x, y, b, i):
    """The gradient at (x, y) from point i's ufunc results."""


_by_kind(_gradient_at, {TWO_GAUSSIANS: _bowl_gradient, RASTRIGIN: _rastrigin_gradient, LEVI13: _levi13_gradient,
                        MCCORMICK: _mccormick_gradient, BEALE: _beale_gradient,
                        STYBLINSKI_TANG: _styblinski_tang_gradient,
                        **{kind: _arithmetic_gradient(kind) for kind in range(len(fg._ARITHMETIC))}})


# One coordinate's step of each optimizer (hyperparameters h, step coefficients c as
# `fused._advance` takes them): the new coordinate; its state planes, rows r, r + 2, r + 4,
# updated in place. product: NAdam's new μ product of the point.
@inline
def _sgd_step(h, c, p, g, b, r, product, i):
    return _sgd_at(p, g, h[0], h[1])


@inline
def _heavy_ball_step(h, c, p, g, b, r, product, i):
    velocity = _at(r, i)
    p, b[velocity] = _heavy_ball_at(p, g, b[velocity], c[0] != 0, h[0], h[1], h[2], h[3], h[4] != 0)
    return p


@inline
def _rmsprop_step(h, c, p, g, b, r, product, i):
    v, gbar, buffer = _at(r, i), _at(r + 2, i), _at(r + 4, i)
    centered, momentum = h[5] != 0, h[4] > 0  # (constants when off: the planes are not touched)
    p, b[v], new_gbar, new_buffer = _rmsprop_at(p, g, b[v], b[gbar] if centered else 0.0,
                                                b[buffer] if momentum else 0.0, h[0], h[1], h[2], h[3], h[4], centered)
    if centered:
        b[gbar] = new_gbar
    if momentum:
        b[buffer] = new_buffer
    return p


@inline
def _adam_step(h, c, p, g, b, r, product, i):
    m, v, v_max = _at(r, i), _at(r + 2, i), _at(r + 4, i)
    amsgrad = h[6] != 0  # (a constant when off: the plane is not touched)
    p, b[m], b[v], new_v_max = _adam_at(p, g, b[m], b[v], b[v_max] if amsgrad else 0.0, h[0], h[1], h[2], h[3], h[4],
                                        h[5] != 0, amsgrad, h[7] != 0, c[0], c[1])
    if amsgrad:
        b[v_max] = new_v_max
    return p


@inline
def _nadam_step(h, c, p, g, b, r, product, i):
    m, v = _at(r, i), _at(r + 2, i)
    p, b[m], b[v] = _nadam_at(p, g, b[m], b[v], product, h[0], h[1], h[2], h[3], h[4], h[5] != 0, c[0], c[1], c[2])
    return p


@inline
def _radam_step(h, c, p, g, b, r, product, i):
    m, v = _at(r, i), _at(r + 2, i)
    p, b[m], b[v] = _radam_at(p, g, b[m], b[v], h[0], h[1], h[2], h[3], h[4], h[5] != 0, c[0], c[1], c[2] != 0, c[3])
    return p


@inline
def _adamax_step(h, c, p, g, b, r, product, i):
    m, u = _at(r, i), _at(r + 2, i)
    p, b[m], b[u] = _adamax_at(p, g, b[m], b[u], h[0], h[1], h[2], h[3], h[4], c[0])
    return p


@inline
def _adagrad_step(h, c, p, g, b, r, product, i):
    total = _at(r, i)
    p, b[total] = _adagrad_at(p, g, b[total], h[0], h[1], h[2], c[0])
    return p


@inline
def _adadelta_step(h, c, p, g, b, r, product, i):
    v, u = _at(r, i), _at(r + 2, i)
    p, b[v], b[u] = _adadelta_at(p, g, b[v], b[u], h[0], h[1], h[2], h[3])
    return p


@inline
def _lion_step(h, c, p, g, b, r, product, i):
    m = _at(r, i)
    p, b[m] = _lion_at(p, g, b[m], h[0], h[1], h[2], h[3])
    return p


@inline
def _adabelief_step(h, c, p, g, b, r, product, i):
    m, s = _at(r, i), _at(r + 2, i)
    p, b[m], b[s] = _adabelief_at(p, g, b[m], b[s], h[0], h[1], h[2], h[3], c[0], c[1])
    return p


def _coordinate_step(kind, h, c, p, g, b, r, product, i):
    """One coordinate's step of optimizer `kind`."""


_by_kind(_coordinate_step, {SGD: _sgd_step, HEAVY_BALL: _heavy_ball_step, RMSPROP: _rmsprop_step, ADAM: _adam_step,
                            NADAM: _nadam_step, RADAM: _radam_step, ADAMAX: _adamax_step, ADAGRAD: _adagrad_step,
                            ADADELTA: _adadelta_step, LION: _lion_step, ADABELIEF: _adabelief_step})


@inline
def _eight(a):
    return a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]


@inline
def _given(value, constant):
    """constant, unless it is NaN (then value)."""
    return value if constant != constant else constant


@inline
def _with_constants(h, c):
    """h's eight hyperparameters, those with a constant in c (not NaN) replaced by it."""
    return (_given(h[0], c[0]), _given(h[1], c[1]), _given(h[2], c[2]), _given(h[3], c[3]), _given(h[4], c[4]),
            _given(h[5], c[5]), _given(h[6], c[6]), _given(h[7], c[7]))


@jit
def _new_block(xy, initial, s0, rows):
    """A block (rows x _ROW) for the starts xy (2, m <= BLOCK): the points, every point's
    initial state (S, 2), zero tracker rows (the ufunc rows still to fill)."""
    m = xy.shape[1]
    b = np.zeros(rows * _ROW)
    b[_at(X, 0) : _at(X, m)], b[_at(Y, 0) : _at(Y, m)] = xy[0], xy[1]
    for k in range(initial.shape[0]):
        for c in range(2):
            row = s0 + 2 * k + c
            b[_at(row, 0) : _at(row, m)] = initial[k, c]
    return b


@jit
def _apply_ufuncs(kind, b, m, loops, frame, three):
    """numpy's ufunc on the first m columns of the ufunc rows, in place (Beale,
    Styblinski–Tang: the cubes of the Y or X and Y rows into them, as numpy's `y ** 3`)."""
    for k in range(_ufunc_rows(kind)):
        row = b[_at(UFUNC + k, 0) : _at(UFUNC + k, m)]
        if kind == TWO_GAUSSIANS:
            apply(loops, EXP, frame, row)
        elif kind == RASTRIGIN or kind == LEVI13:
            apply(loops, SIN, frame, row)
        elif kind == MCCORMICK:
            apply(loops, COS, frame, row)
        else:  # Beale's y³; Styblinski–Tang's x³ and y³
            base = Y if kind == BEALE else X + k
            apply_binary(loops, POWER, frame, b[_at(base, 0) : _at(base, m)], three, 0, row)


@jit
def _store(b, t0, index, which, final, final_gradient, since_out):
    """Columns `which` of the block: their last finite points, gradients and tracker rows into
    the run's columns `index`."""
    for i in range(which.size):
        if which[i]:
            j = index[i]
            final[0, j], final[1, j] = b[_at(LAST_X, i)], b[_at(LAST_Y, i)]
            final_gradient[0, j], final_gradient[1, j] = b[_at(LAST_GX, i)], b[_at(LAST_GY, i)]
            for k in range(since_out.shape[0]):
                since_out[k, j] = b[_at(t0 + k, i)]


@jit
def _stop_diverged(b, m, t0, index, t, final, final_gradient, since_out, diverged_at):
    """Step t took some of the first m runs out of the finite numbers: store them, move the
    others to the front (every row, and their run indices) and return how many they are."""
    finite = b[_at(FINITE, 0) : _at(FINITE, m)] != 0
    _store(b, t0, index, ~finite, final, final_gradient, since_out)
    kept = 0
    for i in range(m):
        if finite[i]:
            for row in range(b.size // _ROW):
                b[_at(row, kept)] = b[_at(row, i)]
            index[kept] = index[i]
            kept += 1
        else:
            diverged_at[index[i]] = t
    return kept


def _make_run(function_kind: int, optimizer_kind: int, planes: int, minima: int, constants: tuple):
    """The tracked run of one pair, with the optimizer's number of state planes, the
    function's listed minima and the hyperparameters that are 0 or 1 (`constants`, the others
    None) as constants of the compiled code. So numba compiles only the pair's formulas, LLVM
    unrolls the minima, knows every row's place (which it needs to vectorize) and drops what a
    zero weight decay, a flag that is off, ... would compute (folding only what IEEE
    arithmetic allows: the same bits)."""
    constants = tuple(np.nan if value is None else value for value in constants)
    version = _CODE_VERSION  # a constant of the compiled code: part of numba's cache key
    s0 = UFUNC + _ufunc_rows(function_kind)
    t0 = s0 + 2 * planes

    @jit
    def run(fp, h, coefficients, initial, xy, mx, my, squared_tolerance, squared_gradient_tolerance, loops,
            final, final_gradient, since_out, diverged_at):
        """`fused._tracked_run` of this pair, with the same arguments and results."""
        assert version  # (see `_code_version`)
        q, hq = _eight(fp), _with_constants(h, constants)
        tiny, gradient_tiny = squares_tiny(squared_tolerance), squares_tiny(squared_gradient_tolerance)

        # The pass: an inner function, which numba inlines (a dispatcher in the closure would
        # make numba's disk cache miss: it keys on the closure's contents).
        def step_all(b, m, c, t1, first):
            """Step t of the block's first m points (t1 = t + 1, as `fused.track` marks it;
            first: t = 0): g_t at p_t, the tracker, the last finite point, then p_{t+1} and the
            ufunc arguments of its gradient. Returns whether every (p_t, g_t) was finite; the
            FINITE row says which."""
            cq = (c[0], c[1], c[2], c[3])
            not_finite = False
            for i in range(min(m, BLOCK)):  # i < BLOCK: LLVM sees that rows cannot overlap
                x, y = b[_at(X, i)], b[_at(Y, i)]
                gx, gy = _gradient_at(function_kind, q, x, y, b, i)
                for k in range(minima):
                    since = _at(t0 + k, i)
                    b[since] = later_mark(b[since], x - mx[k], y - my[k], squared_tolerance, t1, tiny)
                since = _at(t0 + minima, i)
                b[since] = later_mark(b[since], gx, gy, squared_gradient_tolerance, t1, gradient_tiny)
                finite = _all_finite(x, y, gx, gy)
                not_finite |= not finite
                keep = finite | first  # a start is its own last point, finite or not
                for row, value in ((LAST_X, x), (LAST_Y, y), (LAST_GX, gx), (LAST_GY, gy)):
                    b[_at(row, i)] = value if keep else b[_at(row, i)]
                b[_at(FINITE, i)] = 1.0 if finite else 0.0
                product = 0.0
                if optimizer_kind == NADAM:  # the point's μ product, which both coordinates use
                    product = b[_at(s0 + 4, i)] * cq[0]
                    b[_at(s0 + 4, i)] = product
                x = _coordinate_step(optimizer_kind, hq, cq, x, gx, b, s0, product, i)
                y = _coordinate_step(optimizer_kind, hq, cq, y, gy, b, s0 + 1, product, i)
                b[_at(X, i)], b[_at(Y, i)] = x, y
                _ufunc_arguments_at(function_kind, q, x, y, b, i)
            return not not_finite

        n, steps = xy.shape[1], coefficients.shape[0] - 1
        frame, three = np.empty(FRAME_WORDS, dtype=np.uint64), np.full(1, 3.0)
        for lo in range(0, n, BLOCK):
            m = min(BLOCK, n - lo)
            b = _new_block(xy[:, lo : lo + m], initial, s0, t0 + minima + 1)
            for i in range(m):
                _ufunc_arguments_at(function_kind, q, b[_at(X, i)], b[_at(Y, i)], b, i)
            index = np.arange(lo, lo + m)
            for t in range(steps + 1):
                _apply_ufuncs(function_kind, b, m, loops, frame, three)
                # the step after t (the pass at t = steps moves the points once more, unused)
                if not step_all(b, m, coefficients[min(t + 1, steps)], float(t + 1), t == 0):
                    m = _stop_diverged(b, m, t0, index, t, final, final_gradient, since_out, diverged_at)
                    if m == 0:
                        break
            _store(b, t0, index, np.ones(m, dtype=np.bool_), final, final_gradient, since_out)

    return run


@functools.lru_cache(maxsize=256)
def _run_of(function_kind: int, optimizer_kind: int, planes: int, minima: int, constants: tuple):
    """The run of a pair (constants: per hyperparameter 0.0, 1.0 or None), compiled on first call."""
    return _make_run(function_kind, optimizer_kind, planes, minima, constants)


def _padded(values) -> np.ndarray:
    padded = np.zeros(max(_PARAMETERS, len(values)))
    padded[: len(values)] = values
    return padded


class PairRun:
    """The per-pair tracked run of an optimizer on a function: called with `fused.tracked_run`'s
    arguments, it gives its results (compiling the pass first if this machine has none)."""

    def __init__(self, function, optimizer, parts):
        function_kind, function_params, optimizer_kind, hyperparameters, self.coefficients_at = parts
        self.fp, self.h = _padded(function_params), _padded(hyperparameters)
        self.initial = fused._initial_state(optimizer)[0]
        # 0 and 1 become constants of the pass; the other hyperparameters are read at run time
        constants = tuple(float(value) if value in (0.0, 1.0) else None for value in self.h[:_PARAMETERS])
        self.key = (function_kind, optimizer_kind, len(self.initial), constants)
        self.loops = fg.compiled_loops()

    def compiled(self, minima: int) -> bool:
        """Whether the pass for `minima` listed minima is compiled: in this process, or on this
        machine (numba's disk cache, as far as `_marker` knows)."""
        return bool(_run_of(*self.key[:3], minima, self.key[3]).signatures) or _marker(self.key, minima).exists()

    def __call__(self, xy, steps, minima, squared_tolerance, squared_gradient_tolerance):
        xy, mx, my, results = fused.tracked_arrays(xy, minima)
        compiled_run = _run_of(*self.key[:3], len(minima), self.key[3])
        arguments = (self.fp, self.h, fused._run_coefficients(self.coefficients_at, steps), self.initial, xy, mx,
                     my, float(squared_tolerance), float(squared_gradient_tolerance), self.loops, *results)
        if compiled_run.signatures:
            compiled_run(*arguments)
        else:  # compiled (or loaded from numba's cache) now
            with warnings.catch_warnings():
                # numba's pedantic check of its own IR after inlining the bowl's exponents
                # names a variable it renamed; the code is right (compared bit for bit)
                warnings.simplefilter("ignore", errors.NumbaIRAssumptionWarning)
                compiled_run(*arguments)
            _mark_compiled(self.key, len(minima))
        return results


def pair_run(function, optimizer) -> PairRun | None:
    """The pair's `PairRun`, or None if the pair has no pass."""
    parts = fused._whole_run_parts(function, optimizer)
    if parts is None or type(function) not in _PAIR_FUNCTIONS or parts[2] not in _PAIR_OPTIMIZERS:
        return None
    return PairRun(function, optimizer, parts)


def tracked_run(function, optimizer):
    """`fused.tracked_run`, through the pair's pass for chunks of PAIR_MIN_POINTS starts or
    more when the pass is compiled (`warm`); the same results. None where
    `fused.tracked_run` is None."""
    staged = fused.tracked_run(function, optimizer)
    paired = pair_run(function, optimizer)
    if staged is None or paired is None:
        return staged

    def run(xy, steps, minima, squared_tolerance, squared_gradient_tolerance):
        big = xy.shape[1] >= PAIR_MIN_POINTS
        chosen = paired if big and paired.compiled(len(minima)) else staged
        return chosen(xy, steps, minima, squared_tolerance, squared_gradient_tolerance)

    return run


def warm(function, optimizer) -> bool:
    """Compile the pass of `optimizer` on `function` (its hyperparameters that are 0 or 1 are
    part of the pass), unless this machine has it: from then on core.run takes it for big
    grids, in every process. Returns whether the pair has a pass."""
    from .engine import _landscape, default_tolerance  # (the engine imports this module)

    paired = pair_run(function, optimizer)
    if paired is None:
        return False
    landscape = _landscape(function, default_tolerance(function))
    paired(np.zeros((2, 1)), 1, landscape.minima, landscape.squared_tolerance, landscape.squared_gradient_tolerance)
    return True


# Which passes this machine has compiled: a marker file per pass beside numba's cache, named
# after the pass and a hash of the code it compiles (the hash is also a constant of the pass,
# so that numba's cache, which only watches this file, never serves a pass of older code).
def _code_version() -> str:
    digest = hashlib.sha256(numba.__version__.encode())
    for name in ("fused_pairs.py", "fused.py", "fused_gradients.py", "numpy_loops.py"):
        digest.update((Path(__file__).parent / name).read_bytes())
    return digest.hexdigest()[:16]


_CODE_VERSION = _code_version()
_MARKERS = Path(os.environ.get("NUMBA_CACHE_DIR") or Path(__file__).parent / "__pycache__") / "fused_pairs"


def _marker(key: tuple, minima: int) -> Path:
    name = hashlib.sha256(repr((_CODE_VERSION, key, minima)).encode()).hexdigest()[:24]
    return _MARKERS / f"{name}.compiled"


def _mark_compiled(key: tuple, minima: int) -> None:
    try:
        _MARKERS.mkdir(parents=True, exist_ok=True)
        _marker(key, minima).touch()
    except OSError:  # a read-only install: the pass is compiled in this process only
        pass
