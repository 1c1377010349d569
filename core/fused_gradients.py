"""Fused gradients and values of the built-in test functions, for the run engine (see core/fused.py).

Each entry of GRADIENTS makes, for a function instance, a callable taking (2, n) points and
returning a new (2, n) gradient equal bit for bit to `partials`; each entry of VALUES one
returning a new (n,) array of values equal bit for bit to `value` (see `fused_value`). Both
are numba loops for the arithmetic, in the reference's order of operations, with numpy's
ufuncs (exp, sin, cos, power, hypot) for everything that is not +, −, ×, ÷ or √. A
polynomial is one loop; `x ** 2` is `x * x` in numpy too, other powers are np.power.
They are `compiled_gradient` and `compiled_value`, which call numpy's ufunc loops directly
(core/numpy_loops.py); compiled whole runs call them too. Every built-in function has both
entries; a typed function (core/custom.py) has none."""

from __future__ import annotations

import functools
import math

import numpy as np
from numba import njit

from . import functions as fn
from . import numpy_loops
from .numpy_loops import COS, EXP, FRAME_WORDS, HYPOT, LOOPS, POWER, SIN, apply, apply_binary

jit = njit(cache=True, nogil=True, error_model="numpy")


@jit
def _scaled(xy, factor, out):
    """out = factor * xy, elementwise (numpy's `factor * xy`)."""
    for c in range(xy.shape[0]):
        for i in range(xy.shape[1]):
            out[c, i] = factor * xy[c, i]


@jit
def _sum(x, y, out):
    for i in range(x.shape[0]):
        out[i] = x[i] + y[i]


# ---------------------------------------------------------------------------------------
_TINY_ROOT = 2.0**-511  # below it a square is subnormal (or 0)


@jit
def _two_gaussian_exponents(x, y, c, d, out):
    """out = −((x−1)² + y²)/c and −((x+1)² + y²)/d, the exponents whose exp the reference takes.

    y² is taken as 0 for |y| < 2⁻⁵¹¹ when c, d ≥ 2⁻⁴⁰, which changes no exp: either (x∓1)²
    ≥ 2⁻⁹⁶⁹, and adding y² < 2⁻¹⁰²² (less than half its ulp) leaves it unchanged, or both
    sums are below 2⁻⁹⁶⁸, the exponents below 2⁻⁹²⁸ in size, and exp gives 1 for both.
    This is for speed only: runs converging to y = 0 square numbers down to 1e-200, and the
    CPU computes a subnormal product in microcode, ~100 times slower (SGD on the article's
    bowl does so in 12% of its steps)."""
    tiny = _TINY_ROOT if c >= 2.0**-40 and d >= 2.0**-40 else 0.0
    for i in range(x.shape[0]):
        y2 = 0.0 if abs(y[i]) < tiny else y[i] * y[i]
        right = x[i] - 1
        left = x[i] + 1
        out[0, i] = -(right * right + y2) / c
        out[1, i] = -(left * left + y2) / d


@jit
def _two_gaussian_gradient(x, y, exps, right_scale, left_scale, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        right = right_scale * exps[0, i]
        left = left_scale * exps[1, i]
        out[0, i] = 2 * xi + right * (xi - 1) + left * (xi + 1)
        out[1, i] = 2 * yi + (right + left) * yi


@jit
def _two_gaussian_value(x, y, exps, a, b, out):
    for i in range(x.shape[0]):
        out[i] = x[i] * x[i] + y[i] * y[i] - a * exps[0, i] - b * exps[1, i]


# ---------------------------------------------------------------------------------------
@jit
def _rastrigin_gradient(x, y, k, sines, out):
    for i in range(x.shape[0]):
        out[0, i] = 2 * x[i] + k * sines[0, i]
        out[1, i] = 2 * y[i] + k * sines[1, i]


@jit
def _rastrigin_value(x, y, two_a, a, cosines, out):
    for i in range(x.shape[0]):
        out[i] = two_a + (x[i] * x[i] - a * cosines[0, i]) + (y[i] * y[i] - a * cosines[1, i])


# ---------------------------------------------------------------------------------------
@jit
def _rosenbrock_gradient(x, y, a, four_b, two_b, out):
    for i in range(x.shape[0]):
        xi = x[i]
        valley = y[i] - xi * xi
        out[0, i] = -2 * (a - xi) - four_b * xi * valley
        out[1, i] = two_b * valley


def _rosenbrock_constants(f: fn.Rosenbrock) -> tuple[float, float, float]:
    """a, 4b and 2b of the gradient, as the reference computes them."""
    return float(f.a), float(4 * f.b), float(2 * f.b)


@jit
def _rosenbrock_value(x, y, a, b, out):
    for i in range(x.shape[0]):
        xi = x[i]
        shift, valley = a - xi, y[i] - xi * xi
        out[i] = shift * shift + b * (valley * valley)


# ---------------------------------------------------------------------------------------
@jit
def _himmelblau_gradient(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        first, second = xi * xi + yi - 11, xi + yi * yi - 7
        out[0, i] = 4 * xi * first + 2 * second
        out[1, i] = 2 * first + 4 * yi * second


@jit
def _himmelblau_value(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        first, second = xi * xi + yi - 11, xi + yi * yi - 7
        out[i] = first * first + second * second


# ---------------------------------------------------------------------------------------
@jit
def _beale_gradient(x, y, y_cubes, out):
    for i in range(x.shape[0]):
        xi, yi, y3 = x[i], y[i], y_cubes[i]
        y2 = yi * yi
        first = 1.5 - xi + xi * yi
        second = 2.25 - xi + xi * y2
        third = 2.625 - xi + xi * y3
        out[0, i] = 2 * (first * (yi - 1) + second * (y2 - 1) + third * (y3 - 1))
        out[1, i] = 2 * xi * (first + 2 * yi * second + 3 * yi * yi * third)


@jit
def _beale_value(x, y, y_cubes, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        first = 1.5 - xi + xi * yi
        second = 2.25 - xi + xi * (yi * yi)
        third = 2.625 - xi + xi * y_cubes[i]
        out[i] = first * first + second * second + third * third


# ---------------------------------------------------------------------------------------
@jit
def _ackley_exponents(hypots, exps):
    """In place: the cosines cos(2πx), cos(2πy) in `exps` -> the funnel's and ripples' exponents."""
    for i in range(hypots.shape[0]):
        ripple = 0.5 * (exps[0, i] + exps[1, i])
        exps[0, i] = -0.2 * (math.sqrt(0.5) * hypots[i])
        exps[1, i] = ripple


@jit
def _ackley_gradient(x, y, hypots, exps, sines, out):
    for i in range(x.shape[0]):
        radius = math.sqrt(0.5) * hypots[i]
        funnel = 2 * exps[0, i] / radius if radius > 0 else 0.0
        ripples = math.pi * exps[1, i]
        out[0, i] = funnel * x[i] + ripples * sines[0, i]
        out[1, i] = funnel * y[i] + ripples * sines[1, i]


@jit
def _ackley_value(exps, out):
    for i in range(exps.shape[1]):
        out[i] = -20 * exps[0, i] - exps[1, i] + math.e + 20


# ---------------------------------------------------------------------------------------
@jit
def _booth_gradient(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        first, second = xi + 2 * yi - 7, 2 * xi + yi - 5
        out[0, i] = 2 * first + 4 * second
        out[1, i] = 4 * first + 2 * second


@jit
def _booth_value(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        first, second = xi + 2 * yi - 7, 2 * xi + yi - 5
        out[i] = first * first + second * second


@jit
def _matyas_gradient(x, y, out):
    for i in range(x.shape[0]):
        out[0, i] = 0.52 * x[i] - 0.48 * y[i]
        out[1, i] = 0.52 * y[i] - 0.48 * x[i]


@jit
def _matyas_value(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        out[i] = 0.26 * (xi * xi + yi * yi) - 0.48 * xi * yi


@jit
def _three_hump_camel_gradient(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        x2 = xi * xi
        out[0, i] = xi * (4 - 4.2 * x2 + x2 * x2) + yi
        out[1, i] = xi + 2 * yi


@jit
def _three_hump_camel_value(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        x2 = xi * xi
        out[i] = x2 * (2 - 1.05 * x2 + x2 * x2 / 6) + xi * yi + yi * yi


@jit
def _six_hump_camel_gradient(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        x2, y2 = xi * xi, yi * yi
        out[0, i] = xi * (8 - 8.4 * x2 + 2 * x2 * x2) + yi
        out[1, i] = xi + yi * (16 * y2 - 8)


@jit
def _six_hump_camel_value(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        x2, y2 = xi * xi, yi * yi
        out[i] = (4 - 2.1 * x2 + x2 * x2 / 3) * x2 + xi * yi + (4 * y2 - 4) * y2


# ---------------------------------------------------------------------------------------
@jit
def _styblinski_tang_gradient(x, y, cubes, out):
    for i in range(x.shape[0]):
        out[0, i] = 2 * cubes[0, i] - 16 * x[i] + 2.5
        out[1, i] = 2 * cubes[1, i] - 16 * y[i] + 2.5


@jit
def _styblinski_tang_value(x, y, fourths, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        out[i] = 0.5 * (fourths[0, i] - 16 * xi * xi + 5 * xi) + 0.5 * (fourths[1, i] - 16 * yi * yi + 5 * yi)


# ---------------------------------------------------------------------------------------
@jit
def _goldstein_price_gradient(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        u, t = xi + yi, 2 * xi - 3 * yi
        u1 = u + 1
        p = 1 + u1 * u1 * (3 * u * u - 14 * u + 19)
        q = 30 + t * t * (3 * t * t - 16 * t + 18)
        dp = 12 * (u + 1) * (u - 1) * (u - 2)
        dq = 12 * t * (t - 1) * (t - 3)
        out[0, i] = dp * q + 2 * p * dq
        out[1, i] = dp * q - 3 * p * dq


@jit
def _goldstein_price_value(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        u, t = xi + yi, 2 * xi - 3 * yi
        u1 = u + 1
        p = 1 + u1 * u1 * (3 * u * u - 14 * u + 19)
        q = 30 + t * t * (3 * t * t - 16 * t + 18)
        out[i] = p * q


# ---------------------------------------------------------------------------------------
@jit
def _levi13_sine_arguments(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        out[0, i] = 6 * math.pi * xi
        out[1, i] = 3 * math.pi * yi
        out[2, i] = 6 * math.pi * yi
        out[3, i] = 2 * math.pi * yi
        out[4, i] = 4 * math.pi * yi


@jit
def _levi13_gradient(x, y, sines, out):
    for i in range(x.shape[0]):
        xm, ym = x[i] - 1, y[i] - 1
        sin_3pi_y, sin_2pi_y = sines[1, i], sines[3, i]
        out[0, i] = 3 * math.pi * sines[0, i] + 2 * xm * (1 + sin_3pi_y * sin_3pi_y)
        out[1, i] = (
            3 * math.pi * (xm * xm) * sines[2, i]
            + 2 * ym * (1 + sin_2pi_y * sin_2pi_y)
            + 2 * math.pi * (ym * ym) * sines[4, i]
        )


@jit
def _levi13_value_sine_arguments(x, y, out):
    for i in range(x.shape[0]):
        out[0, i] = 3 * math.pi * x[i]
        out[1, i] = 3 * math.pi * y[i]
        out[2, i] = 2 * math.pi * y[i]


@jit
def _levi13_value(x, y, sines, out):
    for i in range(x.shape[0]):
        xm, ym = x[i] - 1, y[i] - 1
        sin_3pi_x, sin_3pi_y, sin_2pi_y = sines[0, i], sines[1, i], sines[2, i]
        out[i] = (
            sin_3pi_x * sin_3pi_x
            + xm * xm * (1 + sin_3pi_y * sin_3pi_y)
            + ym * ym * (1 + sin_2pi_y * sin_2pi_y)
        )


# ---------------------------------------------------------------------------------------
@jit
def _mccormick_gradient(x, y, ridges, out):
    for i in range(x.shape[0]):
        ridge, valley = ridges[i], 2 * (x[i] - y[i])
        out[0, i] = ridge + valley - 1.5
        out[1, i] = ridge - valley + 2.5


@jit
def _mccormick_value(x, y, sines, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        valley = xi - yi
        out[i] = sines[i] + valley * valley - 1.5 * xi + 2.5 * yi + 1


# ---------------------------------------------------------------------------------------
@jit
def _saddle_gradient(x, y, out):
    for i in range(x.shape[0]):
        out[0, i] = 2 * x[i]
        out[1, i] = -2 * y[i]


@jit
def _saddle_value(x, y, out):
    for i in range(x.shape[0]):
        out[i] = x[i] * x[i] - y[i] * y[i]


# ---------------------------------------------------------------------------------------
# Gradients and values callable from inside numba, so that a whole run needs no Python per
# step (core.fused.whole_run, tracked_run): the loops above, with numpy's own exp, sin, cos,
# power and hypot called through core.numpy_loops. The engine's per-step gradient and its
# values are the same code (`_compiled`).
# ---------------------------------------------------------------------------------------
_ARITHMETIC = (fn.Rosenbrock, fn.Himmelblau, fn.Booth, fn.Matyas, fn.ThreeHumpCamel, fn.SixHumpCamel,
               fn.GoldsteinPrice, fn.Saddle)
_WITH_UFUNCS = (fn.TwoGaussians, fn.Rastrigin, fn.Levi13, fn.McCormick, fn.Beale, fn.Ackley,
                fn.StyblinskiTang)  # these need numpy_loops.LOOPS
(ROSENBROCK, HIMMELBLAU, BOOTH, MATYAS, THREE_HUMP_CAMEL, SIX_HUMP_CAMEL, GOLDSTEIN_PRICE, SADDLE,
 TWO_GAUSSIANS, RASTRIGIN, LEVI13, MCCORMICK, BEALE, ACKLEY, STYBLINSKI_TANG) = range(15)
SCRATCH_ROWS = 5  # rows of n the kernels need besides their output (Levi13's five sines)
_NO_LOOPS = np.zeros((len(numpy_loops.UFUNCS), 3), dtype=np.uint64)  # for kernels that call none


def compiled_kind(f) -> tuple[int, np.ndarray] | None:
    """(kind, parameters) of f for `compiled_gradient`, or None if it has no compiled gradient."""
    kind = type(f)
    if kind in _WITH_UFUNCS and LOOPS is None:
        return None
    # The constants as the reference computes them: the gradient's first, then the value's.
    if kind is fn.Rosenbrock:
        return ROSENBROCK, np.array([*_rosenbrock_constants(f), f.b], dtype=float)
    if kind is fn.TwoGaussians:
        return TWO_GAUSSIANS, np.array([f.c, f.d, 2 * f.a / f.c, 2 * f.b / f.d, f.a, f.b], dtype=float)
    if kind is fn.Rastrigin:
        return RASTRIGIN, np.array([f.omega, f.A * f.omega, f.A, 2 * f.A], dtype=float)
    kinds = _ARITHMETIC + _WITH_UFUNCS
    return (kinds.index(kind), np.zeros(0)) if kind in kinds else None


def compiled_loops() -> np.ndarray:
    """The `loops` argument of `compiled_gradient`."""
    return _NO_LOOPS if LOOPS is None else LOOPS


@jit
def compiled_gradient(kind, params, xy, out, scratch, loops, frame):
    """The gradient of kind `kind` (see `compiled_kind`) at (2, n) points, into out (2, n).
    scratch: SCRATCH_ROWS * n floats; loops: `compiled_loops()`; frame: FRAME_WORDS uint64."""
    x, y, n = xy[0], xy[1], xy.shape[1]
    if n == 0:
        return
    if kind == ROSENBROCK:
        _rosenbrock_gradient(x, y, params[0], params[1], params[2], out)
    elif kind == HIMMELBLAU:
        _himmelblau_gradient(x, y, out)
    elif kind == BOOTH:
        _booth_gradient(x, y, out)
    elif kind == MATYAS:
        _matyas_gradient(x, y, out)
    elif kind == THREE_HUMP_CAMEL:
        _three_hump_camel_gradient(x, y, out)
    elif kind == SIX_HUMP_CAMEL:
        _six_hump_camel_gradient(x, y, out)
    elif kind == GOLDSTEIN_PRICE:
        _goldstein_price_gradient(x, y, out)
    elif kind == SADDLE:
        _saddle_gradient(x, y, out)
    elif kind == TWO_GAUSSIANS:
        exps = scratch[: 2 * n].reshape(2, n)
        _two_gaussian_exponents(x, y, params[0], params[1], exps)
        apply(loops, EXP, frame, exps)
        _two_gaussian_gradient(x, y, exps, params[2], params[3], out)
    elif kind == RASTRIGIN:
        sines = scratch[: 2 * n].reshape(2, n)
        _scaled(xy, params[0], sines)
        apply(loops, SIN, frame, sines)
        _rastrigin_gradient(x, y, params[1], sines, out)
    elif kind == LEVI13:
        sines = scratch[: 5 * n].reshape(5, n)
        _levi13_sine_arguments(x, y, sines)
        apply(loops, SIN, frame, sines)
        _levi13_gradient(x, y, sines, out)
    elif kind == MCCORMICK:
        ridges = scratch[:n]
        _sum(x, y, ridges)
        apply(loops, COS, frame, ridges)
        _mccormick_gradient(x, y, ridges, out)
    elif kind == BEALE:
        y_cubes, three = scratch[:n], scratch[n : n + 1]
        three[0] = 3.0
        apply_binary(loops, POWER, frame, y, three, 0, y_cubes)  # the reference's y**3
        _beale_gradient(x, y, y_cubes, out)
    elif kind == ACKLEY:
        hypots, exps, sines = scratch[:n], scratch[n : 3 * n].reshape(2, n), scratch[3 * n : 5 * n].reshape(2, n)
        apply_binary(loops, HYPOT, frame, x, y, 8, hypots)
        _scaled(xy, 2 * math.pi, sines)  # the angles 2πx, 2πy
        exps[:] = sines
        apply(loops, COS, frame, exps)
        apply(loops, SIN, frame, sines)
        _ackley_exponents(hypots, exps)  # the ripples' exponent needs the cosines
        apply(loops, EXP, frame, exps)
        _ackley_gradient(x, y, hypots, exps, sines, out)
    else:
        cubes, three = scratch[: 2 * n].reshape(2, n), scratch[2 * n : 2 * n + 1]
        three[0] = 3.0
        apply_binary(loops, POWER, frame, xy, three, 0, cubes)  # the reference's x**3, y**3
        _styblinski_tang_gradient(x, y, cubes, out)


@jit
def compiled_value(kind, params, xy, out, scratch, loops, frame):
    """The value of kind `kind` (see `compiled_kind`) at (2, n) points, into out (n,); the
    other arguments as for `compiled_gradient`."""
    x, y, n = xy[0], xy[1], xy.shape[1]
    if n == 0:
        return
    if kind == ROSENBROCK:
        _rosenbrock_value(x, y, params[0], params[3], out)
    elif kind == HIMMELBLAU:
        _himmelblau_value(x, y, out)
    elif kind == BOOTH:
        _booth_value(x, y, out)
    elif kind == MATYAS:
        _matyas_value(x, y, out)
    elif kind == THREE_HUMP_CAMEL:
        _three_hump_camel_value(x, y, out)
    elif kind == SIX_HUMP_CAMEL:
        _six_hump_camel_value(x, y, out)
    elif kind == GOLDSTEIN_PRICE:
        _goldstein_price_value(x, y, out)
    elif kind == SADDLE:
        _saddle_value(x, y, out)
    elif kind == TWO_GAUSSIANS:
        exps = scratch[: 2 * n].reshape(2, n)
        _two_gaussian_exponents(x, y, params[0], params[1], exps)
        apply(loops, EXP, frame, exps)
        _two_gaussian_value(x, y, exps, params[4], params[5], out)
    elif kind == RASTRIGIN:
        cosines = scratch[: 2 * n].reshape(2, n)
        _scaled(xy, params[0], cosines)
        apply(loops, COS, frame, cosines)
        _rastrigin_value(x, y, params[3], params[2], cosines, out)
    elif kind == LEVI13:
        sines = scratch[: 3 * n].reshape(3, n)
        _levi13_value_sine_arguments(x, y, sines)
        apply(loops, SIN, frame, sines)
        _levi13_value(x, y, sines, out)
    elif kind == MCCORMICK:
        sines = scratch[:n]
        _sum(x, y, sines)
        apply(loops, SIN, frame, sines)
        _mccormick_value(x, y, sines, out)
    elif kind == BEALE:
        y_cubes, three = scratch[:n], scratch[n : n + 1]
        three[0] = 3.0
        apply_binary(loops, POWER, frame, y, three, 0, y_cubes)  # the reference's y**3
        _beale_value(x, y, y_cubes, out)
    elif kind == ACKLEY:
        hypots, exps = scratch[:n], scratch[n : 3 * n].reshape(2, n)
        apply_binary(loops, HYPOT, frame, x, y, 8, hypots)
        _scaled(xy, 2 * math.pi, exps)
        apply(loops, COS, frame, exps)
        _ackley_exponents(hypots, exps)
        apply(loops, EXP, frame, exps)
        _ackley_value(exps, out)
    else:
        fourths, four = scratch[: 2 * n].reshape(2, n), scratch[2 * n : 2 * n + 1]
        four[0] = 4.0
        apply_binary(loops, POWER, frame, xy, four, 0, fourths)  # the reference's t**4
        _styblinski_tang_value(x, y, fourths, out)


def _compiled(f, value: bool = False):
    """The engine's gradient of f ((2, n) points -> new (2, n) array) by `compiled_gradient`,
    or with `value` its value (-> new (n,) array) by `compiled_value`."""
    kind, params = compiled_kind(f)
    loops = compiled_loops()
    kernel = compiled_value if value else compiled_gradient

    def compute(xy):
        xy = np.ascontiguousarray(xy, dtype=float)  # numpy's loops are called on C-ordered rows
        out = np.empty(xy.shape[1]) if value else np.empty(xy.shape)
        kernel(kind, params, xy, out, np.empty(SCRATCH_ROWS * xy.shape[1]), loops,
               np.empty(FRAME_WORDS, dtype=np.uint64))
        return out

    return compute


_FUSED = _ARITHMETIC + (_WITH_UFUNCS if LOOPS is not None else ())
GRADIENTS = {kind: _compiled for kind in _FUSED}
VALUES = {kind: functools.partial(_compiled, value=True) for kind in _FUSED}


def fused_value(function):
    """The fused value of `function` ((2, n) points -> new (n,) values), or None."""
    maker = VALUES.get(type(function))
    return None if maker is None else maker(function)
