"""Tests of core.transform: g(p) = f(M⁻¹ p), M = R(θ) · diag(sx, sy), exact by the chain rule;
and what the optimizers make of it (which of them move equivariantly, path on g = M × path on f).

M is built here independently of the module (numpy's cos and sin, numpy's inverse).
"""

import math

import numpy as np
import pytest

import core
from core import get_function, get_optimizer
from core.analysis import basin_map
from core.inside import trace
from core.transform import Transformed, transform

RTOL = 1e-6  # derivatives against central differences
PATH_TOL = 1e-9  # equal paths: max deviation / the domain's diagonal (rounding is ~1e-15)
APART = 1e-2  # different paths: max deviation / the domain's diagonal, at least

FUNCTIONS = {
    "rosenbrock": lambda: get_function("rosenbrock"),
    "two_gaussians": lambda: get_function("two_gaussians"),
    "himmelblau": lambda: get_function("himmelblau"),
    "typed": lambda: get_function("custom", expression="x**2 + 3*y**2 + x*y"),
}
TRANSFORMS = [(30.0, (1.0, 1.0)), (0.0, (2.0, 1.0)), (-75.0, (0.5, 3.0)), (90.0, (1.0, 1.0)), (200.0, (1.5, 1.5))]
TRANSFORM_IDS = [f"rot{r:g}-scale{sx:g}x{sy:g}" for r, (sx, sy) in TRANSFORMS]


def matrix(rotation: float, scale) -> np.ndarray:
    """M = R(θ) diag(sx, sy), θ in degrees counter-clockwise."""
    t = np.deg2rad(rotation)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]) @ np.diag(scale)


def random_points(f, count: int = 300, seed: int = 0) -> np.ndarray:
    (x0, x1), (y0, y1) = f.domain
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)])


def diagonal(f) -> float:
    (x0, x1), (y0, y1) = f.domain
    return math.hypot(x1 - x0, y1 - y0)


def assert_close(actual, expected, rtol=1e-12):
    """Max deviation at most rtol × the largest |expected| entry."""
    actual, expected = np.asarray(actual, dtype=float), np.asarray(expected, dtype=float)
    assert actual.shape == expected.shape
    error, scale = np.abs(actual - expected).max(), np.abs(expected).max()
    assert error <= rtol * scale, f"max deviation {error:.3g} > {rtol:g} × {scale:.3g}"


# ---------------------------------------------------------------------------------------
# The function: f at the mapped point, its derivatives by the chain rule
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("rotation, scale", TRANSFORMS, ids=TRANSFORM_IDS)
def test_value_gradient_and_hessian_are_fs_at_the_mapped_point(name, rotation, scale):
    f = FUNCTIONS[name]()
    g = transform(f, rotation, scale)
    inverse = np.linalg.inv(matrix(rotation, scale))
    points = random_points(g)
    q = points @ inverse.T
    assert_close(g(points), f(q))
    assert_close(g.gradient(points), f.gradient(q) @ inverse)  # M⁻ᵀ ∇f, row-wise
    assert_close(g.hessian(points), inverse.T @ f.hessian(q) @ inverse)
    assert g.hessian(points).shape == (len(points), 2, 2)


def central_difference_gradient(f, points, h):
    return np.stack([(f(points + h * e) - f(points - h * e)) / (2 * h) for e in np.eye(2)], axis=-1)


def central_difference_hessian(f, points, h):
    columns = [(f.gradient(points + h * e) - f.gradient(points - h * e)) / (2 * h) for e in np.eye(2)]
    return np.stack(columns, axis=-1)


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("rotation, scale", TRANSFORMS, ids=TRANSFORM_IDS)
def test_derivatives_match_central_differences(name, rotation, scale):
    g = transform(FUNCTIONS[name](), rotation, scale)
    points = random_points(g, seed=1)
    h = 1e-6 * diagonal(g)
    assert_close(g.gradient(points), central_difference_gradient(g, points, h), RTOL)
    assert_close(g.hessian(points), central_difference_hessian(g, points, h), RTOL)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_identity_transform_is_the_same_function(name):
    f = FUNCTIONS[name]()
    g = transform(f)
    points = random_points(f)
    assert np.array_equal(g(points), f(points))
    assert np.array_equal(g.gradient(points), f.gradient(points))
    assert np.array_equal(g.hessian(points), f.hessian(points))
    assert g.minima == f.minima and g.domain == f.domain and g.f_min == f.f_min
    assert g.title == f.title and g.log_scale == f.log_scale


def test_composition_is_the_product_of_the_maps():
    f = get_function("rosenbrock")
    inner, outer = (30.0, (2.0, 1.0)), (-45.0, (1.0, 0.5))
    g = transform(transform(f, *inner), *outer)
    both = matrix(*outer) @ matrix(*inner)
    inverse = np.linalg.inv(both)
    points = random_points(g)
    q = points @ inverse.T
    assert_close(g(points), f(q))
    assert_close(g.gradient(points), f.gradient(q) @ inverse)
    assert_close(g.hessian(points), inverse.T @ f.hessian(q) @ inverse)
    assert_close([m.point for m in g.minima], [both @ m.point for m in f.minima])
    h = 1e-6 * diagonal(g)
    assert_close(g.hessian(points), central_difference_hessian(g, points, h), RTOL)
    # Two rotations are one.
    assert_close(transform(transform(f, 30), 15)(points), transform(f, 45)(points))


# ---------------------------------------------------------------------------------------
# Minima, domain, description
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("rotation, scale", TRANSFORMS, ids=TRANSFORM_IDS)
def test_minima_are_mapped(name, rotation, scale):
    f = FUNCTIONS[name]()
    g = transform(f, rotation, scale)
    M = matrix(rotation, scale)
    assert len(g.minima) == len(f.minima) > 0
    for mg, mf in zip(g.minima, f.minima):
        assert_close(mg.point, M @ mf.point)
        assert (mg.value, mg.is_global) == (mf.value, mf.is_global)
        assert isinstance(mg.point, tuple) and all(isinstance(v, float) for v in mg.point)
    assert g.f_min == f.f_min
    points = np.array([m.point for m in g.minima])
    assert np.all(np.abs(g(points) - np.array([m.value for m in f.minima])) <= 1e-9)


def test_rotations_are_counter_clockwise_and_quarter_turns_exact():
    f = get_function("rosenbrock")  # minimum at (1, 1)
    assert transform(f, 90).minima[0].point == (-1.0, 1.0)
    assert transform(f, 180).minima[0].point == (-1.0, -1.0)
    assert transform(f, -90).minima[0].point == (1.0, -1.0)
    assert transform(f, 0, (2, 3)).minima[0].point == (2.0, 3.0)
    points = random_points(f)
    assert np.array_equal(transform(f, 90)(points), f(np.stack([points[:, 1], -points[:, 0]], -1)))


def test_domain_is_the_bounding_box_of_the_mapped_domain():
    f = get_function("himmelblau")  # [−5, 5]²
    r = 5 * math.sqrt(2)
    np.testing.assert_allclose(transform(f, 45).domain, ((-r, r), (-r, r)), rtol=1e-15)
    assert transform(f, 0, (2, 0.5)).domain == ((-10.0, 10.0), (-2.5, 2.5))
    rosenbrock = get_function("rosenbrock")  # [−2, 2] × [−1, 3]
    g = transform(rosenbrock, 30, (2, 1))
    corners = np.array([[x, y] for x in rosenbrock.domain[0] for y in rosenbrock.domain[1]]) @ matrix(30, (2, 1)).T
    np.testing.assert_allclose(g.domain, [[corners[:, 0].min(), corners[:, 0].max()],
                                          [corners[:, 1].min(), corners[:, 1].max()]], rtol=1e-15)
    # The inner function's own (overridden) domain is the one mapped; an explicit domain wins.
    small = get_function("himmelblau", domain=((0, 1), (0, 2)))
    assert transform(small, 90).domain == ((-2.0, 0.0), (0.0, 1.0))
    assert transform(f, 30, domain=((-1, 1), (-2, 2))).domain == ((-1.0, 1.0), (-2.0, 2.0))


def test_description():
    f = get_function("rosenbrock")
    assert transform(f, 30).title == "Rosenbrock, rotated 30°"
    assert transform(f, 0, (2, 1)).title == "Rosenbrock, stretched ×2 along x"
    assert transform(f, 0, (1, 0.5)).title == "Rosenbrock, stretched ×0.5 along y"
    assert transform(f, 30, (2, 2)).title == "Rosenbrock, scaled ×2, then rotated 30°"
    assert transform(f, -15, (2, 3)).title == "Rosenbrock, stretched ×2 along x and ×3 along y, then rotated -15°"
    g = transform(f, 30, (2, 1))
    assert g.name == "transformed(rosenbrock, rotation=30, scale=(2, 1))"
    assert "R(30^\\circ)" in g.formula and r"\mathrm{diag}(2, 1)" in g.formula and f.formula in g.formula
    assert g.log_scale is True and transform(get_function("himmelblau"), 30).log_scale is False
    typed = transform(FUNCTIONS["typed"](), 30)
    assert typed.minima_are_estimated and not transform(f, 30).minima_are_estimated
    assert g.params == {"function": f, "rotation": 30.0, "scale": (2.0, 1.0)}


def test_a_frozen_hashable_dataclass():
    f = get_function("two_gaussians")
    g = transform(f, 30, [2, 1])
    assert isinstance(g, Transformed) and isinstance(g, core.TestFunction)
    assert g == transform(f, 30.0, (2.0, 1.0)) and hash(g) == hash(transform(f, 30.0, (2.0, 1.0)))
    assert g != transform(f, 31, (2, 1)) and g != transform(get_function("two_gaussians", a=1.0), 30, (2, 1))
    assert g.scale == (2.0, 1.0) and g.function is f
    assert len({g, transform(f, 30, (2, 1)), transform(f)}) == 2
    with pytest.raises(AttributeError):
        g.rotation = 0.0  # type: ignore[misc]


@pytest.mark.parametrize("arguments, message", [
    ({"scale": (0.0, 1.0)}, r"scale along x.*\[0.001, 1000.0\]"),
    ({"scale": (1.0, -2.0)}, r"scale along y.*\[0.001, 1000.0\]"),
    ({"scale": (1.0, 1e4)}, r"scale along y.*\[0.001, 1000.0\]"),
    ({"scale": (math.nan, 1.0)}, r"scale along x"),
    ({"scale": ("2", 1.0)}, r"scale along x"),
    ({"scale": (1.0,)}, r"scale must be a pair"),
    ({"scale": 2.0}, r"scale must be a pair"),
    ({"rotation": math.inf}, r"rotation.*\[-360.0, 360.0\]"),
    ({"rotation": math.nan}, r"rotation"),
    ({"rotation": 400}, r"rotation.*\[-360.0, 360.0\]"),
    ({"rotation": True}, r"rotation"),
    ({"domain": ((1, 0), (0, 1))}, r"xmin < xmax"),
])
def test_validation(arguments, message):
    with pytest.raises(ValueError, match=message):
        transform(get_function("rosenbrock"), **arguments)


def test_the_function_must_be_a_test_function():
    with pytest.raises(ValueError, match="TestFunction"):
        transform(lambda x, y: x * y, 30)  # type: ignore[arg-type]


def test_a_domain_beyond_the_limits_is_refused():
    with pytest.raises(ValueError, match="domain bounds"):
        transform(get_function("himmelblau", domain=((-1e5, 1e5), (-1, 1))), 0, (100, 1))


# ---------------------------------------------------------------------------------------
# A TestFunction like any other: core.run, core.analysis, core.inside
# ---------------------------------------------------------------------------------------
def test_run_analysis_and_inside_accept_it():
    f = get_function("two_gaussians")
    g = transform(f, 30, (2, 1))
    M = matrix(30, (2, 1))
    newton = get_optimizer("newton", lr=1.0)
    starts = np.array([[-1.0, 0.1], [0.9, -0.1]])  # in the left and the right well
    result_f = core.run(f, newton, starts, 20, record=False)
    result_g = core.run(g, newton, starts @ M.T, 20, record=False)
    assert list(result_g.outcome) == list(result_f.outcome) == [core.GLOBAL, core.LOCAL]
    assert list(result_g.minimum_index) == list(result_f.minimum_index)
    basins = basin_map(g, get_optimizer("sgd", lr=0.01), steps=50, resolution=21)
    assert basins.category.shape == (21, 21) and 0 < basins.share("global minimum") < 1
    path = trace(g, get_optimizer("adam", lr=0.05), start=M @ [0.5, 1.0], steps=30)
    assert path.points.shape == (31, 2) and path.diverged_at == -1


# ---------------------------------------------------------------------------------------
# The lesson: which optimizers move equivariantly
#
# On g = f ∘ M⁻¹ the gradient is ∇g(p) = M⁻ᵀ ∇f(M⁻¹p). With q = M⁻¹p, a gradient step on g,
# p ← p − γ ∇g(p), is q ← q − γ (MᵀM)⁻¹ ∇f(q) on f: plain gradient descent on f exactly when
# MᵀM = I (M a rotation), and with learning rate γ/s² when M = sR. Momentum and Nesterov are
# linear in the gradients (and weight decay, λp = M λq, rotates along): the same. Newton's step
# H_g⁻¹∇g = M H_f⁻¹ ∇f: equivariant under any M, while its saddle-free |H| and damping δI are
# so only under rotations, and its step floor |vᵀg| / L depends on the domain's diagonal L.
# Adam, RMSprop and Lion act coordinate by coordinate: a rotation mixes coordinates, so their
# path changes, except for quarter turns, which only swap coordinates and flip signs. A uniform
# scale s multiplies every gradient by 1/s: Adam's and RMSprop's m/(√v + ε) and Lion's sign(c)
# then give the same step with ε/s, so their path on g with lr sγ is s × their path with lr γ.
# ---------------------------------------------------------------------------------------
def starts_inside(f, count=16, seed=0, share=0.8) -> np.ndarray:
    """Random starts in the middle `share` of f's domain."""
    (x0, x1), (y0, y1) = f.domain
    rng = np.random.default_rng(seed)
    middle, half = np.array([x0 + x1, y0 + y1]) / 2, share * np.array([x1 - x0, y1 - y0]) / 2
    return middle + half * rng.uniform(-1, 1, (count, 2))


def path_deviation(f, g, M, optimizer_f, optimizer_g, starts, steps) -> float:
    """max |path on g from M s − M × path on f from s| / g's domain diagonal."""
    path_f = core.run(f, optimizer_f, starts, steps).points
    path_g = core.run(g, optimizer_g, starts @ M.T, steps).points
    assert np.all(np.isfinite(path_f)) and np.all(np.isfinite(path_g))
    return float(np.abs(path_g - path_f @ M.T).max() / diagonal(g))


LANDSCAPES = {  # functions whose paths below are not chaotic: rounding stays rounding
    "rosenbrock": lambda: get_function("rosenbrock", b=2.0, domain=((-1.5, 1.5), (-1.0, 3.0))),
    "two_gaussians": FUNCTIONS["two_gaussians"],
    "himmelblau": FUNCTIONS["himmelblau"],
    "typed": FUNCTIONS["typed"],
}
LINEAR = {  # optimizers whose step is linear in the gradients
    "sgd": {"lr": 0.01},
    "momentum": {"lr": 0.005, "momentum": 0.9, "weight_decay": 0.1},
    "nesterov": {"lr": 0.005, "momentum": 0.9},
}
PER_COORDINATE = {
    "adam": {"lr": 0.05, "eps": 1e-8},
    "rmsprop": {"lr": 0.003, "eps": 1e-8},
    "lion": {"lr": 0.02},
}


def small_lr(name, hyperparameters, f):
    """Himmelblau's gradients are ~10× the others': a tenth of the learning rate for the
    gradient-descent family, so that it does not diverge."""
    if name in LINEAR and f.name == "himmelblau":
        return {**hyperparameters, "lr": hyperparameters["lr"] / 10}
    return hyperparameters


@pytest.mark.parametrize("name", LINEAR)
@pytest.mark.parametrize("landscape", LANDSCAPES)
@pytest.mark.parametrize("rotation", [30.0, -135.0])
def test_gradient_descent_family_is_rotation_equivariant(name, landscape, rotation):
    f = LANDSCAPES[landscape]()
    g = transform(f, rotation)
    optimizer = get_optimizer(name, **small_lr(name, LINEAR[name], f))
    assert path_deviation(f, g, matrix(rotation, (1, 1)), optimizer, optimizer, starts_inside(f), 200) <= PATH_TOL


@pytest.mark.parametrize("name", LINEAR)
@pytest.mark.parametrize("landscape", LANDSCAPES)
def test_gradient_descent_family_under_a_uniform_scale_needs_lr_times_s_squared(name, landscape):
    f, s = LANDSCAPES[landscape](), 3.0
    g = transform(f, 30.0, (s, s))
    hyperparameters = small_lr(name, {**LINEAR[name], "weight_decay": 0.0}, f)
    on_g = get_optimizer(name, **{**hyperparameters, "lr": hyperparameters["lr"] * s * s})
    assert path_deviation(f, g, matrix(30.0, (s, s)), get_optimizer(name, **hyperparameters), on_g,
                          starts_inside(f), 200) <= PATH_TOL


@pytest.mark.parametrize("name", ["sgd", "momentum"])
def test_gradient_descent_is_not_equivariant_under_an_uneven_stretch(name):
    """With M = diag(2, 0.5), GD on g is GD on f with learning rates γ/4 along x and 4γ along y:
    no single learning rate on f gives its path."""
    f, (sx, sy) = LANDSCAPES["rosenbrock"](), (2.0, 0.5)
    g = transform(f, 0.0, (sx, sy))
    lr = LINEAR[name]["lr"]
    on_g = get_optimizer(name, **{**LINEAR[name], "weight_decay": 0.0})
    for lr_f in (lr, lr / sx**2, lr / sy**2):
        on_f = get_optimizer(name, **{**LINEAR[name], "weight_decay": 0.0, "lr": lr_f})
        assert path_deviation(f, g, matrix(0.0, (sx, sy)), on_f, on_g, starts_inside(f), 200) > APART


@pytest.mark.parametrize("landscape", LANDSCAPES)
def test_newton_is_rotation_equivariant_damped_and_saddle_free(landscape):
    """Saddle-free |H| and damping δI commute with rotations. Its step floor uses the domain's
    diagonal L, so g gets a domain of f's size (the default bounding box is larger)."""
    f = LANDSCAPES[landscape]()
    (x0, x1), (y0, y1) = f.domain
    g = transform(f, 30.0, domain=((-(x1 - x0) / 2, (x1 - x0) / 2), (-(y1 - y0) / 2, (y1 - y0) / 2)))
    newton = get_optimizer("newton", lr=0.5, damping=0.1)
    assert path_deviation(f, g, matrix(30.0, (1, 1)), newton, newton, starts_inside(f), 100) <= PATH_TOL


NEWTON_STARTS = {  # near minima, where the Hessian stays positive definite along Newton's path
    "rosenbrock": [[-1.2, 1.0], [0.5, 0.0], [1.4, 1.5], [0.0, -0.5]],
    "two_gaussians": [[-1.1, 0.1], [0.9, -0.05], [-0.9, -0.1]],
    "himmelblau": [[3.3, 1.7], [-2.5, 3.3], [-3.5, -3.0], [3.4, -2.2]],
    "typed": [[2.0, -1.0], [-2.5, 2.5], [0.3, 0.1]],
}


@pytest.mark.parametrize("landscape", LANDSCAPES)
@pytest.mark.parametrize("rotation, scale", [(30.0, (2.0, 0.5)), (-100.0, (0.3, 1.7))])
def test_undamped_newton_is_equivariant_under_any_linear_map(landscape, rotation, scale):
    """H_g⁻¹ ∇g = M H_f⁻¹ ∇f for any invertible M: Newton's plain step, wherever H_f is positive
    definite and the step floor is not reached (checked along f's path: each eigen-direction's
    step |vᵀ∇f| / λ shorter than the smaller domain diagonal)."""
    f = LANDSCAPES[landscape]()
    g = transform(f, rotation, scale)
    M, newton = matrix(rotation, scale), get_optimizer("newton", lr=0.5)
    starts = np.array(NEWTON_STARTS[landscape])
    points = core.run(f, newton, starts, 30).points.reshape(-1, 2)
    curvatures, vectors = np.linalg.eigh(f.hessian(points))
    assert np.all(curvatures > 0)
    steps_along = np.abs(np.einsum("nij,ni->nj", vectors, f.gradient(points))) / curvatures
    assert np.all(steps_along < min(diagonal(f), diagonal(g)))
    assert path_deviation(f, g, M, newton, newton, starts, 30) <= PATH_TOL


@pytest.mark.parametrize("name", PER_COORDINATE)
@pytest.mark.parametrize("landscape", LANDSCAPES)
def test_per_coordinate_optimizers_are_not_rotation_equivariant(name, landscape):
    f = LANDSCAPES[landscape]()
    g = transform(f, 30.0)
    optimizer = get_optimizer(name, **PER_COORDINATE[name])
    assert path_deviation(f, g, matrix(30.0, (1, 1)), optimizer, optimizer, starts_inside(f), 200) > APART


@pytest.mark.parametrize("name", PER_COORDINATE)
@pytest.mark.parametrize("landscape", LANDSCAPES)
@pytest.mark.parametrize("rotation", [90.0, 180.0, -90.0])
def test_per_coordinate_optimizers_are_equivariant_under_quarter_turns(name, landscape, rotation):
    """A quarter turn only swaps the coordinates and flips signs, which a per-coordinate rule
    (odd in g: m and sign(c) flip, v does not) follows exactly."""
    f = LANDSCAPES[landscape]()
    g = transform(f, rotation)
    optimizer = get_optimizer(name, **PER_COORDINATE[name])
    assert path_deviation(f, g, np.array(g.matrix), optimizer, optimizer, starts_inside(f), 200) <= PATH_TOL


@pytest.mark.parametrize("name", PER_COORDINATE)
@pytest.mark.parametrize("landscape", LANDSCAPES)
def test_per_coordinate_optimizers_under_a_uniform_scale_need_lr_times_s(name, landscape):
    """Gradients on g are 1/s of f's: m/(√v + ε) on g is f's m/(√v + sε), sign(c) unchanged. So
    lr sγ and ε/s on g give s × the path with lr γ and ε on f."""
    f, s = LANDSCAPES[landscape](), 3.0
    g = transform(f, 0.0, (s, s))
    hyperparameters = PER_COORDINATE[name]
    on_g = {**hyperparameters, "lr": hyperparameters["lr"] * s}
    if "eps" in hyperparameters:
        on_g["eps"] = hyperparameters["eps"] / s
    assert path_deviation(f, g, matrix(0.0, (s, s)), get_optimizer(name, **hyperparameters),
                          get_optimizer(name, **on_g), starts_inside(f), 100) <= PATH_TOL


SEPARABLE = {  # f(x, y) = u(x) + v(y): each coordinate's path depends on that coordinate alone
    "styblinski_tang": lambda: get_function("styblinski_tang"),
    "rastrigin": lambda: get_function("rastrigin", A=20.0, omega=1.0, domain=((-20, 20), (-20, 20))),
}


@pytest.mark.parametrize("name", [*PER_COORDINATE, "sgd", "momentum"])
@pytest.mark.parametrize("landscape", SEPARABLE)
def test_axis_aligned_stretch_of_a_separable_function(name, landscape):
    """Under M = diag(sx, sy), coordinate i of the path on g is s_i × coordinate i of the path on
    f with learning rate γ/s_i (Adam, RMSprop, Lion; ε × s_i) or γ/s_i² (gradient descent):
    per-coordinate methods measure steps in units of x, gradient descent in units of x²."""
    f, scale = SEPARABLE[landscape](), (2.5, 0.4)
    g = transform(f, 0.0, scale)
    if name in LINEAR:  # a fifth of the learning rate: Rastrigin's curvature is high; no weight decay
        hyperparameters, power = {**LINEAR[name], "lr": LINEAR[name]["lr"] / 5, "weight_decay": 0.0}, 2
    else:
        hyperparameters, power = PER_COORDINATE[name], 1
    starts = starts_inside(f)
    path_g = core.run(g, get_optimizer(name, **hyperparameters), starts * scale, 100).points
    for axis, s in enumerate(scale):
        on_f = {**hyperparameters, "lr": hyperparameters["lr"] / s**power}
        if "eps" in hyperparameters:
            on_f["eps"] = hyperparameters["eps"] * s
        path_f = core.run(f, get_optimizer(name, **on_f), starts, 100).points
        assert np.abs(path_g[..., axis] - s * path_f[..., axis]).max() <= PATH_TOL * diagonal(g)
