"""A look inside: core.inside (internals along a run, the gradient field) and the views of
app.inside_view, built without a server and run in AppTest.

* trace_internals against hand computations of Adam and RMSprop for three steps;
* the traced path is core.run's path, with and without gradient noise, and stops at divergence;
* the charts, the 3D surface, the arrows and the compare figure hold only finite values.
"""

from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import core
from app import inside_view
from app.figures import Path
from core.inside import gradient_field, trace, trace_internals

ROSENBROCK = core.get_function("rosenbrock")
START = (-1.0, 1.5)


# ---------------------------------------------------------------------------------------
# core.inside
# ---------------------------------------------------------------------------------------
def test_adam_internals_match_a_hand_computation():
    lr, beta1, beta2, eps = 0.01, 0.9, 0.999, 1e-8
    internals = trace_internals(ROSENBROCK, core.get_optimizer("adam", lr=lr), START, 3)
    x, m, v = np.array(START), np.zeros(2), np.zeros(2)
    for t in range(1, 4):
        g = ROSENBROCK.gradient(x)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_hat = v / (1 - beta2**t)
        x = x - lr * (m / (1 - beta1**t)) / (np.sqrt(v_hat) + eps)
        expected = {
            "effective step size x": lr / (math.sqrt(v_hat[0]) + eps),
            "effective step size y": lr / (math.sqrt(v_hat[1]) + eps),
            "first moment norm": math.hypot(*m),
            "second moment x": v[0],
            "second moment y": v[1],
        }
        assert set(internals) == set(expected)
        for name, value in expected.items():
            assert internals[name][t - 1] == pytest.approx(value, rel=1e-12), (t, name)


def test_rmsprop_internals_match_a_hand_computation():
    lr, alpha, eps = 0.01, 0.99, 1e-8
    internals = trace_internals(ROSENBROCK, core.get_optimizer("rmsprop", lr=lr), START, 3)
    x, v = np.array(START), np.zeros(2)
    for t in range(1, 4):
        g = ROSENBROCK.gradient(x)
        v = alpha * v + (1 - alpha) * g**2
        x = x - lr * g / (np.sqrt(v) + eps)
        expected = {
            "effective step size x": lr / (math.sqrt(v[0]) + eps),
            "effective step size y": lr / (math.sqrt(v[1]) + eps),
            "second moment x": v[0],
            "second moment y": v[1],
        }  # no "first moment norm": without momentum the buffer is unused
        assert set(internals) == set(expected)
        for name, value in expected.items():
            assert internals[name][t - 1] == pytest.approx(value, rel=1e-12), (t, name)


@pytest.mark.parametrize("name", core.OPTIMIZERS)
@pytest.mark.parametrize("noise", [0.0, 0.7])
def test_traced_path_is_the_engines_path(name, noise):
    optimizer = core.get_optimizer(name, lr=0.01)
    result = core.run(ROSENBROCK, optimizer, np.array(START), 50, noise=noise, seed=5)
    traced = trace(ROSENBROCK, optimizer, START, 50, noise=noise, seed=5)
    k = len(traced.points) - 1
    assert np.array_equal(traced.points, result.points[: k + 1, 0])  # exactly, not approximately
    assert traced.diverged_at == result.diverged_at[0]
    assert all(len(values) == k for values in traced.internals.values())
    if result.diverged_at[0] < 0:
        assert k == 50


def test_a_diverging_run_is_recorded_up_to_its_divergence_and_stays_finite():
    optimizer = core.get_optimizer("sgd", lr=0.05)  # far too large on Rosenbrock
    result = core.run(ROSENBROCK, optimizer, np.array([0.3, -0.7]), 40)
    assert result.diverged_at[0] > 0
    traced = trace(ROSENBROCK, optimizer, (0.3, -0.7), 40)
    k = len(traced.points) - 1
    assert k <= result.diverged_at[0] - 1
    assert np.isfinite(traced.points).all()
    for values in traced.internals.values():
        assert len(values) == k and np.isfinite(values).all()


def test_names_are_reported_even_without_a_step():
    internals = trace_internals(ROSENBROCK, core.get_optimizer("yellowfin"), START, 0)
    assert {"tuned lr", "tuned momentum"} <= set(internals)
    assert all(len(values) == 0 for values in internals.values())


@pytest.mark.parametrize("function_name", ["rosenbrock", "two_gaussians", "rastrigin", "saddle"])
def test_gradient_field_is_unit_and_points_downhill(function_name):
    function = core.get_function(function_name)
    xs, ys, u, v = gradient_field(function, resolution=11)
    assert 0 < len(xs) <= 121 and len(xs) == len(ys) == len(u) == len(v)
    assert np.allclose(u**2 + v**2, 1.0)
    grad = function.gradient(np.column_stack([xs, ys]))
    assert np.all(grad[:, 0] * u + grad[:, 1] * v < 0)  # −∇f direction
    (x0, x1), (y0, y1) = function.domain
    assert np.all((x0 < xs) & (xs < x1) & (y0 < ys) & (ys < y1))


def test_gradient_field_drops_stationary_points():
    # The centre of a 1×1 grid over Rosenbrock's symmetric domain around (1, 1) is the minimum.
    function = core.get_function("rosenbrock", domain=((0.0, 2.0), (0.0, 2.0)))
    xs, _, _, _ = gradient_field(function, resolution=1)
    assert len(xs) == 0


# ---------------------------------------------------------------------------------------
# app.inside_view, without a server
# ---------------------------------------------------------------------------------------
def _path(name: str, function=ROSENBROCK, start=START, steps: int = 200, **hyperparameters) -> Path:
    result = core.run(function, core.get_optimizer(name, **hyperparameters), np.array(start), steps)
    last = result.diverged_at[0] - 1 if result.diverged_at[0] >= 0 else steps
    return Path(name, core.get_optimizer(name).title, inside_view._colour(name), result.points[: last + 1, 0],
                result.losses[: last + 1, 0], result.gradient_norms[: last + 1, 0])


def test_internals_charts_have_the_quantities_of_adam_and_yellowfin():
    traces = {"Adam": trace_internals(ROSENBROCK, core.get_optimizer("adam", lr=0.01), START, 100),
              "YellowFin": trace_internals(ROSENBROCK, core.get_optimizer("yellowfin"), START, 100)}
    data = inside_view.internals_frame(traces)
    assert list(data.columns) == ["optimizer", "step", "quantity", "value"]
    assert np.isfinite(data["value"]).all()
    charts = inside_view.internals_charts(data, {"Adam": "#2ca02c", "YellowFin": "#fb9a99"})
    assert {"effective step size x", "effective step size y", "first moment norm", "second moment x",
            "second moment y", "tuned lr", "tuned momentum"} <= set(charts)
    assert "feedback d" not in charts  # Eve is not there
    spec = charts["effective step size x"].to_dict()
    assert spec["encoding"]["color"]["scale"]["domain"] == ["Adam", "YellowFin"]
    assert spec["encoding"]["y"]["scale"]["type"] == "log"
    assert any(p.get("bind") == "legend" for p in spec["params"])
    assert charts["tuned lr"].to_dict()["encoding"]["color"]["scale"]["domain"] == ["YellowFin"]
    rows = inside_view._chart_rows(charts)
    assert sorted(q for row in rows for q in row) == sorted(charts)


def test_internals_frame_drops_non_finite_values():
    data = inside_view.internals_frame({"Adam": {"second moment x": np.array([1.0, np.inf, np.nan, 2.0])}})
    assert list(data["value"]) == [1.0, 2.0] and list(data["step"]) == [1, 4]
    assert inside_view.internals_frame({}).empty


def _finite_or_none(values) -> bool:
    return all(v is None or (isinstance(v, float) and math.isfinite(v)) for v in values)


def test_gradient_arrows_trace_is_plain_finite_json():
    trace_dict = inside_view.gradient_arrows_trace(ROSENBROCK, resolution=15)
    assert trace_dict["type"] == "scatter" and trace_dict["mode"] == "lines" and trace_dict["hoverinfo"] == "skip"
    assert isinstance(trace_dict["x"], list) and _finite_or_none(trace_dict["x"]) and _finite_or_none(trace_dict["y"])
    assert len(trace_dict["x"]) == len(trace_dict["y"]) == 7 * 15 * 15  # shaft, gap, two barbs, gap per arrow
    json.dumps(trace_dict, allow_nan=False)
    # The shaft of each arrow points along −∇f.
    x, y = np.array(trace_dict["x"][:2]), np.array(trace_dict["y"][:2])
    grad = ROSENBROCK.gradient([x.mean(), y.mean()])
    assert (x[1] - x[0]) * grad[0] + (y[1] - y[0]) * grad[1] < 0


@pytest.mark.parametrize("function_name", ["rosenbrock", "two_gaussians"])
def test_surface_figure_has_one_surface_and_a_line_per_path(function_name):
    function = core.get_function(function_name)
    start = (0.5, 1.0) if function_name == "two_gaussians" else START
    paths = [_path("adam", function, start, lr=0.01), _path("sgd", function, start, lr=1e-3),
             _path("momentum", function, start, lr=1e-3)]
    fig = inside_view.surface_figure(function, function.grid(150), paths)
    types = [trace.type for trace in fig.data]
    assert types == ["surface"] + ["scatter3d"] * 3
    assert [trace.name for trace in fig.data[1:]] == ["Adam", "SGD", "Momentum"]
    for line in fig.data[1:]:
        z = np.asarray(line.z, dtype=float)
        assert np.isfinite(z).any() and np.isfinite(z[np.isfinite(np.asarray(line.x, dtype=float))]).all()
    surface_z = np.asarray(fig.data[0].z, dtype=float)
    assert surface_z.shape == (76, 76) and np.isfinite(surface_z).all()  # every other point, and the edge
    title = fig.layout.scene.zaxis.title.text
    assert ("log" in title) == function.log_scale
    json.loads(fig.to_json())


def test_compare_figure_shows_the_path_up_to_the_step():
    path = _path("adam", lr=0.01)
    fig = inside_view.compare_figure(ROSENBROCK, ROSENBROCK.grid(60), path.points, 25, path.color, "Adam")
    line, current = fig.data[-3], fig.data[-1]
    assert len(line.x) == 26
    assert (current.x[0], current.y[0]) == tuple(path.points[25])
    fig = inside_view.compare_figure(ROSENBROCK, ROSENBROCK.grid(60), path.points, 10_000, path.color, "Adam")
    assert len(fig.data[-3].x) == len(path.points)  # clamped to the path


# ---------------------------------------------------------------------------------------
# The views in AppTest
# ---------------------------------------------------------------------------------------
SCRIPT = textwrap.dedent("""
    import streamlit as st
    import core
    from app import compute, inside_view
    from app.figures import OPTIMIZER_COLORS, Path

    name = "rosenbrock"
    function = core.get_function(name)
    key = compute.params_key(function.params | {"domain": function.domain})
    grid = compute.contour_grid(name, key)
    start = st.session_state.get("start", (-1.0, 1.5))
    runs = [compute.Run(*run) for run in st.session_state.get("runs", [
        ("adam", {"lr": 0.01}, 120), ("yellowfin", {}, 120), ("eve", {"f_star": 0.0}, 120)])]
    paths = []
    if start is not None:
        for optimizer, hyperparameters, steps, _ in runs:
            result = compute.optimizer_run(name, key, optimizer, compute.params_key(hyperparameters), steps, start,
                                           0.0, 0)
            last = result["diverged_at"] - 1 if result["diverged_at"] >= 0 else steps
            paths.append(Path(optimizer, core.get_optimizer(optimizer).title, OPTIMIZER_COLORS[optimizer],
                              result["points"][: last + 1], result["losses"][: last + 1],
                              result["gradient_norms"][: last + 1]))
    keys = lambda *parts: ".".join(("test", *map(str, parts)))
    inside, surface, compare = st.tabs(["Inside", "3D", "Compare"])
    with inside:
        inside_view.internals_view(name, key, runs, start, 0.0, 0)
    with surface:
        inside_view.surface_view(function, grid, paths)
        st.json(inside_view.gradient_arrows_trace(function), expanded=False)
    with compare:
        inside_view.compare_view(keys, name, key, function, grid, runs, start, 0.0, 0)
""")


def test_views_run_in_apptest():
    at = AppTest.from_string(SCRIPT, default_timeout=60).run()
    assert not at.exception, at.exception
    # One chart per quantity of Adam, YellowFin and Eve: 5 shared, Eve's d, YellowFin's 7.
    assert len(at.get("vega_lite_chart")) == 13
    assert len(at.get("plotly_chart")) == 3  # the surface and the two compare figures
    assert [s.label for s in at.selectbox] == ["left optimizer", "right optimizer"]
    assert at.slider[0].value == 120

    # One optimizer at two learning rates, at step 30.
    at.selectbox(key="test.compare.right.optimizer").set_value("adam")
    at.select_slider(key="test.compare.right.lr_factor").set_value(10.0)
    at.slider(key="test.compare.step").set_value(30)
    at.run()
    assert not at.exception, at.exception
    captions = [m.value for m in at.markdown if "— step" in m.value]
    assert len(captions) == 2 and all("step 30" in c for c in captions)
    assert "lr 0.01 " in captions[0] and "lr 0.1 " in captions[1]


def test_views_without_a_start_show_a_hint():
    at = AppTest.from_string(SCRIPT, default_timeout=60)
    at.session_state["start"] = None
    at.run()
    assert not at.exception, at.exception
    assert sum("Click a start" in i.value for i in at.info) == 2  # internals and compare
    assert len(at.get("plotly_chart")) == 1  # the bare surface


def test_compare_survives_a_disabled_optimizer():
    at = AppTest.from_string(SCRIPT, default_timeout=60).run()
    at.selectbox(key="test.compare.right.optimizer").set_value("eve").run()
    at.session_state["runs"] = [("adam", {"lr": 0.01}, 120)]
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="test.compare.right.optimizer").value == "adam"


# ---------------------------------------------------------------------------------------
# The views in a real browser (screenshots in tests/artifacts/inside-*.png: look at them)
# ---------------------------------------------------------------------------------------
BROWSER_SCRIPT = textwrap.dedent("""
    import json
    import plotly.graph_objects as go
    import streamlit as st
    from streamlit_plotly_events import plotly_events
    import core
    from app import compute, inside_view
    from app.figures import OPTIMIZER_COLORS, Path

    st.set_page_config(layout="wide")
    name = "rosenbrock"
    function = core.get_function(name)
    key = compute.params_key(function.params | {"domain": function.domain})
    grid = compute.contour_grid(name, key)
    start = (-1.0, 1.5)
    clicks = json.loads(st.session_state["plot"]) if st.session_state.get("plot") else []
    if clicks:
        start = (float(clicks[0]["x"]), float(clicks[0]["y"]))
    runs = [compute.Run("adam", {"lr": 0.05}, 300), compute.Run("yellowfin", {}, 300),
            compute.Run("eve", {"lr": 0.05, "f_star": 0.0}, 300)]
    paths = []
    for optimizer, hyperparameters, steps, _ in runs:
        result = compute.optimizer_run(name, key, optimizer, compute.params_key(hyperparameters), steps, start, 0.0, 0)
        last = result["diverged_at"] - 1 if result["diverged_at"] >= 0 else steps
        paths.append(Path(optimizer, core.get_optimizer(optimizer).title, OPTIMIZER_COLORS[optimizer],
                          result["points"][: last + 1], result["losses"][: last + 1],
                          result["gradient_norms"][: last + 1]))
    xs, ys, z = function.grid(60)
    figure = go.Figure(go.Contour(x=xs.tolist(), y=ys.tolist(), z=z.tolist(), showscale=False))
    figure.add_trace(inside_view.gradient_arrows_trace(function))
    figure.update_layout(template="plotly_white", height=420, xaxis={"range": list(function.domain[0])},
                         yaxis={"range": list(function.domain[1]), "scaleanchor": "x"})
    plotly_events(figure, click_event=True, override_height=430, key="plot")
    st.markdown(f"start = {start[0]:.3f}, {start[1]:.3f}")
    keys = lambda *parts: ".".join(("browser", *map(str, parts)))
    inside, surface, compare = st.tabs(["Inside", "3D surface", "Compare"])
    with inside:
        inside_view.internals_view(name, key, runs, start, 0.0, 0)
    with surface:
        inside_view.surface_view(function, grid, paths)
    with compare:
        inside_view.compare_view(keys, name, key, function, grid, runs, start, 0.0, 0)
""")


@pytest.mark.browser
def test_views_in_a_real_browser(tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    from tests.browser import (ARTIFACTS, click_data_point, launch_chromium, plotly_frame, streamlit_server,
                               wait_for_app)

    script = tmp_path / "inside_views.py"
    script.write_text(BROWSER_SCRIPT)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with streamlit_server(str(script)) as url, playwright_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.goto(url)
            wait_for_app(page)
            frame = plotly_frame(page)
            arrows = frame.evaluate("""() => document.querySelector('.js-plotly-plot').data
                                         .filter(t => t.name === '−∇f direction')
                                         .map(t => Array.from(t.x).concat(Array.from(t.y)))""")
            assert len(arrows) == 1 and len(arrows[0]) == 2 * 7 * 15 * 15
            assert all(v is None or math.isfinite(v) for v in arrows[0])

            # A click on the arrows still reaches the contour and moves the start.
            click_data_point(page, frame, 0.5, 2.0)
            page.wait_for_function("() => document.body.innerText.includes('start = 0.5')", timeout=20_000)
            wait_for_app(page)
            page.screenshot(path=str(ARTIFACTS / "inside-arrows.png"))

            page.set_viewport_size({"width": 1400, "height": 3400})
            for tab, name in (("Inside", "internals"), ("3D surface", "surface"), ("Compare", "compare")):
                page.get_by_role("tab", name=tab).click()
                page.wait_for_timeout(2500)
                panel = page.locator('[role="tabpanel"]:visible').first
                panel.screenshot(path=str(ARTIFACTS / f"inside-{name}.png"))
                if name == "internals":
                    assert panel.locator('[data-testid="stVegaLiteChart"]').count() == 13
                    assert panel.locator("canvas, svg.marks").count() >= 13  # drawn, not just placed
                elif name == "surface":
                    assert panel.locator(".js-plotly-plot .gl-container canvas").count() >= 1
                else:
                    assert panel.locator(".js-plotly-plot").count() == 2
                    assert "step 300: f =" in panel.inner_text()
        finally:
            browser.close()


def test_a_trace_with_a_schedule_is_the_scheduled_run_and_reports_each_steps_lr():
    function = core.get_function("two_gaussians")
    sgd = core.get_optimizer("sgd", lr=0.05)
    schedule = core.get_scheduler("step_lr", step_size=10, gamma=0.5)
    traced = trace(function, sgd, (0.5, 1.0), 30, scheduler=schedule)
    run = core.run(function, sgd, (0.5, 1.0), 30, scheduler=schedule)
    np.testing.assert_array_equal(traced.points, run.points[:, 0])
    np.testing.assert_allclose(traced.internals["effective step size x"], schedule.lrs(0.05, 30), rtol=1e-15)
