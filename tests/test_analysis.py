"""Basins, success shares and learning-rate sweeps (core.analysis) against core.run."""

import numpy as np
import pytest

import core
from app.presets import ARTICLE_SETTINGS
from core import analysis


def article_optimizer(name):
    hyperparameters, steps = ARTICLE_SETTINGS[name]
    return core.get_optimizer(name, **hyperparameters), steps


@pytest.fixture(scope="module")
def bowl():
    return core.get_function("two_gaussians")


@pytest.mark.parametrize("name", ["sgd", "adam"])
def test_basin_map_agrees_with_run_on_sampled_starts(bowl, name):
    optimizer, steps = article_optimizer(name)
    basins = analysis.basin_map(bowl, optimizer, steps, resolution=61)
    rng = np.random.default_rng(1)
    rows, columns = rng.integers(0, 61, 40), rng.integers(0, 61, 40)
    starts = np.column_stack([basins.xs[columns], basins.ys[rows]])
    result = core.run(bowl, optimizer, starts, steps)
    expected = analysis.categories(result, len(bowl.minima))
    np.testing.assert_array_equal(basins.category[rows, columns], expected)
    np.testing.assert_array_equal(basins.steps_to_converge[rows, columns], result.steps_to_converge)


def test_summary_shares_add_up_and_match_the_categories(bowl):
    optimizer, steps = article_optimizer("momentum")
    basins = analysis.basin_map(bowl, optimizer, steps, resolution=41)
    summary = basins.summary()
    total = sum(summary[name] for name in core.OUTCOME_NAMES)
    assert total == pytest.approx(1.0)
    assert summary["global minimum"] == pytest.approx(basins.share("global minimum"))
    assert 0 < summary["median steps"] < steps


def test_adam_wins_and_the_shares_are_stable_when_the_grid_is_refined(bowl):
    shares = {}
    for resolution in (201, 401):
        shares[resolution] = {name: analysis.basin_map(bowl, *article_optimizer(name), resolution=resolution)
                              .share("global minimum") for name in ARTICLE_SETTINGS}
    for resolution, by_name in shares.items():
        assert max(by_name, key=by_name.get) == "adam", (resolution, by_name)
    for name in ARTICLE_SETTINGS:
        assert abs(shares[201][name] - shares[401][name]) < 0.01, (name, shares)


def test_lr_sweep_agrees_with_single_runs_and_finds_divergence(bowl):
    starts = analysis.sweep_starts(bowl, 50, seed=3)
    optimizer, steps = article_optimizer("momentum")
    lrs = [0.001, 0.01, 100.0]
    sweep = analysis.lr_sweep(bowl, optimizer, steps, lrs, starts)
    for i, lr in enumerate(lrs):
        result = core.run(bowl, core.get_optimizer("momentum", lr=lr, momentum=0.8), starts, steps)
        assert sweep["global_share"][i] == np.mean(result.outcome == core.GLOBAL)
        assert sweep["diverged_share"][i] == np.mean(result.diverged)
    assert sweep["diverged_share"][-1] == 1.0 and np.isnan(sweep["median_final_loss"][-1])
    assert sweep["diverged_share"][1] == 0.0


def test_noise_changes_the_map_reproducibly(bowl):
    optimizer, steps = article_optimizer("sgd")
    quiet = analysis.basin_map(bowl, optimizer, steps, resolution=31)
    noisy = analysis.basin_map(bowl, optimizer, steps, resolution=31, noise=2.0, seed=7)
    again = analysis.basin_map(bowl, optimizer, steps, resolution=31, noise=2.0, seed=7)
    np.testing.assert_array_equal(noisy.category, again.category)
    assert (noisy.category != quiet.category).any()


def test_grid_resolution_is_bounded(bowl):
    with pytest.raises(ValueError, match="resolution"):
        analysis.grid_starts(bowl, 10**6)


def test_a_function_undefined_everywhere_ends_every_run_undefined_and_the_map_says_so():
    function = core.get_function("custom", expression="log(-x**2-1-y**2)", domain=((-2.0, 2.0), (-2.0, 2.0)))
    basins = analysis.basin_map(function, core.get_optimizer("adam", lr=0.05), 100, resolution=11)
    assert basins.labels[-1] == "undefined"
    assert basins.summary()["undefined"] == 1.0 and basins.summary()["not converged"] == 0.0
