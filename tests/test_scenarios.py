"""Every guided scenario sets its page up as it says, and what it tells the user to watch for
happens: its runs are made from the state its link produces (app.state.from_query), with
the engine the page uses."""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import core
from app.navigation import page_files
from app.scenarios import SCENARIOS
from app.state import VIEW_CHOICES, from_query, to_query
from core import FUNCTION_CLASSES


def scenario_state(key: str):
    scenario = SCENARIOS[key]
    state, warnings = from_query({"guide": key}, scenario.function, FUNCTION_CLASSES[scenario.function])
    assert warnings == []
    return state


def scenario_runs(key: str) -> tuple[core.functions.TestFunction, dict[str, core.RunResult]]:
    """The function and each enabled optimizer's run, as the page makes them."""
    state = scenario_state(key)
    function = core.get_function(SCENARIOS[key].function, **state.function_params)
    runs = {name: core.run(function, core.get_optimizer(name, **state.hyperparameters.get(name, {})), state.start,
                           int(state.steps.get(name, 300)), noise=state.noise, seed=state.seed)
            for name in state.enabled}
    return function, runs


def ends_in(function, result) -> str:
    """"left"/"right" global/poorer minimum of the bowl, by the minimum the run ends at."""
    index = int(result.minimum_index[0])
    assert index >= 0, result.outcome_names
    return "global" if function.minima[index].is_global else "local"


def turns_around_end(points: np.ndarray) -> float:
    """How many times the path winds around its end point (a spiral winds ≥ 1)."""
    offsets = points[:-1] - points[-1]
    offsets = offsets[np.hypot(*offsets.T) > 1e-3]  # the last steps' angles are rounding noise
    angles = np.unwrap(np.arctan2(offsets[:, 1], offsets[:, 0]))
    return float(abs(angles[-1] - angles[0]) / (2 * np.pi))


@pytest.mark.parametrize("key", list(SCENARIOS))
def test_every_scenario_opens_its_page_with_its_settings(key):
    scenario = SCENARIOS[key]
    state = scenario_state(key)
    assert state.scenario == key and state.start is not None
    query = to_query(state, scenario.function, FUNCTION_CLASSES[scenario.function])
    assert query["scenario"] == key
    for name, value in scenario.query.items():  # the page's own address keeps the scenario's settings
        assert query.get(name, VIEW_CHOICES.get(name, (value,))[0]) == value, name
    # ... and reading that address again gives the same state
    again, warnings = from_query(query, scenario.function, FUNCTION_CLASSES[scenario.function])
    assert warnings == [] and again == state
    assert scenario.function in page_files()
    assert scenario.watch and (scenario.says or not scenario.from_article)


def test_a_scenario_of_another_page_is_refused_with_a_warning():
    state, warnings = from_query({"guide": "rastrigin-momentum"}, "two_gaussians", FUNCTION_CLASSES["two_gaussians"])
    assert state.scenario is None and state.start is None
    assert warnings == ["Ignored URL parameter “scenario”: no such guided scenario on this page."]
    state, warnings = from_query({"scenario": "nonsense"}, "two_gaussians", FUNCTION_CLASSES["two_gaussians"])
    assert state.scenario is None and len(warnings) == 1


def test_different_minima_sgd_and_momentum_right_rmsprop_and_adam_left():
    function, runs = scenario_runs("different-minima")
    assert {name: ends_in(function, r) for name, r in runs.items()} == {
        "sgd": "local", "momentum": "local", "rmsprop": "global", "adam": "global"}


def test_only_adam_reaches_the_global_minimum():
    function, runs = scenario_runs("only-adam")
    assert {name: ends_in(function, r) for name, r in runs.items()} == {
        "sgd": "local", "momentum": "local", "rmsprop": "local", "adam": "global"}


def test_momentum_spirals_and_sgd_walks_straight_in():
    _, runs = scenario_runs("momentum-spirals")
    assert set(runs) == {"sgd", "momentum"}
    assert turns_around_end(runs["momentum"].points[:, 0]) >= 1.0
    assert turns_around_end(runs["sgd"].points[:, 0]) < 0.5


def test_rastrigin_momentum_reaches_the_origin_the_others_one_and_the_same_local_minimum():
    _, runs = scenario_runs("rastrigin-momentum")
    assert runs["momentum"].outcome_names == ["global minimum"]
    others = [runs[name].final[0] for name in ("sgd", "rmsprop", "adam")]
    assert all(runs[name].outcome_names == ["other minimum"] for name in ("sgd", "rmsprop", "adam"))
    np.testing.assert_allclose(others, [others[0]] * 3, atol=0.05)


def test_rosenbrock_all_four_reach_the_minimum():
    _, runs = scenario_runs("rosenbrock-valley")
    assert len(runs) == 4
    for name, result in runs.items():
        assert result.outcome_names == ["global minimum"], name


def test_saddle_sgd_lingers_momentum_and_adam_leave_sooner_rmsprop_at_once():
    _, runs = scenario_runs("saddle")
    leaves = {name: int(np.argmax(np.abs(r.points[:, 0, 1]) > 0.5)) for name, r in runs.items()}
    assert 150 <= leaves["sgd"] <= 250  # "about 200 steps"
    assert 30 <= leaves["momentum"] <= 55 and 30 <= leaves["adam"] <= 55  # "about 40"
    assert 1 <= leaves["rmsprop"] <= 10  # "within a few steps"


def test_a_learning_rate_too_large_bounces_across_the_valley():
    function, runs = scenario_runs("lr-too-large")
    (result,) = runs.values()
    assert result.outcome_names == ["not converged"]
    y = result.points[-20:, 0, 1]
    assert np.all(np.sign(y[1:]) != np.sign(y[:-1])) and np.all(np.abs(y) > 0.09)  # side to side, every step


def test_noisy_gradients_change_the_paths_and_knock_momentum_over():
    state = scenario_state("gradient-noise")
    assert state.noise == 1.0
    function, noisy = scenario_runs("gradient-noise")
    _, clean = scenario_runs("different-minima")
    for name in noisy:
        assert np.abs(noisy[name].points - clean[name].points[: len(noisy[name].points)]).max() > 0.05
    assert ends_in(function, clean["momentum"]) == "local"
    assert np.linalg.norm(noisy["momentum"].final[0] - function.global_minima[0].point) < 0.1
    sides = {np.sign(core.run(function, core.get_optimizer("momentum", **state.hyperparameters["momentum"]),
                              state.start, state.steps["momentum"], noise=1.0, seed=seed).final[0, 0])
             for seed in range(6)}
    assert sides == {-1.0, 1.0}  # "where the paths end changes from draw to draw"


def test_the_basins_scenario_opens_its_tab_with_the_basins_on():
    at = AppTest.from_file(str(page_files()["two_gaussians"]), default_timeout=120)
    at.query_params["guide"] = "adam-most-starts"
    at.run()
    assert not at.exception
    assert at.session_state["two_gaussians.tabs"] == "Basins & success rates"
    assert at.toggle(key="two_gaussians.basins_go.on").value is True
    assert any("Adam is the algorithm that converges" in m.value for m in at.markdown)
    assert at.query_params["scenario"] == "adam-most-starts" and "guide" not in at.query_params
    assert len(at.dataframe) >= 1  # the success table


def test_the_colours_a_scenario_names_are_the_paths_colours():
    from app.figures import OPTIMIZER_COLORS

    colour_words = {"black": "#000000", "blue": "#1f4fd8", "red": "#d62728", "green": "#2ca02c"}
    titles = {core.OPTIMIZER_CLASSES[name].title: name for name in core.OPTIMIZERS}
    named = 0
    for scenario in SCENARIOS.values():
        for text in (scenario.says, scenario.watch):
            for title, word in re.findall(r"(\w+) \((?:in )?(\w+)\)", text):  # "Adam (in green)"
                if title in titles and word in colour_words:
                    assert OPTIMIZER_COLORS[titles[title]] == colour_words[word], (scenario.key, title, word)
                    named += 1
    assert named >= 3
