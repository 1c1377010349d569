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
# Per-point formulas ("elements"), inlined into every loop that calls them: numba's own
# inlining, as LLVM only vectorizes a loop whose body has no calls left. The loops here and
# the per-pair passes (core/fused_pairs.py) share them, so each formula is written once.
inline = njit(inline="always", error_model="numpy")


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


def _two_gaussian_tiny(c: float, d: float) -> float:
    """The |y| below which `_two_gaussian_exponents_at` may take y² as 0 (0.0: never)."""
    return _TINY_ROOT if c >= 2.0**-40 and d >= 2.0**-40 else 0.0


@inline
def _two_gaussian_exponents_at(x, y, c, d, tiny):
    """−((x−1)² + y²)/c and −((x+1)² + y²)/d, the exponents whose exp the reference takes.

    y² is taken as 0 for |y| < tiny = 2⁻⁵¹¹ (when c, d ≥ 2⁻⁴⁰, `_two_gaussian_tiny`), which
    changes no exp: either (x∓1)² ≥ 2⁻⁹⁶⁹, and adding y² < 2⁻¹⁰²² (less than half its ulp)
    leaves it unchanged, or both sums are below 2⁻⁹⁶⁸, the exponents below 2⁻⁹²⁸ in size, and
    exp gives 1 for both. This is for speed only: runs converging to y = 0 square numbers down
    to 1e-200, and the CPU computes a subnormal product in microcode, ~100 times slower (SGD
    on the article's bowl does so in 12% of its steps)."""
    y2 = 0.0 if abs(y) < tiny else y * y
    right, left = x - 1, x + 1
    return -(right * right + y2) / c, -(left * left + y2) / d


@jit
def _two_gaussian_exponents(x, y, c, d, tiny, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i] = _two_gaussian_exponents_at(x[i], y[i], c, d, tiny)


@inline
def _two_gaussian_gradient_at(x, y, exp_right, exp_left, right_scale, left_scale):
    right, left = right_scale * exp_right, left_scale * exp_left
    return 2 * x + right * (x - 1) + left * (x + 1), 2 * y + (right + left) * y


@jit
def _two_gaussian_gradient(x, y, exps, right_scale, left_scale, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i] = _two_gaussian_gradient_at(x[i], y[i], exps[0, i], exps[1, i], right_scale,
                                                         left_scale)


@jit
def _two_gaussian_value(x, y, exps, a, b, out):
    for i in range(x.shape[0]):
        out[i] = x[i] * x[i] + y[i] * y[i] - a * exps[0, i] - b * exps[1, i]


# ---------------------------------------------------------------------------------------
@inline
def _rastrigin_gradient_at(x, y, k, sine_x, sine_y):
    return 2 * x + k * sine_x, 2 * y + k * sine_y


@jit
def _rastrigin_gradient(x, y, k, sines, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i] = _rastrigin_gradient_at(x[i], y[i], k, sines[0, i], sines[1, i])


@jit
def _rastrigin_value(x, y, two_a, a, cosines, out):
    for i in range(x.shape[0]):
        out[i] = two_a + (x[i] * x[i] - a * cosines[0, i]) + (y[i] * y[i] - a * cosines[1, i])


# ---------------------------------------------------------------------------------------
@inline
def _rosenbrock_gradient_at(x, y, a, four_b, two_b):
    valley = y - x * x
    return -2 * (a - x) - four_b * x * valley, two_b * valley


@jit
def _rosenbrock_gradient(x, y, a, four_b, two_b, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i] = _rosenbrock_gradient_at(x[i], y[i], a, four_b, two_b)


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
@inline
def _himmelblau_gradient_at(x, y):
    first, second = x * x + y - 11, x + y * y - 7
    return 4 * x * first + 2 * second, 2 * first + 4 * y * second


@jit
def _himmelblau_gradient(x, y, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i] = _himmelblau_gradient_at(x[i], y[i])


@jit
def _himmelblau_value(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        first, second = xi * xi + yi - 11, xi + yi * yi - 7
        out[i] = first * first + second * second


# ---------------------------------------------------------------------------------------
@inline
def _beale_gradient_at(x, y, y3):
    y2 = y * y
    first = 1.5 - x + x * y
    second = 2.25 - x + x * y2
    third = 2.625 - x + x * y3
    return 2 * (first * (y - 1) + second * (y2 - 1) + third * (y3 - 1)), 2 * x * (first + 2 * y * second
                                                                                   + 3 * y * y * third)


@jit
def _beale_gradient(x, y, y_cubes, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i] = _beale_gradient_at(x[i], y[i], y_cubes[i])


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
@inline
def _booth_gradient_at(x, y):
    first, second = x + 2 * y - 7, 2 * x + y - 5
    return 2 * first + 4 * second, 4 * first + 2 * second


@jit
def _booth_gradient(x, y, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i] = _booth_gradient_at(x[i], y[i])


@jit
def _booth_value(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        first, second = xi + 2 * yi - 7, 2 * xi + yi - 5
        out[i] = first * first + second * second


@inline
def _matyas_gradient_at(x, y):
    return 0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x


@jit
def _matyas_gradient(x, y, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i] = _matyas_gradient_at(x[i], y[i])


@jit
def _matyas_value(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        out[i] = 0.26 * (xi * xi + yi * yi) - 0.48 * xi * yi


@inline
def _three_hump_camel_gradient_at(x, y):
    x2 = x * x
    return x * (4 - 4.2 * x2 + x2 * x2) + y, x + 2 * y


@jit
def _three_hump_camel_gradient(x, y, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i] = _three_hump_camel_gradient_at(x[i], y[i])


@jit
def _three_hump_camel_value(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        x2 = xi * xi
        out[i] = x2 * (2 - 1.05 * x2 + x2 * x2 / 6) + xi * yi + yi * yi


@inline
def _six_hump_camel_gradient_at(x, y):
    x2, y2 = x * x, y * y
    return x * (8 - 8.4 * x2 + 2 * x2 * x2) + y, x + y * (16 * y2 - 8)


@jit
def _six_hump_camel_gradient(x, y, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i] = _six_hump_camel_gradient_at(x[i], y[i])


@jit
def _six_hump_camel_value(x, y, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        x2, y2 = xi * xi, yi * yi
        out[i] = (4 - 2.1 * x2 + x2 * x2 / 3) * x2 + xi * yi + (4 * y2 - 4) * y2


# ---------------------------------------------------------------------------------------
@inline
def _styblinski_tang_gradient_at(x, y, cube_x, cube_y):
    return 2 * cube_x - 16 * x + 2.5, 2 * cube_y - 16 * y + 2.5


@jit
def _styblinski_tang_gradient(x, y, cubes, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i] = _styblinski_tang_gradient_at(x[i], y[i], cubes[0, i], cubes[1, i])


@jit
def _styblinski_tang_value(x, y, fourths, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        out[i] = 0.5 * (fourths[0, i] - 16 * xi * xi + 5 * xi) + 0.5 * (fourths[1, i] - 16 * yi * yi + 5 * yi)


# ---------------------------------------------------------------------------------------
@inline
def _goldstein_price_gradient_at(x, y):
    u, t = x + y, 2 * x - 3 * y
    u1 = u + 1
    p = 1 + u1 * u1 * (3 * u * u - 14 * u + 19)
    q = 30 + t * t * (3 * t * t - 16 * t + 18)
    dp = 12 * (u + 1) * (u - 1) * (u - 2)
    dq = 12 * t * (t - 1) * (t - 3)
    return dp * q + 2 * p * dq, dp * q - 3 * p * dq


@jit
def _goldstein_price_gradient(x, y, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i] = _goldstein_price_gradient_at(x[i], y[i])


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
@inline
def _levi13_sine_arguments_at(x, y):
    """6πx, 3πy, 6πy, 2πy, 4πy: the gradient's sines are of these."""
    return 6 * math.pi * x, 3 * math.pi * y, 6 * math.pi * y, 2 * math.pi * y, 4 * math.pi * y


@jit
def _levi13_sine_arguments(x, y, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i], out[2, i], out[3, i], out[4, i] = _levi13_sine_arguments_at(x[i], y[i])


@inline
def _levi13_gradient_at(x, y, sin_6pi_x, sin_3pi_y, sin_6pi_y, sin_2pi_y, sin_4pi_y):
    xm, ym = x - 1, y - 1
    return (3 * math.pi * sin_6pi_x + 2 * xm * (1 + sin_3pi_y * sin_3pi_y),
            3 * math.pi * (xm * xm) * sin_6pi_y + 2 * ym * (1 + sin_2pi_y * sin_2pi_y)
            + 2 * math.pi * (ym * ym) * sin_4pi_y)


@jit
def _levi13_gradient(x, y, sines, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i] = _levi13_gradient_at(x[i], y[i], sines[0, i], sines[1, i], sines[2, i], sines[3, i],
                                                   sines[4, i])


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
@inline
def _mccormick_gradient_at(x, y, ridge):
    valley = 2 * (x - y)
    return ridge + valley - 1.5, ridge - valley + 2.5


@jit
def _mccormick_gradient(x, y, ridges, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i] = _mccormick_gradient_at(x[i], y[i], ridges[i])


@jit
def _mccormick_value(x, y, sines, out):
    for i in range(x.shape[0]):
        xi, yi = x[i], y[i]
        valley = xi - yi
        out[i] = sines[i] + valley * valley - 1.5 * xi + 2.5 * yi + 1


# ---------------------------------------------------------------------------------------
@inline
def _saddle_gradient_at(x, y):
    return 2 * x, -2 * y


@jit
def _saddle_gradient(x, y, out):
    for i in range(x.shape[0]):
        out[0, i], out[1, i] = _saddle_gradient_at(x[i], y[i])


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
        return TWO_GAUSSIANS, np.array([f.c, f.d, 2 * f.a / f.c, 2 * f.b / f.d, f.a, f.b,
                                         _two_gaussian_tiny(f.c, f.d)], dtype=float)
    if kind is fn.Rastrigin:
        return RASTRIGIN, np.array([f.omega, f.A * f.omega, f.A, 2 * f.A], dtype=float)
    kinds = _ARITHMETIC + _WITH_UFUNCS
    return (kinds.index(kind), np.zeros(0)) if kind in kinds else None


def compiled_loops() -> np.ndarray:
    """The `loops` argument of `compiled_gradient`."""
    return _NO_LOOPS if LOOPS is None else LOOPS


@inline
def arithmetic_gradient_at(kind, params, x, y):
    """The gradient at (x, y) of an arithmetic kind (`_ARITHMETIC`: no ufunc), params as
    `compiled_kind` gives them."""
    if kind == ROSENBROCK:
        return _rosenbrock_gradient_at(x, y, params[0], params[1], params[2])
    if kind == HIMMELBLAU:
        return _himmelblau_gradient_at(x, y)
    if kind == BOOTH:
        return _booth_gradient_at(x, y)
    if kind == MATYAS:
        return _matyas_gradient_at(x, y)
    if kind == THREE_HUMP_CAMEL:
        return _three_hump_camel_gradient_at(x, y)
    if kind == SIX_HUMP_CAMEL:
        return _six_hump_camel_gradient_at(x, y)
    if kind == GOLDSTEIN_PRICE:
        return _goldstein_price_gradient_at(x, y)
    return _saddle_gradient_at(x, y)


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
        _two_gaussian_exponents(x, y, params[0], params[1], params[6], exps)
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
        _two_gaussian_exponents(x, y, params[0], params[1], params[6], exps)
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
