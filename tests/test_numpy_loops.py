"""core.numpy_loops calls numpy's own exp, sin and cos loops from compiled code: same bits."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from core import numpy_loops


def values() -> np.ndarray:
    rng = np.random.default_rng(11)
    spread = rng.normal(size=5000) * 10.0 ** rng.uniform(-8, 3, 5000)
    special = [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e300, -1e300, 5e-324, -5e-324, 2.2e-308,
               709.78, 709.79, -745.13, -745.14, 1e-17, 3.0e5, 1e22, -1e22]
    return np.concatenate([spread, special])


def test_numpys_loops_are_available():
    assert numpy_loops.LOOPS is not None and numpy_loops.LOOPS.shape == (len(numpy_loops.UFUNCS), 3)


UNARY = [numpy_loops.EXP, numpy_loops.SIN, numpy_loops.COS, numpy_loops.ARCSINH, numpy_loops.SINH]


def frame() -> np.ndarray:
    return np.empty(numpy_loops.FRAME_WORDS, dtype=np.uint64)


@pytest.mark.parametrize("which", UNARY)
@pytest.mark.parametrize("length", [1, 7, 8, 1001, 5019])
def test_apply_equals_the_ufunc_bit_for_bit(which, length):
    ufunc = numpy_loops.UFUNCS[which]
    x = values()[-length:]
    with np.errstate(all="ignore"):
        expected = ufunc(x)
    got = x.copy()
    numpy_loops.apply(numpy_loops.LOOPS, which, frame(), got)
    assert np.array_equal(got.view(np.int64), expected.view(np.int64)), ufunc.__name__


def test_apply_on_a_two_dimensional_buffer_covers_every_element():
    x = values()[:2000].reshape(2, 1000).copy()
    with np.errstate(all="ignore"):
        expected = np.exp(x)
    numpy_loops.apply(numpy_loops.LOOPS, numpy_loops.EXP, frame(), x)
    assert np.array_equal(x, expected)


def test_no_floating_point_warning_leaks_into_later_numpy_calls():
    overflowing = np.array([800.0, -800.0, np.nan])
    numpy_loops.apply(numpy_loops.LOOPS, numpy_loops.EXP, frame(), overflowing)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(np.add(np.ones(3), 1.0) * 2, [4.0, 4.0, 4.0])


@pytest.mark.parametrize("length", [1, 7, 1001, 5019])
def test_apply_binary_equals_power_by_a_number_and_hypot(length):
    """np.power(a, 3) as numpy runs it (the 3 broadcast with stride 0) and np.hypot(a, b)."""
    a = values()[-length:]
    b = np.random.default_rng(2).permutation(values())[-length:]
    for which, other, stride, expected in [
        (numpy_loops.POWER, np.array([3.0]), 0, lambda: np.power(a, 3)),
        (numpy_loops.POWER, np.array([4.0]), 0, lambda: np.power(a, 4)),
        (numpy_loops.POWER, np.array([-1.5]), 0, lambda: np.power(a, -1.5)),
        (numpy_loops.HYPOT, b, 8, lambda: np.hypot(a, b)),
    ]:
        with np.errstate(all="ignore"):
            want = expected()
        got = np.empty_like(a)
        numpy_loops.apply_binary(numpy_loops.LOOPS, which, frame(), a, other, stride, got)
        assert np.array_equal(got.view(np.int64), want.view(np.int64)), (which, other[:1])
