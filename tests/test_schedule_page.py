"""Schedules, L-BFGS, Newton and ASGD on a page (AppTest): what the sidebar offers, what the
URL keeps, what the table and the charts say."""

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import core
from app import schedules
from app.navigation import page_files

TIMEOUT = 60


def run_page(function_name: str, query: dict) -> AppTest:
    at = AppTest.from_file(str(page_files()[function_name]), default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def table(at: AppTest) -> pd.DataFrame:
    return at.dataframe[0].value


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(chart.proto.spec).get("title") for chart in at.get("vega_lite_chart")]


def test_a_schedule_from_the_url_runs_as_core_run_with_its_scheduler_and_is_charted():
    at = run_page("two_gaussians", {"start": "0.5,1", "opt": "momentum,adam", "adam.schedule": "cosine_annealing_lr",
                                    "adam.schedule.eta_min": "0.001", "momentum.schedule": "one_cycle_lr"})
    assert not at.exception and not at.warning
    rows = table(at).set_index("optimizer")
    assert rows.loc["Adam", "lr schedule"] == "cosine annealing (T_max 100, eta_min 0.001)"
    assert rows.loc["Momentum", "lr schedule"].startswith("one cycle (max_lr 0.01, total_steps 200")
    # the page's run is core.run with the scheduler, from the same start
    function = core.get_function("two_gaussians")
    adam = core.get_optimizer("adam", lr=0.01, betas=(0.7, 0.999), eps=1e-6, bias_correction=False)
    expected = core.run(function, adam, (0.5, 1.0), 100,
                        scheduler=core.get_scheduler("cosine_annealing_lr", T_max=100, eta_min=0.001))
    assert rows.loc["Adam", "final x"] == pytest.approx(expected.final[0, 0], abs=1e-12)
    titles = chart_titles(at)
    assert "learning rate" in titles and "momentum (β₁)" in titles  # one-cycle cycles the momentum
    # the URL keeps only what differs from the schedule's starting arguments
    assert at.query_params["adam.schedule"] == "cosine_annealing_lr"
    assert at.query_params["adam.schedule.eta_min"] == "0.001"
    assert "adam.schedule.T_max" not in at.query_params


def test_without_schedules_there_is_no_schedule_chart_nor_column():
    at = run_page("two_gaussians", {"start": "0.5,1"})
    assert "lr schedule" not in table(at)
    assert "learning rate" not in chart_titles(at)


def test_choosing_a_schedule_in_the_sidebar_fits_it_to_the_run_and_writes_the_url():
    at = run_page("rosenbrock", {"start": "-1,2", "opt": "adam"})
    at.selectbox(key="rosenbrock.w.adam.schedule").set_value("step_lr").run()
    assert not at.exception
    steps = int(table(at).loc[0, "steps"])
    assert at.number_input(key="rosenbrock.w.adam.schedule.step_lr.step_size").value == steps // 3
    assert at.query_params["adam.schedule"] == "step_lr"
    at.number_input(key="rosenbrock.w.adam.schedule.step_lr.gamma").set_value(0.5).run()
    assert table(at).loc[0, "lr schedule"] == f"step decay (step_size {steps // 3}, gamma 0.5)"
    assert at.query_params["adam.schedule.gamma"] == "0.5"
    at.selectbox(key="rosenbrock.w.adam.schedule").set_value("none").run()
    assert "adam.schedule" not in at.query_params and "lr schedule" not in table(at)


@pytest.mark.parametrize("query, problem, kept", [
    ({"adam.schedule": "warp_lr"}, "unknown schedule", None),
    ({"adam.schedule": "step_lr", "adam.schedule.gamma": "-1"}, "accepted range", "step decay (step_size 33)"),
    ({"adam.schedule": "step_lr", "adam.schedule.warp": "1"}, "has no argument", "step decay (step_size 33)"),
    ({"adam.schedule.gamma": "0.5"}, "no adam.schedule given", None),
    ({"adam.schedule": "cyclic_lr", "adam.schedule.mode": "zigzag"}, "expected one of triangular",
     "cyclic (base_lr 0.001, max_lr 0.01, step_size_up 12)"),
    ({"sgd.schedule": "one_cycle_lr"}, "must support momentum or beta1", None),
    ({"adam.schedule": "one_cycle_lr", "adam.schedule.total_steps": "10"}, "total_steps", None),
])
def test_a_bad_schedule_in_the_url_is_ignored_with_a_warning(query, problem, kept):
    """Each bad part is dropped (the schedule keeps its starting value there); a schedule that
    cannot run with its optimizer is dropped whole."""
    at = run_page("two_gaussians", {"start": "0.5,1", "opt": "adam,sgd", **query})
    assert not at.exception and not at.error
    assert any(problem in w.value and "Ignored URL parameter" in w.value for w in at.warning), \
        [w.value for w in at.warning]
    shown = set(table(at)["lr schedule"]) if "lr schedule" in table(at) else {"constant"}
    assert shown == ({"constant", kept} if kept else {"constant"})


def test_lbfgs_with_a_line_search_from_the_url_counts_its_evaluations():
    at = run_page("rosenbrock", {"start": "-1.2,1", "opt": "lbfgs,newton,adam",
                                 "lbfgs.line_search_fn": "strong_wolfe", "lbfgs.max_eval": "25"})
    assert not at.exception and not at.warning
    assert at.selectbox(key="rosenbrock.w.lbfgs.line_search_fn").value == "strong_wolfe"
    rows = table(at).set_index("optimizer")
    steps = int(rows.loc["L-BFGS", "steps"])
    state = at.session_state["rosenbrock.state"]  # the page's settings (its preset's lr among them)
    lbfgs = core.get_optimizer("lbfgs", **state.hyperparameters["lbfgs"])
    assert (lbfgs.line_search_fn, lbfgs.max_eval) == ("strong_wolfe", 25)
    evaluations = core.inside.trace(core.get_function("rosenbrock", **state.function_params),
                                    lbfgs, (-1.2, 1.0), steps).internals["evaluations"]
    assert rows.loc["L-BFGS", "evaluations"].startswith(f"{int(np.sum(evaluations)):,} f & ∇f")
    assert rows.loc["Newton", "evaluations"] == f"{steps:,} ∇f + {steps:,} Hessians"
    assert rows.loc["Adam", "evaluations"] == f"{int(rows.loc['Adam', 'steps']):,} ∇f"
    at.selectbox(key="rosenbrock.w.lbfgs.line_search_fn").set_value(None).run()
    assert "lbfgs.line_search_fn" not in at.query_params


def test_a_bad_choice_in_the_url_names_the_choices():
    at = run_page("rosenbrock", {"start": "-1.2,1", "opt": "lbfgs", "lbfgs.line_search_fn": "backtracking"})
    assert any("expected one of none, strong_wolfe" in w.value for w in at.warning)


def test_every_schedule_starts_valid_for_every_step_count_the_page_allows():
    for name in core.SCHEDULERS:
        for steps in (1, 2, 3, 7, 300, 5000):
            schedule = schedules.starting_arguments(name, 0.01, steps)
            optimizer = core.get_optimizer("adam", lr=0.01)
            assert schedules.problem(schedule, optimizer, steps) is None, (name, steps)


def test_stability_from_the_url_charts_each_run_and_counts_its_unstable_steps():
    """SGD with lr 0.1 on the bowl bounces across a well: 96 of its 200 steps are above 2/λ_max."""
    at = run_page("two_gaussians", {"start": "0.5,1", "opt": "sgd,adam,lion", "sgd.lr": "0.1", "sgd.steps": "200",
                                    "stability.on": "true"})
    assert not at.exception and not at.warning
    assert at.toggle(key="two_gaussians.show_stability").value
    assert "stability (above 1: unstable)" in chart_titles(at)
    function = core.get_function("two_gaussians")
    expected = core.stability(function, core.get_optimizer("sgd", lr=0.1), (0.5, 1.0), 200)
    text = " ".join(m.value for m in at.markdown)
    assert f"**SGD**: {int(expected.unstable.sum()):,} unstable steps" in text and expected.unstable.sum() == 96
    assert "No quadratic limit for Lion" in text
    at.toggle(key="two_gaussians.show_stability").set_value(False).run()
    assert "stability (above 1: unstable)" not in chart_titles(at)
    assert "stability.on" not in at.query_params


def test_a_rotated_and_stretched_landscape_from_the_url_is_core_transform_and_says_so():
    at = run_page("booth", {"start": "-2,3", "opt": "sgd", "rotate": "30", "stretch": "2,1", "sgd.steps": "50"})
    assert not at.exception and not at.warning
    assert any("Stretched ×2 along x, then rotated 30°" in c.value for c in at.caption)
    state = at.session_state["booth.state"]
    function = core.transform(core.get_function("booth"), rotation=30, scale=(2, 1))
    expected = core.run(function, core.get_optimizer("sgd", **state.hyperparameters.get("sgd", {})), (-2.0, 3.0), 50)
    row = table(at).iloc[0]
    assert (row["final x"], row["final y"]) == pytest.approx(tuple(expected.final[0]), abs=1e-12)
    assert at.slider(key="booth.w.rotation").value == 30
    at.slider(key="booth.w.rotation").set_value(0.0).run()
    at.number_input(key="booth.w.stretch.x").set_value(1.0).run()
    assert "rotate" not in at.query_params and "stretch" not in at.query_params
    assert not any("rotated" in c.value for c in at.caption)


@pytest.mark.parametrize("query, problem", [({"rotate": "abc"}, "could not convert"), ({"rotate": "1e9"}, "rotation"),
                                            ({"stretch": "0,1"}, "accepted range"), ({"stretch": "2"}, "stretch")])
def test_a_bad_rotation_or_stretch_in_the_url_is_ignored_with_a_warning(query, problem):
    at = run_page("booth", {"start": "1,3", **query})
    assert not at.exception and not at.error
    assert any(problem in w.value for w in at.warning), [w.value for w in at.warning]
    assert not any("rotated" in c.value or "Stretched" in c.value for c in at.caption)


def test_a_rotation_beyond_half_a_turn_is_the_same_turn():
    at = run_page("booth", {"start": "1,3", "rotate": "330"})
    assert at.slider(key="booth.w.rotation").value == -30
