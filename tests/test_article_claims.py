"""The 2018 article's claims, with its exact settings (../shared/seed/original-settings.md):
the four optimizers as coded (app.presets.ARTICLE_SETTINGS), on its three functions.

1. Two-gaussian bowl: from the same start SGD and Momentum often end in the poorer (right)
   minimum while RMSProp and Adam reach the global (left) one.
2. Of the four, Adam reaches the global minimum from the most starting points.
4. Rastrigin (A = 20, ω = 1 on [−20, 20]², RMSProp and Adam with lr 0.1): momentum's speed
   carries it through the bumps to the global minimum; the others stop in one and the same
   local minimum.
5. Rosenbrock (b = 2 on x ∈ [−1.5, 1.5], y ∈ [−1, 3], 1000 steps for all four): all reach
   the global minimum (1, 1), the adaptive and the non-adaptive ones by different paths.

Each test can fail: the settings are the article's, not chosen to pass (e.g. torch's default
Adam, with bias correction and β₁ = 0.9, does not make claim 1 hold at these starts).
"""

from __future__ import annotations

import numpy as np
import pytest

import core
from app.presets import ARTICLE_SETTINGS

ORDER = ("sgd", "momentum", "rmsprop", "adam")
BOWL = core.get_function("two_gaussians")
RASTRIGIN = core.get_function("rastrigin", A=20.0, omega=1.0, domain=((-20.0, 20.0), (-20.0, 20.0)))
ROSENBROCK = core.get_function("rosenbrock", b=2.0, domain=((-1.5, 1.5), (-1.0, 3.0)))


def article_optimizers(lr=None, steps=None):
    """name -> (optimizer, steps) with the article's settings, and a page's changes."""
    out = {}
    for name in ORDER:
        hyperparameters, count = ARTICLE_SETTINGS[name]
        hyperparameters = {**hyperparameters, **({"lr": lr[name]} if lr and name in lr else {})}
        out[name] = (core.get_optimizer(name, **hyperparameters), steps or count)
    return out


def grid(function, resolution):
    (x0, x1), (y0, y1) = function.domain
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


def test_the_settings_are_the_articles():
    assert ARTICLE_SETTINGS["sgd"] == ({"lr": 0.02}, 500)
    assert ARTICLE_SETTINGS["momentum"] == ({"lr": 0.01, "momentum": 0.8}, 200)
    assert ARTICLE_SETTINGS["rmsprop"] == ({"lr": 0.01, "alpha": 0.99, "eps": 1e-6}, 300)
    assert ARTICLE_SETTINGS["adam"] == ({"lr": 0.01, "betas": (0.7, 0.999), "eps": 1e-6, "bias_correction": False}, 100)
    assert BOWL.params == {"a": 2.0, "b": 3.0, "c": 0.2, "d": 0.2}


# ---------------------------------------------------------------------------------------
# The two-gaussian bowl
# ---------------------------------------------------------------------------------------
def bowl_minima():
    minima = BOWL.minima
    left = min(range(len(minima)), key=lambda i: minima[i].point[0])
    right = max(range(len(minima)), key=lambda i: minima[i].point[0])
    assert minima[left].is_global and not minima[right].is_global
    np.testing.assert_allclose(minima[left].point, (-0.9363, 0.0), atol=1e-4)
    np.testing.assert_allclose(minima[right].point, (0.9053, 0.0), atol=1e-4)
    return left, right


@pytest.fixture(scope="module")
def bowl_grid():
    """Where each optimizer ends from each start of a 101x101 grid."""
    starts = grid(BOWL, 101)
    return starts, {name: core.run(BOWL, optimizer, starts, steps, record=False)
                    for name, (optimizer, steps) in article_optimizers().items()}


@pytest.mark.parametrize("start", [(1.0, -2.0), (1.0, 2.0), (1.2, 1.9), (0.96, -2.0)])
def test_claim_1_sgd_and_momentum_end_right_rmsprop_and_adam_left(start):
    left, right = bowl_minima()
    ends = {name: core.run(BOWL, optimizer, start, steps) for name, (optimizer, steps) in article_optimizers().items()}
    assert [int(ends[name].minimum_index[0]) for name in ORDER] == [right, right, left, left]
    assert ends["adam"].outcome_names == ends["rmsprop"].outcome_names == ["global minimum"]
    assert ends["sgd"].outcome_names == ends["momentum"].outcome_names == ["other minimum"]


def test_claim_1_on_a_grid(bowl_grid):
    """Counted over the grid: the article's pattern (SGD, Momentum right; RMSProp, Adam left)
    is common, the opposite pattern does not occur."""
    left, right = bowl_minima()
    _, ends = bowl_grid
    index = {name: result.minimum_index for name, result in ends.items()}

    def pattern(plain, adaptive):
        return ((index["sgd"] == plain) & (index["momentum"] == plain)
                & (index["rmsprop"] == adaptive) & (index["adam"] == adaptive))

    claimed, opposite = pattern(plain=right, adaptive=left), pattern(plain=left, adaptive=right)
    assert claimed.sum() >= 0.04 * len(claimed)  # 640 of 10201 starts
    assert opposite.sum() == 0


def test_claim_2_adam_reaches_the_global_minimum_from_the_most_starts(bowl_grid):
    _, ends = bowl_grid
    reached = {name: int(np.sum(result.outcome == core.GLOBAL)) for name, result in ends.items()}
    assert reached["adam"] == max(reached.values())
    assert all(reached["adam"] > reached[name] for name in ORDER if name != "adam"), reached
    assert not any(result.diverged.any() for result in ends.values())


# ---------------------------------------------------------------------------------------
# Rastrigin: momentum goes through, the others stop in the same local minimum
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("start", [(-20.0, -20.0), (15.0, 15.0), (20.0, 0.0), (0.0, -15.0)])
def test_claim_4_rastrigin_momentum_reaches_the_origin(start):
    ends = {name: core.run(RASTRIGIN, optimizer, start, steps)
            for name, (optimizer, steps) in article_optimizers(lr={"rmsprop": 0.1, "adam": 0.1}).items()}
    assert ends["momentum"].outcome_names == ["global minimum"]
    assert np.linalg.norm(ends["momentum"].final[0]) < 1e-6
    stuck = np.array([ends[name].final[0] for name in ("sgd", "rmsprop", "adam")])
    assert all(ends[name].outcome_names == ["other minimum"] for name in ("sgd", "rmsprop", "adam"))
    assert np.max(np.linalg.norm(stuck - stuck[0], axis=1)) < 1e-3  # one and the same minimum
    assert np.linalg.norm(stuck[0]) > 5  # a well near (±5.68, ±5.68) or on an axis, not the origin
    np.testing.assert_allclose(np.abs(stuck[0][stuck[0] != 0]), 5.6792, atol=1e-3)


# ---------------------------------------------------------------------------------------
# Rosenbrock: all four reach (1, 1)
# ---------------------------------------------------------------------------------------
ROSENBROCK_STARTS = [(-1.0, 2.5), (-1.4, 1.0), (0.0, 2.5), (-0.5, -0.5), (1.4, -0.5), (0.5, 2.0)]


def test_claim_5_rosenbrock_all_reach_the_minimum_by_different_paths():
    starts = np.array(ROSENBROCK_STARTS)
    assert ROSENBROCK.minima[0].point == (1.0, 1.0)
    runs = {name: core.run(ROSENBROCK, optimizer, starts, steps)
            for name, (optimizer, steps) in article_optimizers(steps=1000).items()}
    for name, result in runs.items():
        assert result.outcome_names == ["global minimum"] * len(starts), name
        np.testing.assert_allclose(result.final, np.ones_like(starts), atol=0.02, err_msg=name)
    # The adaptive ones (per-coordinate step sizes) take other routes than the plain ones: as
    # curves, Adam's and SGD's paths are apart (Hausdorff distance) by 0.13 to 0.43 here.
    for i in range(len(starts)):
        assert path_distance(runs["adam"].points[:, i], runs["sgd"].points[:, i]) > 0.1, starts[i]
        assert path_distance(runs["rmsprop"].points[:, i], runs["momentum"].points[:, i]) > 0.1, starts[i]


def path_distance(a, b):
    """Hausdorff distance between two paths (T+1, 2) seen as sets of points."""
    distances = np.linalg.norm(a[:, None] - b[None], axis=-1)
    return max(distances.min(axis=1).max(), distances.min(axis=0).max())
