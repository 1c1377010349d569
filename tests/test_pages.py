"""AppTest (streamlit.testing.v1): every page renders; injected starts, presets and URLs."""

import math
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import core
from app.navigation import ROOT, page_files
from app.presets import ARTICLE_SETTINGS

TIMEOUT = 60


def page_app(function_name: str) -> AppTest:
    return AppTest.from_file(str(page_files()[function_name]), default_timeout=TIMEOUT)


def with_start(function_name: str, x: float, y: float, query: dict | None = None) -> AppTest:
    at = page_app(function_name)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.session_state[f"{function_name}.start_x"] = x
    at.session_state[f"{function_name}.start_y"] = y
    return at.run()


def results(at: AppTest):
    return at.dataframe[0].value


def test_every_function_has_a_small_page_file():
    files = page_files()
    builtin = [name for name in core.FUNCTIONS if name != "custom"]
    assert set(builtin) <= set(files), f"missing pages: {set(builtin) - set(files)}"
    for name, path in files.items():
        lines = [line for line in path.read_text().splitlines() if line.strip()]
        assert len(lines) <= 4, f"{path.name} should only call the shared builder"


def test_home_page_renders_with_a_link_per_function():
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "click anywhere" in at.markdown[0].value.lower()


@pytest.mark.parametrize("function_name", sorted(page_files()))
def test_page_renders_without_exception(function_name):
    at = page_app(function_name).run()
    assert not at.exception
    assert at.title[0].value == core.get_function(function_name).title if function_name != "custom" else True
    assert not at.warning, [w.value for w in at.warning]


@pytest.mark.parametrize("function_name", [n for n in sorted(page_files()) if n != "custom"])
def test_page_with_a_start_shows_every_enabled_optimizer(function_name):
    f = core.get_function(function_name)
    (x0, x1), (y0, y1) = f.domain
    at = with_start(function_name, x0 + 0.3 * (x1 - x0), y0 + 0.7 * (y1 - y0))
    assert not at.exception
    assert len(results(at)) == 4


def test_results_table_matches_core_run():
    at = with_start("two_gaussians", 0.5, 1.0)
    table = results(at).set_index("optimizer")
    f = core.get_function("two_gaussians")
    for name, (hyperparameters, steps) in ARTICLE_SETTINGS.items():
        expected = core.run(f, core.get_optimizer(name, **hyperparameters), [0.5, 1.0], steps)
        row = table.loc[core.get_optimizer(name).title]
        assert row["final x"] == expected.final[0, 0]
        assert row["final y"] == expected.final[0, 1]
        assert row["final f"] == expected.final_loss[0]
        assert row["outcome"] == core.OUTCOME_NAMES[expected.outcome[0]]
        assert row["steps"] == steps
    # The article's claim 1 from this start: SGD and momentum right, RMSProp and Adam left.
    assert list(table["outcome"]) == ["other minimum", "other minimum", "global minimum", "global minimum"]


def test_noisy_paths_of_every_kind_of_optimizer():
    """Gradient noise with Eve (steps on the loss) and YellowFin (its tuner) beside SGD and
    Adam: every path computed, finite, and moved by the noise (the same seed, the same path)."""
    query = {"opt": "sgd,adam,eve,yellowfin"}
    noisy = results(with_start("two_gaussians", 0.5, 1.0, query={**query, "noise": "0.3", "seed": "3"}))
    again = results(with_start("two_gaussians", 0.5, 1.0, query={**query, "noise": "0.3", "seed": "3"}))
    quiet = results(with_start("two_gaussians", 0.5, 1.0, query=query))
    assert len(noisy) == 4 and list(noisy["optimizer"]) == list(quiet["optimizer"])
    finals = noisy[["final x", "final y", "final f"]].to_numpy(dtype=float)
    assert np.isfinite(finals).all()
    assert np.array_equal(finals, again[["final x", "final y", "final f"]].to_numpy(dtype=float))
    assert (finals != quiet[["final x", "final y", "final f"]].to_numpy(dtype=float)).any(axis=1).all()


def test_preset_switch_changes_the_settings_and_the_url():
    at = with_start("two_gaussians", 0.5, 1.0)
    assert at.session_state["two_gaussians.w.adam.lr"] == 0.01
    at.selectbox(key="two_gaussians.w.preset").set_value("library defaults").run()
    assert not at.exception
    assert at.query_params["preset"] == "library defaults"
    adam = core.get_optimizer("adam")
    assert at.session_state["two_gaussians.w.adam.bias_correction"] is adam.bias_correction
    assert at.session_state["two_gaussians.w.adam.steps"] == 300


def test_query_parameters_round_trip_through_a_page():
    query = {"start": "-1.5,0.25", "opt": "sgd,adam,lion", "adam.lr": "0.05", "adam.steps": "150",
             "f.a": "2.5"}
    at = page_app("two_gaussians")
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    assert not at.warning, [w.value for w in at.warning]
    table = results(at)
    assert list(table["optimizer"]) == ["SGD", "Adam", "Lion"]
    assert table.set_index("optimizer").loc["Adam", "steps"] == 150
    written = dict(at.query_params)
    assert written == query


def test_changing_a_learning_rate_changes_the_path():
    at = with_start("two_gaussians", 0.5, 1.0)
    before = results(at).set_index("optimizer").loc["SGD", "final x"]
    at.select_slider(key="two_gaussians.w.sgd.lr").set_value(0.001).run()
    after = results(at).set_index("optimizer").loc["SGD", "final x"]
    assert not at.exception
    assert before != after
    assert at.query_params["sgd.lr"] == "0.001"


HOSTILE_QUERIES = [
    {"start": "nan,1"}, {"start": "inf,inf"}, {"start": "1e308,1e308"}, {"start": "abc"},
    {"adam.lr": "-1"}, {"adam.lr": "nan"}, {"adam.lr": "1e309"}, {"adam.betas": "2,0.5"},
    {"sgd.steps": "-5"}, {"sgd.steps": "1000000000"}, {"opt": "sgd,<script>alert(1)</script>"},
    {"preset": "x" * 10_000}, {"f.domain": "1,0,0,1"}, {"f.c": "0"}, {"f.zzz": "1"},
    {"momentum.momentum": "1.5"}, {"adam.bias_correction": "maybe"}, {"__import__('os')": "1"},
    {"start": "０.５,１"}, {"rmsprop.eps": "-1e-8"},
]


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=lambda q: next(iter(q.items()))[0] + "=" + next(iter(q.values()))[:20])
def test_hostile_url_parameters_are_ignored_with_a_warning(query):
    at = page_app("two_gaussians")
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    assert at.warning, "expected a visible warning"
    assert any("Ignored URL parameter" in w.value or "capped" in w.value or "domain" in w.value for w in at.warning)


def test_diverging_optimizer_is_reported_and_charts_get_finite_values():
    at = with_start("rosenbrock", -1.0, 2.0, query={"sgd.lr": "10", "preset": "library defaults"})
    assert not at.exception
    row = results(at).set_index("optimizer").loc["SGD"]
    assert row["outcome"].startswith("diverged at step ")
    assert math.isfinite(row["final x"]) and math.isfinite(row["final f"])


# ---------------------------------------------------------------------------------------
# "Your function"
# ---------------------------------------------------------------------------------------
def test_typed_function_page_runs_the_typed_function():
    at = with_start("custom", -1.0, 1.5)
    at.text_input(key="custom.w.expression").set_value("(1-x)^2 + 100*(y-x^2)^2").run()
    assert not at.exception
    table = results(at).set_index("optimizer")
    rosenbrock = core.get_function("rosenbrock", domain=((-3, 3), (-3, 3)))
    for name in ("sgd", "adam"):
        hyperparameters = {k: at.session_state[f"custom.w.{name}.{k}"] for k in ("lr",)}
        steps = at.session_state[f"custom.w.{name}.steps"]
        optimizer = core.get_optimizer(name, **core.get_optimizer(name).hyperparameters | hyperparameters)
        expected = core.run(rosenbrock, optimizer, [-1.0, 1.5], steps)
        row = table.loc[optimizer.title]
        np.testing.assert_allclose([row["final x"], row["final y"]], expected.final[0], rtol=1e-9, atol=1e-12)
    assert at.query_params["f.expression"] == "(1-x)^2 + 100*(y-x^2)^2"


@pytest.mark.parametrize("text", ["__import__('os').system('id')", "x.__class__", "9**9**9", "", "3 + 4",
                                  "(" * 200 + "x" + ")" * 200, "x" * 600])
def test_typed_function_page_refuses_hostile_text_with_a_message(text):
    at = with_start("custom", 0.5, 0.5)
    at.text_input(key="custom.w.expression").set_value(text).run()
    assert not at.exception
    assert at.error, "expected a clear message"
    assert not at.dataframe  # nothing was run


def test_typed_function_comes_back_from_the_url():
    at = page_app("custom")
    at.query_params["f.expression"] = "x**2 + 3*sin(y)*exp(-x**2)"
    at.query_params["start"] = "1,1"
    at.run()
    assert not at.exception and not at.warning
    assert at.text_input(key="custom.w.expression").value == "x**2 + 3*sin(y)*exp(-x**2)"
    assert len(results(at)) == 4


def test_typed_function_hostile_url_is_ignored_with_a_warning():
    at = page_app("custom")
    at.query_params["f.expression"] = "__import__('os').system('id')"
    at.run()
    assert not at.exception
    assert any("expression" in w.value or "f.*" in w.value for w in at.warning)


def test_figure_json_survives_subnormal_coordinates():
    from app.figures import _rounded

    values = _rounded(np.array([5e-324, -1e-310, 1e-300, 0.0, 1.23456789, np.nan]))
    assert values[:4] == [0.0, 0.0, 1e-300, 0.0] and values[5] is None
    assert values[4] == 1.2346


def test_a_typed_learning_rate_moves_the_slider_marks_the_preset_modified_and_resets():
    at = with_start("two_gaussians", 0.5, 1.0)
    assert not [c for c in at.caption if "modified" in c.value]
    at.number_input(key="two_gaussians.w.sgd.lr.typed").set_value(0.0123).run()
    assert not at.exception
    assert at.select_slider(key="two_gaussians.w.sgd.lr").value == 0.0123  # a value off the slider's marks
    before = with_start("two_gaussians", 0.5, 1.0)
    slower = results(at).set_index("optimizer").loc["SGD", "steps to tolerance"]
    assert slower > results(before).set_index("optimizer").loc["SGD", "steps to tolerance"]  # SGD ran with it
    assert [c for c in at.caption if "modified: 1 setting" in c.value]
    at.button(key="two_gaussians.w.reset").click().run()
    assert at.select_slider(key="two_gaussians.w.sgd.lr").value == ARTICLE_SETTINGS["sgd"][0]["lr"]
    assert not [c for c in at.caption if "modified" in c.value]
    assert results(at).set_index("optimizer").loc["SGD", "steps to tolerance"] == \
        results(before).set_index("optimizer").loc["SGD", "steps to tolerance"]


def test_hyperparameters_have_symbols_and_help_and_steps_state_their_cap():
    at = with_start("two_gaussians", 0.5, 1.0)
    labels = {n.label: n.help for n in at.number_input}
    assert "β₁" in labels and "β₂" in labels and "ε" in labels and labels["ε"]
    assert not [label for label in labels if "[" in label or label == "eps"]
    assert any(label.startswith("steps (1 to 5,000)") for label in labels)


def test_share_tab_shows_a_link_to_this_view_and_the_csv_holds_settings_and_gradient_norms():
    import io

    import pandas as pd

    from app.figures import Path as DrawnPath
    from app.page import trajectories_csv
    from app.state import preset_state

    at = with_start("two_gaussians", 0.5, 1.0, query={"adam.lr": "0.05"})
    links = [c.value for c in at.code if "start=" in c.value]
    assert links and "start=0.5,1" in links[0] and "adam.lr=0.05" in links[0]

    function = core.get_function("two_gaussians")
    optimizer = core.get_optimizer("adam", lr=0.05)
    run = core.run(function, optimizer, [0.5, 1.0], 20)
    path = DrawnPath("adam", "Adam", "#2ca02c", run.points[:, 0], run.losses[:, 0], run.gradient_norms[:, 0])
    state = preset_state("two_gaussians")
    state.start = (0.5, 1.0)
    text = trajectories_csv([path], function, {"adam": (optimizer.hyperparameters, 20, None)}, state, links[0])
    assert '# adam: {"lr": 0.05' in text and "# function: two_gaussians" in text and "# view: " in text
    table = pd.read_csv(io.StringIO(text), comment="#")
    assert list(table.columns) == ["optimizer", "step", "x", "y", "loss", "grad_norm"]
    assert len(table) == 21 and np.allclose(table["grad_norm"], run.gradient_norms[:, 0])


def test_the_paths_animate_at_the_article_s_30_ms_a_step_by_default():
    at = with_start("two_gaussians", 0.5, 1.0)
    assert at.get("button_group")[0].value == "article"
    from app.page import ANIMATION_SPEEDS

    assert ANIMATION_SPEEDS["article"] == 30 and ANIMATION_SPEEDS["off"] == 0


# ---------------------------------------------------------------------------------------
# How the page is viewed (open tab, analyses, animation speed) is kept in the URL
# ---------------------------------------------------------------------------------------
def test_the_open_tab_and_analysis_settings_come_from_the_url_and_go_back_into_it():
    at = page_app("two_gaussians")
    for key, value in {"start": "1,2", "tab": "sweep", "sweep.span": "10", "basins.grid": "51", "speed": "fast",
                       "arrows": "true"}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception and not at.warning
    assert at.session_state["two_gaussians.tabs"] == "Learning-rate sensitivity"
    assert at.select_slider(key="two_gaussians.sweep_span").value == 10
    assert at.select_slider(key="two_gaussians.basin_resolution").value == 51
    assert at.session_state["two_gaussians.w.speed"] == "fast"
    assert at.toggle(key="two_gaussians.arrows").value is True
    # the user opens another tab and switches the 3D surface on: the address follows
    at.session_state["two_gaussians.tabs"] = "3D surface"
    at.toggle(key="two_gaussians.show_surface").set_value(True).run()
    query = dict(at.query_params)
    assert query["tab"] == "surface" and query["surface.on"] == "true" and query["sweep.span"] == "10"
    assert "basins.on" not in query  # defaults stay out of the address


def test_a_garbled_view_setting_is_ignored_with_a_warning():
    at = page_app("two_gaussians")
    at.query_params["tab"] = "<script>"
    at.query_params["basins.grid"] = "99999"
    at.run()
    assert not at.exception
    texts = [w.value for w in at.warning]
    assert any("“tab”" in t and "expected one of results" in t for t in texts)
    assert any("“basins.grid”" in t for t in texts)
    assert at.session_state["two_gaussians.tabs"] == "Results"


def test_each_optimizer_says_what_it_does_and_whose_it_is():
    at = page_app("two_gaussians").run()
    toggle = at.toggle(key="two_gaussians.w.on.adam")
    assert "Momentum and RMSprop together" in toggle.help and "Kingma & Ba, 2015" in toggle.help
    for name in core.OPTIMIZERS:
        cls = core.OPTIMIZER_CLASSES[name]
        assert len(cls.note) > 30 and cls.paper[-4:].isdigit(), name
        assert at.toggle(key=f"two_gaussians.w.on.{name}").help.startswith(cls.note)


# ---------------------------------------------------------------------------------------
# No traceback, whatever comes in
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("query", [{"f.a": "1e200"}, {"f.domain": "-1e308,1e308,-1e308,1e308", "start": "0,0"}])
def test_parameters_whose_consequences_overflow_are_refused_with_a_warning(query):
    """Rosenbrock's minimum (a, a²) overflowed the figure's JSON; a ±1e308 domain's width is inf."""
    at = page_app("rosenbrock")
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception and not at.error
    assert any("between −1,000,000 and 1,000,000" in w.value for w in at.warning)
    at.session_state["rosenbrock.start_x"], at.session_state["rosenbrock.start_y"] = 0.5, 0.5
    at.run()  # the session goes on with the preset's function
    assert not at.exception and len(results(at)) == 4


def test_a_huge_parameter_typed_in_the_sidebar_is_an_error_message_not_a_trace():
    at = page_app("rosenbrock").run()
    at.number_input(key="rosenbrock.w.f.a").set_value(1e200).run()
    assert not at.exception
    assert any("parameter a must be between" in e.value for e in at.error)


@pytest.mark.parametrize("label, sent", [
    ("steps", 10**7), ("steps", -5), ("momentum μ", float("nan")), ("noise σ", float("inf")), ("seed", -1),
    ("lr", 1e9), ("a", float("nan")), ("x min", float("-inf")),
])
def test_a_value_no_widget_accepts_is_refused_with_a_warning_and_the_last_value_kept(label, sent):
    """A hand-made client can send what the page's widgets never would. Streamlit silently turned
    steps 10⁷ or −5 into 1 and momentum NaN into 0; the page now says so and keeps the old value."""
    at = page_app("rosenbrock")
    at.query_params["opt"] = "momentum"
    at.query_params["start"] = "0.5,0.5"
    at.run()
    widget = next(n for n in at.number_input if n.label == label or n.label.startswith(label + " ("))
    kept = widget.value
    widget.set_value(sent).run()
    assert not at.exception and not at.error
    refused = [w.value for w in at.warning if "refused" in w.value]
    assert len(refused) == 1 and f"stays {kept:g}" in refused[0], refused
    assert next(n for n in at.number_input if n.label == widget.label).value == pytest.approx(kept)
    at.run()  # said once
    assert not [w.value for w in at.warning if "refused" in w.value]


@pytest.mark.parametrize("name, query, accepted", [
    ("rastrigin", {"f.A": "-1"}, "[0.0, inf)"), ("rosenbrock", {"f.b": "0"}, "(0.0, inf)"),
    ("two_gaussians", {"f.c": "-0.2"}, "(0.0, inf)"), ("two_gaussians", {"f.a": "-2"}, "[0.0, inf)"),
])
def test_a_function_parameter_out_of_its_range_is_refused_naming_the_range(name, query, accepted):
    """Rastrigin with A < 0 listed a maximum as its global minimum."""
    at = page_app(name)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception and not at.error
    assert any(accepted in w.value and "Ignored URL parameter" in w.value for w in at.warning), \
        [w.value for w in at.warning]
    parameter = next(iter(query)).removeprefix("f.")
    at.number_input(key=f"{name}.w.f.{parameter}").set_value(float(query[f"f.{parameter}"])).run()
    assert not at.exception
    assert any(accepted in e.value for e in at.error)


def test_a_global_minimum_off_the_plot_is_pointed_out():
    at = page_app("rosenbrock")
    at.query_params["f.a"] = "2"
    at.run()
    assert any("(2, 4)" in i.value and "outside the plotted domain" in i.value for i in at.info)
    at = page_app("rosenbrock").run()
    assert not any("outside the plotted domain" in i.value for i in at.info)


def test_an_unexpected_error_shows_a_short_message_and_the_session_goes_on(monkeypatch):
    import app.page

    def broken(*args, **kwargs):
        raise RuntimeError("/secret/server/path")

    monkeypatch.setattr(app.page, "landscape_figure", broken)
    at = with_start("two_gaussians", 0.5, 1.0)
    assert not at.exception
    assert [e.value for e in at.error] == [
        "Something went wrong drawing this view (RuntimeError). Change the setting you just changed, "
        "or reset the preset in the sidebar."]
    assert "/secret" not in str([m.value for m in at.markdown])
    monkeypatch.undo()
    at.run()
    assert not at.exception and not at.error and len(results(at)) == 4
