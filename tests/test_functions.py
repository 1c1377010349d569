"""Tests of core.functions: analytic gradients, listed minima, parameters and validation.

Every test parametrized over FUNCTIONS picks up a newly registered function automatically.
"""

import math
import warnings

import numpy as np
import pytest

from core import FUNCTIONS, get_function

STEP = 1e-6  # central-difference step


def central_difference_gradient(f, points: np.ndarray, h: float = STEP) -> np.ndarray:
    """(..., 2) gradient of f at points (..., 2) by central differences."""
    columns = [(f(points + h * e) - f(points - h * e)) / (2 * h) for e in np.eye(2)]
    return np.stack(columns, axis=-1)


def central_difference_hessian(f, point, h: float = 1e-5) -> np.ndarray:
    """Symmetrized 2x2 Hessian of f at one point, by central differences of its gradient."""
    point = np.asarray(point, dtype=float)
    hessian = np.stack([(f.gradient(point + h * e) - f.gradient(point - h * e)) / (2 * h) for e in np.eye(2)], axis=1)
    return (hessian + hessian.T) / 2


def random_points(f, count: int, seed: int = 0) -> np.ndarray:
    (x0, x1), (y0, y1) = f.domain
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)])


def domain_grid(f, resolution: int) -> np.ndarray:
    """(resolution, resolution, 2) points covering the domain, edges included."""
    (x0, x1), (y0, y1) = f.domain
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    return np.stack(np.meshgrid(xs, ys), axis=-1)


def is_inside(f, point) -> bool:
    (x0, x1), (y0, y1) = f.domain
    return x0 <= point[0] <= x1 and y0 <= point[1] <= y1


# -- registry -----------------------------------------------------------------------------
def test_article_functions_come_first():
    assert FUNCTIONS[:3] == ("two_gaussians", "rastrigin", "rosenbrock")
    assert len(set(FUNCTIONS)) == len(FUNCTIONS)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_metadata(name):
    f = get_function(name)
    assert f.name == name
    assert f.title.strip() and f.formula.strip()
    assert f.__doc__ and "f(x, y)" in f.__doc__


# -- gradients and shapes -----------------------------------------------------------------
@pytest.mark.parametrize("name", FUNCTIONS)
def test_gradient_matches_central_differences(name):
    f = get_function(name)
    points = random_points(f, 300)
    analytic = f.gradient(points)
    numeric = central_difference_gradient(f, points)
    # Rounding in the difference quotient grows with |f| / h; a wrong formula errs by O(|gradient|).
    tolerance = 1e-7 * np.abs(numeric) + 1e-8 * (1 + np.abs(f(points)))[:, None]
    error = np.abs(analytic - numeric)
    worst = np.unravel_index(np.argmax(error / tolerance), error.shape)
    assert np.all(error <= tolerance), (
        f"{name}: at {points[worst[0]]} analytic {analytic[worst[0]]} vs numeric {numeric[worst[0]]}"
    )


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("shape", [(), (7,), (4, 5)], ids=["point", "batch", "grid"])
def test_shapes(name, shape):
    f = get_function(name)
    points = random_points(f, math.prod(shape), seed=1).reshape(*shape, 2)
    values, gradients = f(points), f.gradient(points)
    assert np.shape(values) == shape
    assert np.shape(gradients) == (*shape, 2)
    assert np.all(np.isfinite(values)) and np.all(np.isfinite(gradients))
    # batched evaluation agrees with one point at a time
    first = points.reshape(-1, 2)[0]
    assert np.reshape(values, -1)[0] == pytest.approx(float(f(first)), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(np.reshape(gradients, (-1, 2))[0], f.gradient(first), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_grid_shape(name):
    xs, ys, values = get_function(name).grid(30)
    assert xs.shape == ys.shape == (30,) and values.shape == (30, 30)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_domain_evaluation_emits_no_runtime_warning(name):
    f = get_function(name)
    points = domain_grid(f, 201)
    listed = np.array([m.point for m in f.minima], dtype=float).reshape(-1, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for batch in (points, listed, np.zeros(2)):
            assert np.all(np.isfinite(f(batch)))
            assert np.all(np.isfinite(f.gradient(batch)))


def test_ackley_gradient_is_zero_at_its_singular_origin():
    f = get_function("ackley")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(f.gradient(np.zeros(2)), [0.0, 0.0])
        near = f.gradient(np.array([[0.0, 0.0], [1e-300, 0.0], [0.0, -1e-200], [1e-8, 1e-8]]))
    assert np.all(np.isfinite(near))
    assert np.array_equal(near[0], [0.0, 0.0])
    # next to the tip the funnel's slope, 2·√2·(direction), dominates
    np.testing.assert_allclose(near[1:], [[2 * math.sqrt(2), 0], [0, -2 * math.sqrt(2)], [2, 2]], rtol=1e-6)


# -- minima -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FUNCTIONS)
def test_listed_minima_are_minima(name):
    f = get_function(name)
    for minimum in f.minima:
        point = np.array(minimum.point)
        assert is_inside(f, point), f"{name}: {minimum} outside the domain {f.domain}"
        assert np.linalg.norm(f.gradient(point)) < 1e-6, f"{name}: gradient at {minimum} is {f.gradient(point)}"
        assert float(f(point)) == pytest.approx(minimum.value, abs=1e-6), name
        eigenvalues = np.linalg.eigvalsh(central_difference_hessian(f, point))
        assert np.all(eigenvalues > 0), f"{name}: Hessian eigenvalues {eigenvalues} at {minimum}"
    points = np.array([m.point for m in f.minima]).reshape(-1, 2)
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1) + np.eye(len(points))
    assert np.all(distances > 1e-3), f"{name}: a minimum is listed twice"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_global_minima_are_lowest_on_a_fine_grid(name):
    f = get_function(name)
    if not f.minima:
        assert f.f_min is None
        return
    assert f.global_minima, f"{name}: minima listed but none global"
    for minimum in f.minima:
        if minimum.is_global:
            assert minimum.value == pytest.approx(f.f_min, abs=1e-9)
        else:
            assert minimum.value > f.f_min + 1e-6, f"{name}: local {minimum} not above f_min {f.f_min}"
    lowest = float(np.min(f(domain_grid(f, 801))))
    assert lowest >= f.f_min - 1e-9, f"{name}: grid value {lowest} below f_min {f.f_min}"


def test_saddle_has_no_minimum():
    f = get_function("saddle")
    assert f.minima == () and f.f_min is None
    assert np.array_equal(f.gradient(np.zeros(2)), [0.0, 0.0])


@pytest.mark.parametrize(
    "name, expected",
    [
        ("himmelblau", [((3.0, 2.0), 0.0), ((-2.805118, 3.131313), 0.0), ((-3.779310, -3.283186), 0.0),
                        ((3.584428, -1.848127), 0.0)]),
        ("six_hump_camel", [((0.089842, -0.712656), -1.031628), ((-0.089842, 0.712656), -1.031628)]),
        ("styblinski_tang", [((-2.903534, -2.903534), -78.33233)]),
        ("goldstein_price", [((0.0, -1.0), 3.0)]),
        ("levi13", [((1.0, 1.0), 0.0)]),
        ("mccormick", [((-0.54719, -1.54719), -1.913223)]),
        ("ackley", [((0.0, 0.0), 0.0)]),
        ("beale", [((3.0, 0.5), 0.0)]),
        ("booth", [((1.0, 3.0), 0.0)]),
        ("matyas", [((0.0, 0.0), 0.0)]),
        ("three_hump_camel", [((0.0, 0.0), 0.0)]),
    ],
)
def test_published_global_minima(name, expected):
    found = sorted((m.point, m.value) for m in get_function(name).global_minima)
    assert len(found) == len(expected)
    for (point, value), (expected_point, expected_value) in zip(found, sorted(expected)):
        assert point == pytest.approx(expected_point, abs=1e-5)
        assert value == pytest.approx(expected_value, abs=1e-5)


@pytest.mark.parametrize("name, local_count", [("three_hump_camel", 2), ("six_hump_camel", 4), ("styblinski_tang", 3),
                                               ("goldstein_price", 3), ("mccormick", 1)])
def test_local_minima_are_listed(name, local_count):
    f = get_function(name)
    assert len(f.minima) - len(f.global_minima) == local_count


# -- parameters ---------------------------------------------------------------------------
def test_rastrigin_article_parameters():
    f = get_function("rastrigin", A=20, omega=1, domain=((-20, 20), (-20, 20)))
    assert f.domain == ((-20.0, 20.0), (-20.0, 20.0))
    assert f.params == {"A": 20, "omega": 1}
    x, y = 3.0, -7.5
    expected = 40 + (x * x - 20 * math.cos(x)) + (y * y - 20 * math.cos(y))
    assert float(f(np.array([x, y]))) == pytest.approx(expected, rel=1e-12)
    standard = get_function("rastrigin")
    assert float(standard(np.array([x, y]))) == pytest.approx(
        20 + (x * x - 10 * math.cos(2 * math.pi * x)) + (y * y - 10 * math.cos(2 * math.pi * y)), rel=1e-12
    )
    assert f(np.zeros(2)) == 0.0 and f.f_min == 0.0


def test_rosenbrock_b_changes_the_valley_weight():
    assert float(get_function("rosenbrock")(np.array([0.0, 1.0]))) == pytest.approx(101.0)
    assert float(get_function("rosenbrock", b=2)(np.array([0.0, 1.0]))) == pytest.approx(3.0)
    shifted = get_function("rosenbrock", a=2.0)
    assert shifted.minima[0].point == (2.0, 4.0)


def test_two_gaussians_article_minima():
    f = get_function("two_gaussians")
    (global_minimum,) = f.global_minima
    (local_minimum,) = [m for m in f.minima if not m.is_global]
    assert global_minimum.point == pytest.approx((-0.9363, 0.0), abs=5e-5)
    assert global_minimum.value == pytest.approx(-2.0631, abs=5e-5)
    assert local_minimum.point == pytest.approx((0.9053, 0.0), abs=5e-5)
    assert local_minimum.value == pytest.approx(-1.0927, abs=5e-5)


# -- validation ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, params, message",
    [
        ("no_such_function", {}, "unknown function 'no_such_function'"),
        ("rastrigin", {"B": 1.0}, "unknown parameter.*B"),
        ("rastrigin", {"A": float("nan")}, "parameter A must be a finite number"),
        ("rosenbrock", {"b": float("inf")}, "parameter b must be a finite number"),
        ("rosenbrock", {"b": "2"}, "parameter b must be a finite number"),
        ("two_gaussians", {"c": 0.0}, r"invalid c 0.0; accepted range \(0.0, inf\)"),
        ("himmelblau", {"domain": ((1, 0), (0, 1))}, "xmin < xmax"),
        ("himmelblau", {"domain": ((0, 1), (2, 2))}, "ymin < ymax"),
        ("himmelblau", {"domain": (("a", 1), (0, 1))}, r"domain must be \(\(xmin, xmax\)"),
        ("himmelblau", {"domain": (0, 1)}, r"domain must be \(\(xmin, xmax\)"),
        ("himmelblau", {"domain": ((0, math.inf), (0, 1))}, "domain bounds must be finite"),
        ("himmelblau", {"domain": ((0, 1), (math.nan, 1))}, "domain bounds must be finite"),
    ],
)
def test_get_function_rejects_bad_input(name, params, message):
    with pytest.raises(ValueError, match=message):
        get_function(name, **params)
