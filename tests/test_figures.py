"""The landscape figure's settings that a person sees: colours that can be told apart."""

import itertools

import numpy as np

import core
from app.figures import OPTIMIZER_COLORS, figure_height


def cielab(colour: str) -> np.ndarray:
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    rgb = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_every_optimizer_has_its_own_colour_and_the_article_keeps_its_four():
    assert set(OPTIMIZER_COLORS) == set(core.OPTIMIZERS)
    assert [OPTIMIZER_COLORS[n] for n in ("sgd", "momentum", "rmsprop", "adam")] == \
        ["#000000", "#1f4fd8", "#d62728", "#2ca02c"]
    closest = min(np.linalg.norm(cielab(a) - cielab(b)) for a, b in itertools.combinations(OPTIMIZER_COLORS.values(), 2))
    assert closest > 20, closest  # ΔE > 20: clearly different colours side by side


def test_the_figure_height_follows_the_domain_s_aspect_ratio():
    square, wide = core.get_function("two_gaussians"), core.get_function("six_hump_camel")
    assert figure_height(square) == 640  # the tallest: a square domain
    (x0, x1), (y0, y1) = wide.domain
    assert (y1 - y0) < (x1 - x0) and figure_height(wide) < 600  # no empty bands above and below


def test_the_contour_grid_follows_the_function_s_frequency():
    from app.compute import GRID_RESOLUTIONS, contour_resolution

    assert contour_resolution(core.get_function("levi13")) == 300  # sin²(3πy) ripples: stripes on 150
    assert contour_resolution(core.get_function("two_gaussians")) == GRID_RESOLUTIONS[0] == 100  # smooth
    assert contour_resolution(core.get_function("rosenbrock")) == 100


def test_a_fine_grid_is_drawn_as_a_heatmap_which_the_component_can_fill():
    import json

    from app.compute import contour_resolution
    from app.figures import CONTOUR_MAX_RESOLUTION, landscape_base

    function = core.get_function("levi13")
    resolution = contour_resolution(function)
    xs, ys, z = function.grid(resolution)
    trace = json.loads("[" + landscape_base(function, (xs, ys, np.asarray(z)))[0] + "]")[0]
    assert resolution > CONTOUR_MAX_RESOLUTION and trace["type"] == "heatmap" and len(trace["z"]) == resolution


def test_the_legend_leaves_the_start_and_the_paths_visible():
    from app.figures import Path, _legend_corner

    rosenbrock = core.get_function("rosenbrock", b=2.0, domain=((-1.5, 1.5), (-1.0, 3.0)))
    path = Path("sgd", "SGD", "#000000", np.array([[-1.2, 2.8], [0.0, 0.0], [1.0, 1.0]]), np.zeros(3), np.zeros(3))
    assert _legend_corner(rosenbrock, [path], (-1.2, 2.8)) == {"y": 0.01, "yanchor": "bottom"}  # start top-left
    elsewhere = Path("sgd", "SGD", "#000000", np.array([[1.0, -0.5], [1.0, 1.0]]), np.zeros(2), np.zeros(2))
    assert _legend_corner(rosenbrock, [elsewhere], (1.0, -0.5)) == {"y": 0.99, "yanchor": "top"}
    assert _legend_corner(rosenbrock, [], None) == {"y": 0.99, "yanchor": "top"}
