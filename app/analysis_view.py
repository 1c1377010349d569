"""The "basins" and "learning rate" tabs of a function page: many starts, not one path."""

from __future__ import annotations

import base64
import io
import json
import time

import altair as alt
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

import core
from core import analysis
from core import OPTIMIZER_CLASSES

from . import compute
from .figures import OPTIMIZER_COLORS

RESOLUTIONS = (51, 101, 201, 401)
SWEEP_SPANS = (10, 100, 1000)
SWEEP_POINTS = 25
SWEEP_STARTS = 2500
POINT_STEPS_PER_SECOND = 3e7  # a conservative speed of run(record=False), for the estimate
AUTO_SECONDS = 2.0  # computations estimated shorter than this start by themselves

# Category colours: listed minima first (globals in greens, locals in warm colours), then
# unlisted minimum, not converged, diverged, undefined (f not a real number).
GLOBAL_COLOURS = ["#1a9850", "#66bd63", "#006837", "#a6d96a"]
LOCAL_COLOURS = ["#f46d43", "#fdae61", "#d73027", "#fee08b", "#9e0142", "#e08214", "#8073ac", "#35978f"]
OTHER_COLOURS = ["#fdd0a2", "#bdbdbd", "#252525", "#cbc9e2"]


def category_colours(function) -> list[str]:
    colours, g, l = [], 0, 0
    for minimum in function.minima:
        if minimum.is_global:
            colours.append(GLOBAL_COLOURS[g % len(GLOBAL_COLOURS)]); g += 1
        else:
            colours.append(LOCAL_COLOURS[l % len(LOCAL_COLOURS)]); l += 1
    return colours + OTHER_COLOURS


def _hex_to_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i: i + 2], 16) for i in (1, 3, 5))


# ---------------------------------------------------------------------------------------
# Cached computations on plain values
# ---------------------------------------------------------------------------------------
@st.cache_data(max_entries=64, show_spinner=False)
def cached_basin(function_name: str, function_key: str, optimizer_name: str, hyper_key: str, steps: int,
                 resolution: int, noise: float, seed: int, schedule: str = "", _on_progress=None) -> dict:
    """(`_on_progress`, not part of the cache key, updates the page's progress bar: Streamlit
    stops the computation there when the session ends or its inputs change.)"""
    function = compute.make_function(function_name, function_key)
    optimizer = core.get_optimizer(optimizer_name, **json.loads(hyper_key))
    basins = analysis.basin_map(function, optimizer, steps, resolution, noise=noise, seed=seed,
                                on_progress=_on_progress, scheduler=compute.make_scheduler(schedule))
    return {"category": basins.category.astype(np.int8), "summary": basins.summary(), "png": _map_png(basins, function)}


def _map_png(basins: analysis.BasinMap, function) -> str:
    palette = np.array([_hex_to_rgb(c) for c in category_colours(function)], dtype=np.uint8)
    pixels = palette[basins.category[::-1]]  # image rows run top (y max) to bottom
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@st.cache_data(max_entries=64, show_spinner=False)
def cached_sweep(function_name: str, function_key: str, optimizer_name: str, hyper_key: str, steps: int,
                 low: float, high: float, count: int, starts: int, noise: float, seed: int,
                 _on_progress=None) -> pd.DataFrame:
    function = compute.make_function(function_name, function_key)
    optimizer = core.get_optimizer(optimizer_name, **json.loads(hyper_key))
    lrs = np.geomspace(low, high, count)
    sweep = analysis.lr_sweep(function, optimizer, steps, lrs, analysis.sweep_starts(function, starts, seed=seed),
                              noise=noise, seed=seed, on_progress=_on_progress)
    return pd.DataFrame(sweep)


# ---------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------
def _estimate_seconds(starts: int, total_steps: int) -> float:
    """From the speed this session's computations measured (the last one long enough to tell),
    a typical one until then."""
    return starts * total_steps / st.session_state.get("analysis.point_steps_per_second", POINT_STEPS_PER_SECOND)


def _measure_speed(point_steps: int, started: float) -> None:
    seconds = time.perf_counter() - started
    if seconds > 0.5:  # long enough to be a fair measurement
        st.session_state["analysis.point_steps_per_second"] = point_steps / seconds


def _go_ahead(label: str, seconds: float, key: str, signature: str) -> bool:
    """Computed only once asked for (a switch, so that changing a setting does not start a
    long computation unasked); then it follows the settings by itself while quick, and asks
    again, saying how long it will take, when not. Results are cached per settings."""
    if not st.toggle(label, key=f"{key}.on"):
        return False
    if seconds <= AUTO_SECONDS or st.session_state.get(key) == signature:
        return True
    st.info(f"This takes about {seconds:.0f} s on this server; a smaller size is quicker.", icon="⏱️")
    if st.button(f"Compute (about {seconds:.0f} s)", key=f"{key}.button"):
        st.session_state[key] = signature
        return True
    return False


def basins_view(keys, function_name: str, function, function_key: str, runs: list[compute.Run], start, noise: float,
                seed: int) -> None:
    """Maps of where each optimizer ends from every start of a grid, and the success table."""
    st.markdown("Every start of a grid, coloured by where the optimizer ends. Same settings as the paths above.")
    compute.keep_choice(keys("basin_resolution"), RESOLUTIONS, 101)
    resolution = st.select_slider("grid", options=RESOLUTIONS, key=keys("basin_resolution"),
                                  format_func=lambda r: f"{r}×{r}")
    signature = json.dumps([function_key, runs, resolution, noise, seed])
    seconds = _estimate_seconds(resolution**2, sum(run.steps for run in runs))
    if not runs or not _go_ahead("Show the basins", seconds, keys("basins_go"), signature):
        return
    progress = st.progress(0.0, text="Computing basins…")
    results = {}
    started = time.perf_counter()
    for i, (name, hyperparameters, steps, schedule) in enumerate(runs):
        def on_progress(done, i=i, title=OPTIMIZER_CLASSES[name].title):
            progress.progress((i + done) / len(runs), text=f"Computing basins… {title}")
            compute.stop_if_superseded()

        on_progress(0.0)
        computed = time.perf_counter()
        results[name] = cached_basin(function_name, function_key, name, compute.params_key(hyperparameters), steps,
                                     resolution, noise, seed, schedule, _on_progress=on_progress)
        _measure_speed(resolution**2 * steps, computed)
    progress.empty()
    st.plotly_chart(basin_figure(function, results, start), width="stretch", config={"displayModeBar": False})
    st.markdown(_legend(function), unsafe_allow_html=True)
    st.dataframe(success_frame(results), hide_index=True, width="stretch",
                 column_config={c: st.column_config.ProgressColumn(c, format="percent", min_value=0, max_value=1)
                                for c in core.OUTCOME_NAMES})
    st.caption(f"{resolution**2:,} starts per optimizer, {time.perf_counter() - started:.2f} s. "
               "Sorted by the share of starts that reach a global minimum.")


def success_frame(results: dict[str, dict]) -> pd.DataFrame:
    rows = [{"optimizer": OPTIMIZER_CLASSES[name].title, **result["summary"]} for name, result in results.items()]
    frame = pd.DataFrame(rows)
    if "undefined" in frame and not frame["undefined"].any():  # f is defined wherever the runs end
        frame = frame.drop(columns="undefined")
    return frame.sort_values("global minimum", ascending=False, kind="stable") if len(frame) else frame


def basin_figure(function, results: dict[str, dict], start) -> go.Figure:
    """The maps side by side, four to a row, the start marked. Built as plain dicts (plotly.py's
    make_subplots and per-property validation took ~0.15 s for four maps)."""
    (x0, x1), (y0, y1) = function.domain
    names = list(results)
    columns = min(4, len(names))
    rows = -(-len(names) // columns)
    gap_x, gap_y = 0.03, 0.08 / rows
    cell_w, cell_h = (1 - gap_x * (columns - 1)) / columns, (1 - gap_y * (rows - 1)) / rows
    data, layout = [], {"template": "plotly_white", "height": 300 * rows, "annotations": [],
                        "margin": {"l": 10, "r": 10, "t": 30, "b": 10}, "showlegend": False}
    for i, name in enumerate(names):
        row, column = divmod(i, columns)
        axis = "" if i == 0 else str(i + 1)
        left, top = column * (cell_w + gap_x), 1 - row * (cell_h + gap_y)
        layout[f"xaxis{axis}"] = {"domain": [left, left + cell_w], "range": [x0, x1], "showticklabels": False,
                                  "anchor": f"y{axis}"}
        layout[f"yaxis{axis}"] = {"domain": [top - cell_h, top], "range": [y0, y1], "showticklabels": False,
                                  "anchor": f"x{axis}", "scaleanchor": f"x{axis}"}
        layout["annotations"].append({"text": OPTIMIZER_CLASSES[name].title, "showarrow": False, "font": {"size": 16},
                                      "x": left + cell_w / 2, "y": top, "xref": "paper", "yref": "paper",
                                      "xanchor": "center", "yanchor": "bottom"})
        height, width = results[name]["category"].shape
        data.append({"type": "image", "source": results[name]["png"], "x0": x0, "dx": (x1 - x0) / (width - 1),
                     "y0": y1, "dy": -(y1 - y0) / (height - 1), "hoverinfo": "skip",
                     "xaxis": f"x{axis}", "yaxis": f"y{axis}"})
        if start is not None:
            data.append({"type": "scatter", "x": [start[0]], "y": [start[1]], "mode": "markers", "hoverinfo": "skip",
                         "marker": {"color": "#ffffff", "size": 10, "line": {"color": "#000000", "width": 2}},
                         "xaxis": f"x{axis}", "yaxis": f"y{axis}"})
    return go.Figure({"data": data, "layout": layout}, skip_invalid=False)


def _legend(function) -> str:
    items = [
        f'<span style="display:inline-flex;align-items:center;margin-right:14px">'
        f'<span style="width:12px;height:12px;background:{colour};display:inline-block;margin-right:5px"></span>'
        f"{label}</span>"
        for label, colour in zip(analysis.category_labels(function), category_colours(function))
    ]
    return "<div style='font-size:0.85rem'>" + "".join(items) + "</div>"


def sweep_view(keys, function_name: str, function, function_key: str, runs: list[compute.Run], noise: float,
               seed: int) -> None:
    """Success share and median final loss versus learning rate, the current lr marked."""
    st.markdown(f"Each optimizer from the same {SWEEP_STARTS:,} random starts, at {SWEEP_POINTS} learning rates "
                "on a log grid around its current one: where does it start to overshoot, where does it diverge?")
    compute.keep_choice(keys("sweep_span"), SWEEP_SPANS, 100)
    span = st.select_slider("range around the current lr", options=SWEEP_SPANS, key=keys("sweep_span"),
                            format_func=lambda s: f"÷{s} … ×{s}")
    signature = json.dumps([function_key, runs, span, noise, seed])
    seconds = _estimate_seconds(SWEEP_STARTS * SWEEP_POINTS, sum(run.steps for run in runs))
    if any(run.schedule for run in runs):
        st.caption("The sweep varies a constant learning rate: the schedules set in the sidebar are left out here.")
    if not runs or not _go_ahead("Show the sweep", seconds, keys("sweep_go"), signature):
        return
    progress = st.progress(0.0, text="Sweeping learning rates…")
    frames, current = [], []
    for i, (name, hyperparameters, steps, _) in enumerate(runs):
        lr = float(hyperparameters.get("lr", core.get_optimizer(name).lr))

        def on_progress(done, i=i, title=OPTIMIZER_CLASSES[name].title):
            progress.progress((i + done) / len(runs), text=f"Sweeping learning rates… {title}")
            compute.stop_if_superseded()

        on_progress(0.0)
        computed = time.perf_counter()
        frame = cached_sweep(function_name, function_key, name, compute.params_key(hyperparameters), steps,
                             lr / span, lr * span, SWEEP_POINTS, SWEEP_STARTS, noise, seed, _on_progress=on_progress)
        _measure_speed(SWEEP_POINTS * SWEEP_STARTS * steps, computed)
        frames.append(frame.assign(optimizer=OPTIMIZER_CLASSES[name].title))
        current.append({"optimizer": OPTIMIZER_CLASSES[name].title, "lr": lr,
                        "colour": OPTIMIZER_COLORS.get(name, "#444444")})
    progress.empty()
    data = pd.concat(frames, ignore_index=True)
    current = pd.DataFrame(current)
    left, right = st.columns(2)
    left.altair_chart(sweep_chart(data, current, "global_share", "share reaching the global minimum", log=False),
                      width="stretch")
    if function.f_min is not None:
        data["median_gap"] = np.maximum(data["median_final_loss"] - function.f_min, 1e-16)
        field, title = "median_gap", "median final f − f_min"
    else:
        field, title = "median_final_loss", "median final f"
    right.altair_chart(sweep_chart(data[np.isfinite(data[field])], current, field, title, log=function.f_min is not None),
                       width="stretch")


def sweep_chart(data: pd.DataFrame, current: pd.DataFrame, field: str, title: str, log: bool) -> alt.LayerChart:
    """One line per optimizer against lr (log axis); a dashed rule at its current lr."""
    colours = alt.Scale(domain=list(current["optimizer"]), range=list(current["colour"]))
    highlight = alt.selection_point(fields=["optimizer"], bind="legend")
    if log:  # the meaningful range: a diverging lr's median (1e200…) would flatten every other curve
        values = data[field][np.isfinite(data[field]) & (data[field] > 0)]
        top = float(min(values.max(), 1e3 * values.quantile(0.75))) if len(values) else 1.0
        y_scale = alt.Scale(type="log", domainMax=top, clamp=True)
    else:
        y_scale = alt.Scale(domain=[0, 1])
    lines = alt.Chart(data).mark_line(point=True, clip=True).encode(
        x=alt.X("lr:Q", scale=alt.Scale(type="log"), title="learning rate"),
        y=alt.Y(f"{field}:Q", title=title, scale=y_scale),
        color=alt.Color("optimizer:N", scale=colours,
                        legend=alt.Legend(orient="bottom", title=None, columns=4, symbolLimit=0, labelLimit=120)),
        opacity=alt.condition(highlight, alt.value(1.0), alt.value(0.15)),
        tooltip=["optimizer:N", alt.Tooltip("lr:Q", format=".3g"), alt.Tooltip(f"{field}:Q", format=".3g")],
    ).add_params(highlight)
    rules = alt.Chart(current[["optimizer", "lr"]]).mark_rule(strokeDash=[4, 3]).encode(
        x="lr:Q", color=alt.Color("optimizer:N", scale=colours, legend=None))
    return (lines + rules).properties(title=title, height=280)
