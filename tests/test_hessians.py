"""Tests of TestFunction.hessian: analytic for the built-in functions, symbolic for typed ones,
central differences of the gradient for a subclass that writes no `second_partials`.

Every test parametrized over FUNCTIONS picks up a newly registered function automatically.
"""

import time
from dataclasses import dataclass

import numpy as np
import pytest

import core
import core.custom as custom
from core import FUNCTIONS, get_function
from core.custom import CustomFunction
from core.functions import TestFunction

TYPED = [
    "x**2 + 3*sin(y)*exp(-x**2)",
    "(1-x)^2 + 100*(y-x^2)^2",
    "sqrt(x**2+y**2+1) + cos(3*x)*y",
    "log(1 + x**2) + tanh(y)**2",
    "atan(x*y) + sinh(x/3) - cosh(y/4) + arctan2(y, x + 5)",
    "x^3*y^2 - 2*x*y^4 + exp(x - y)/(2 + cos(x*y))",
    "sin(" * 30 + "x*y" + ")" * 30,  # a long chain rule: the second derivatives as a program
]
KINKED = [  # abs, min and max: their kinks (where the arguments tie) are left out of the comparison
    ("abs(x) + y**2", lambda x, y: np.abs(x)),
    ("max(x, y) + min(x**2, y)", lambda x, y: np.minimum(np.abs(x - y), np.abs(x * x - y))),
    ("abs(x*y - 1)*x^2 + max(x^2, y)*y", lambda x, y: np.minimum(np.abs(x * y - 1), np.abs(x * x - y))),
    ("max(min(max(min(x,y),x*y),x+y),x-y)", None),  # compared where the differences agree to h
]


def central_difference_hessian(f: TestFunction, points: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """(N, 2, 2) Hessians by central differences of the gradient, symmetrized."""
    columns = [(f.gradient(points + h * e) - f.gradient(points - h * e)) / (2 * h) for e in np.eye(2)]
    hessian = np.stack(columns, axis=-1)
    return 0.5 * (hessian + np.swapaxes(hessian, -1, -2))


def random_points(f: TestFunction, count: int = 400, seed: int = 0) -> np.ndarray:
    (x0, x1), (y0, y1) = f.domain
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)])


def close_share(exact: np.ndarray, numeric: np.ndarray, rtol: float = 1e-5) -> np.ndarray:
    """Per point: whether every entry is within rtol of the point's largest entry (atol 1e-8)."""
    scale = np.abs(numeric).max(axis=(-2, -1))
    return np.all(np.abs(exact - numeric) <= rtol * scale[..., None, None] + 1e-8, axis=(-2, -1))


# ---------------------------------------------------------------------------------------
# Every function: the analytic Hessian is the derivative of the analytic gradient
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FUNCTIONS)
def test_hessian_matches_central_differences_of_the_gradient(name):
    f = get_function(name)
    points = random_points(f)
    exact = f.hessian(points)
    numeric = central_difference_hessian(f, points)
    ok = close_share(exact, numeric)
    assert ok.all(), (name, points[~ok][:3], exact[~ok][:3], numeric[~ok][:3])


@pytest.mark.parametrize("name", FUNCTIONS)
def test_hessian_is_symmetric_and_shaped_like_the_points(name):
    f = get_function(name)
    points = random_points(f, 50, seed=1)
    hessian = f.hessian(points)
    assert hessian.shape == (50, 2, 2) and hessian.dtype == float
    np.testing.assert_array_equal(hessian, np.swapaxes(hessian, -1, -2))
    one = f.hessian(points[3])
    assert one.shape == (2, 2)
    np.testing.assert_array_equal(one, hessian[3])
    grid = f.hessian(points[:12].reshape(3, 4, 2))  # a contour grid (H, W, 2)
    assert grid.shape == (3, 4, 2, 2)
    np.testing.assert_array_equal(grid.reshape(12, 2, 2), hessian[:12])
    assert f.hessian([[0.5, 0.25]]).shape == (1, 2, 2)  # lists too


def test_constant_hessians_broadcast():
    booth = get_function("booth")
    np.testing.assert_array_equal(booth.hessian(np.zeros((4, 2))), np.broadcast_to([[10.0, 8.0], [8.0, 10.0]], (4, 2, 2)))
    saddle = get_function("saddle")
    np.testing.assert_array_equal(saddle.hessian(np.ones(2)), [[2.0, 0.0], [0.0, -2.0]])


@pytest.mark.parametrize("name, params", [
    ("rosenbrock", {"a": -0.5, "b": 2.0}), ("rastrigin", {"A": 20.0, "omega": 1.0}),
    ("two_gaussians", {"a": 1.0, "b": 0.5, "c": 0.5, "d": 1.5}),
])
def test_hessian_follows_the_parameters(name, params):
    f = get_function(name, **params)
    points = random_points(f, 200, seed=2)
    assert close_share(f.hessian(points), central_difference_hessian(f, points)).all()


def test_ackley_hessian_at_the_cone_tip_is_finite_like_its_gradient():
    f = get_function("ackley")
    np.testing.assert_array_equal(f.gradient(np.zeros(2)), [0.0, 0.0])
    assert np.all(np.isfinite(f.hessian(np.zeros(2))))


# ---------------------------------------------------------------------------------------
# A subclass without second_partials: central differences of its gradient
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Tilted(TestFunction):
    """A user's function with value and gradient only: f(x, y) = x⁴ + x·y + 3·y² + sin(x)."""

    name = "tilted"
    title = "Tilted"
    formula = "x^4 + xy + 3y^2 + sin x"
    default_domain = ((-2.0, 2.0), (-2.0, 2.0))

    def value(self, x, y):
        return x**4 + x * y + 3 * y * y + np.sin(x)

    def partials(self, x, y):
        return 4 * x**3 + y + np.cos(x), x + 6 * y


def test_default_hessian_is_central_differences_of_the_gradient():
    f = Tilted()
    points = random_points(f, 300, seed=3)
    x = points[:, 0]
    exact = np.zeros((300, 2, 2))
    exact[:, 0, 0], exact[:, 0, 1], exact[:, 1, 0], exact[:, 1, 1] = 12 * x * x - np.sin(x), 1.0, 1.0, 6.0
    hessian = f.hessian(points)
    np.testing.assert_allclose(hessian, exact, rtol=1e-7, atol=1e-7)
    np.testing.assert_array_equal(hessian, np.swapaxes(hessian, -1, -2))
    assert f.hessian(points[0]).shape == (2, 2)


# ---------------------------------------------------------------------------------------
# Typed functions: symbolic second derivatives
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("expression", TYPED, ids=[e[:30] for e in TYPED])
def test_typed_hessian_is_exact_and_matches_central_differences(expression):
    f = CustomFunction(expression=expression, domain=((-2, 2), (-2, 2)))
    assert f.exact_hessian
    points = random_points(f, 400, seed=4)
    exact = f.hessian(points)
    np.testing.assert_array_equal(exact, np.swapaxes(exact, -1, -2))
    ok = close_share(exact, central_difference_hessian(f, points))
    assert ok.mean() > 0.995, ok.mean()  # x**3*y**2 - ...: a few points where the differences round off


@pytest.mark.parametrize("expression, kink_distance", KINKED, ids=[e for e, _ in KINKED])
def test_kinks_have_zero_second_derivative_almost_everywhere(expression, kink_distance):
    f = CustomFunction(expression=expression, domain=((-2, 2), (-2, 2)))
    assert f.exact_hessian
    points = random_points(f, 400, seed=5)
    exact, numeric = f.hessian(points), central_difference_hessian(f, points)
    ok = close_share(exact, numeric)
    if kink_distance is not None:
        away = kink_distance(points[:, 0], points[:, 1]) > 1e-3
        assert away.mean() > 0.95 and ok[away].all()
    else:
        assert ok.mean() > 0.97


def test_piecewise_linear_typed_function_has_a_zero_hessian():
    f = CustomFunction(expression="abs(x) + 2*abs(y - 1) + max(x, y) - min(x, 2*y)")
    points = random_points(f, 100, seed=6)
    np.testing.assert_array_equal(f.hessian(points), np.zeros((100, 2, 2)))


def test_typed_constant_second_derivatives_broadcast():
    f = CustomFunction(expression="x^2 + 3*x*y")
    np.testing.assert_array_equal(f.hessian(np.zeros((2, 3, 2))), np.broadcast_to([[2.0, 3.0], [3.0, 0.0]], (2, 3, 2, 2)))


def test_typed_rosenbrock_hessian_equals_the_builtin_one():
    typed = CustomFunction(expression="(1-x)^2 + 100*(y-x^2)^2", domain=((-2, 2), (-1, 3)))
    builtin = get_function("rosenbrock")
    points = random_points(builtin, 200, seed=7)
    np.testing.assert_allclose(typed.hessian(points), builtin.hessian(points), rtol=1e-12, atol=1e-9)


def test_hessian_too_slow_to_derive_falls_back_to_central_differences(monkeypatch):
    """The gradient decides whether an expression is accepted; second derivatives that do not
    come within the same BUILD_SECONDS leave the Hessian to central differences of the gradient."""
    def slow(dx, dy):
        time.sleep(30)

    monkeypatch.setattr(custom, "_second_derivatives", slow)  # the forked worker inherits it
    expression = "x^4 + sin(x*y) + 0.123457*y^2"
    start = time.perf_counter()
    f = CustomFunction(expression=expression)
    assert time.perf_counter() - start < custom.BUILD_SECONDS + 0.5
    assert not f.exact_hessian
    points = random_points(f, 200, seed=8)
    x, y = points[:, 0], points[:, 1]
    s = np.sin(x * y)
    exact = np.stack([np.stack([12 * x * x - y * y * s, np.cos(x * y) - x * y * s], -1),
                      np.stack([np.cos(x * y) - x * y * s, -x * x * s + 2 * 0.123457], -1)], -2)
    np.testing.assert_allclose(f.hessian(points), exact, rtol=1e-6, atol=1e-6)


def test_a_typed_function_builds_its_hessian_within_the_time_limit():
    """Nested abs: the second derivatives of its gradient (products of signs, constant where
    they are defined) are held constant, not differentiated through every level."""
    expression = "abs(" * 15 + "x-1" + "+y+0.5)" * 15
    start = time.perf_counter()
    f = CustomFunction(expression=expression)
    assert time.perf_counter() - start < custom.BUILD_SECONDS + 0.5
    assert f.exact_hessian
    np.testing.assert_array_equal(f.hessian(random_points(f, 50, seed=9)), np.zeros((50, 2, 2)))


def test_every_registered_function_class_has_its_own_second_partials():
    """Built-in functions write their Hessian analytically (the default is for users' subclasses)."""
    for cls in core.FUNCTION_CLASSES.values():
        assert "second_partials" in vars(cls), cls.__name__
