"""Figures, built without a running server: the Plotly landscape and the Altair curves.

The landscape is Plotly because its clicks can be captured (streamlit-plotly-events); the
curves are Altair because tidy frames, log axes and legend-bound highlighting are one line each.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd

# ColorBrewer YlGnBu, low = light yellow, high = dark blue (the article's colours). Spelled
# out because plotly's built-in "YlGnBu" runs the other way.
TEMPLATE = "plotly_white"  # explicit: Streamlit's default template shows near-black inside components
YLGNBU = ["#ffffd9", "#edf8b1", "#c7e9b4", "#7fcdbb", "#41b6c4", "#1d91c0", "#225ea8", "#253494", "#081d58"]
FIGURE_HEIGHT = 560
LOG_FLOOR = 1e-16  # f − f_min below this is drawn at this value on log axes
MAX_CHART_POINTS = 600  # per optimizer, on the Altair charts

# The article's colours for its four optimizers; a distinct colour for each other one.
OPTIMIZER_COLORS = {
    "sgd": "#000000", "momentum": "#1f4fd8", "rmsprop": "#d62728", "adam": "#2ca02c",
    "nesterov": "#17becf", "amsgrad": "#8c564b", "adamw": "#bcbd22", "nadam": "#9467bd",
    "radam": "#ff7f0e", "adamax": "#e377c2", "adagrad": "#7f7f7f", "adadelta": "#f2c200",
    "lion": "#00a087", "adabelief": "#a6761d", "eve": "#6a3d9a", "yellowfin": "#fb9a99",
}


@dataclass(frozen=True)
class Path:
    """One optimizer's path as the figures draw it: points up to its last finite one."""

    name: str
    title: str
    color: str
    points: np.ndarray  # (k+1, 2)
    losses: np.ndarray  # (k+1,)
    gradient_norms: np.ndarray  # (k+1,)


class FigureJSON:
    """A Plotly figure as JSON, with the `to_json` that streamlit-plotly-events calls.

    Built from plain dicts rather than plotly.py objects: validating and copying the contour's
    22,500 values on every rerun cost most of a rerun. The landscape's static traces (contour,
    minima) come as JSON text made once per function and cached (`landscape_base`); only the
    paths are serialized per rerun. Plain dicts also carry what plotly.py 7 no longer validates
    but the component's plotly.js 1.58 supports: filter transforms, which make the step
    animation cheap (each frame only changes the step threshold)."""

    def __init__(self, base_traces_json: str, figure: dict):
        self.base_traces_json = base_traces_json
        self.figure = figure

    def to_json(self) -> str:
        traces = [self.base_traces_json] + [_dumps(trace) for trace in self.figure["data"]]
        rest = _dumps({k: v for k, v in self.figure.items() if k != "data"})
        return '{"data":[' + ",".join(t for t in traces if t) + "]," + rest[1:]

    def to_dict(self) -> dict:
        return json.loads(self.to_json())


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _rounded(values: np.ndarray, digits: int = 5) -> list:
    """Plain nested lists (numpy arrays would be sent base64-encoded and render blank in the
    component), with NaN/inf as None (gaps) and a few significant digits to keep JSON small."""
    values = np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    # Subnormal values (a coordinate decaying towards 0 over thousands of steps) would overflow
    # the scaling factor below: they are drawn at 0.
    rounded = np.where(finite & (np.abs(values) >= 1e-300), values, 0.0)
    with np.errstate(divide="ignore"):
        scale = np.where(rounded != 0, np.floor(np.log10(np.abs(rounded))), 0)
    factor = 10.0 ** (digits - 1 - scale)
    rounded = np.round(rounded * factor) / factor
    as_list = rounded.tolist()
    if finite.all():
        return as_list
    return _none_where(as_list, finite.tolist())


def _none_where(values, keep):
    if isinstance(values, list):
        return [_none_where(v, k) for v, k in zip(values, keep)]
    return values if keep else None


def contour_levels(function, z: np.ndarray) -> tuple[np.ndarray, dict, bool]:
    """What the contour colours: z itself or log10(z − f_min), and its contour settings."""
    finite = z[np.isfinite(z)]
    if function.name == "two_gaussians" and function.params == {"a": 2.0, "b": 3.0, "c": 0.2, "d": 0.2}:
        return z, {"start": -2.0, "end": 7.5, "size": 0.5}, False  # the article's thresholds
    if function.log_scale and finite.size:
        low = function.f_min if function.f_min is not None else float(finite.min())
        offset = 1e-7 * max(float(finite.max()) - low, 1e-12)  # keeps log10 finite at the minimum
        with np.errstate(all="ignore"):
            shifted = np.log10(np.maximum(z - low, 0) + offset)
        return shifted, {"start": None, "end": None, "size": None}, True
    if not finite.size:
        return z, {"start": 0.0, "end": 1.0, "size": 0.1}, False
    low, high = float(np.percentile(finite, 0.5)), float(np.percentile(finite, 99.5))
    size = (high - low) / 20 if high > low else 1.0
    return z, {"start": low, "end": high, "size": size}, False


def landscape_base(function, grid) -> tuple[str, int]:
    """The static traces of the landscape (contour and minima) as JSON text, and their count."""
    xs, ys, z = grid
    colour_values, levels, is_log = contour_levels(function, z)
    contour = {
        "type": "contour", "name": "f", "x": _rounded(xs, 6), "y": _rounded(ys, 6), "z": _rounded(colour_values, 4),
        "colorscale": [[i / (len(YLGNBU) - 1), c] for i, c in enumerate(YLGNBU)],
        "contours": {"coloring": "fill", "showlines": False, **{k: v for k, v in levels.items() if v is not None}},
        "autocontour": levels["size"] is None, "ncontours": 25, "showscale": True,
        "colorbar": {"title": {"text": "log₁₀(f − f_min)" if is_log else "f"}, "thickness": 14},
        "hovertemplate": "x=%{x:.3f}<br>y=%{y:.3f}<extra>click to start here</extra>",
    }
    traces = [contour]
    estimated = " (estimated)" if getattr(function, "minima_are_estimated", False) else ""
    for minimum in function.minima:
        label = ("global minimum" if minimum.is_global else "local minimum") + estimated
        (mx, my), value = minimum.point, minimum.value
        traces.append({
            "type": "scatter", "x": [mx], "y": [my], "mode": "markers", "showlegend": False,
            "marker": {"symbol": "star" if minimum.is_global else "circle-open", "size": 15 if minimum.is_global else 10,
                       "color": "#ffffff" if minimum.is_global else "#fde68a", "line": {"color": "#111827", "width": 1.5}},
            "hovertemplate": f"{label}<br>({mx:.4f}, {my:.4f})<br>f = {value:.6g}<extra></extra>",
        })
    return ",".join(_dumps(trace) for trace in traces), len(traces)


def landscape_figure(function, base: tuple[str, int], paths: list[Path], start=None, *, animate: bool = True,
                     height: int = FIGURE_HEIGHT, extra_traces: list[dict] = ()) -> FigureJSON:
    """The landscape (`base` from `landscape_base`) with every path, its end and the start."""
    base_json, base_count = base
    data, path_traces = list(extra_traces), []
    for path in paths:
        path_traces.append(base_count + len(data))
        data.append({
            "type": "scatter", "x": _rounded(path.points[:, 0], 8), "y": _rounded(path.points[:, 1], 8),
            "customdata": list(range(len(path.points))), "mode": "lines", "name": path.title,
            "legendgroup": path.name, "hoverinfo": "skip", "line": {"color": path.color, "width": 3}, "opacity": 0.8,
        })
        end = path.points[-1]
        data.append({
            "type": "scatter", "x": [float(end[0])], "y": [float(end[1])], "mode": "markers",
            "legendgroup": path.name, "showlegend": False, "hoverinfo": "skip",
            "marker": {"color": path.color, "size": 11, "symbol": "x", "line": {"color": "#ffffff", "width": 1}},
        })
    if start is not None:
        data.append({
            "type": "scatter", "x": [float(start[0])], "y": [float(start[1])], "mode": "markers", "name": "start",
            "hoverinfo": "skip", "marker": {"color": "#ffffff", "size": 12, "line": {"color": "#111827", "width": 2}},
        })
    (x0, x1), (y0, y1) = function.domain
    figure = {
        "data": data,
        "layout": {
            "template": TEMPLATE, "height": height, "hovermode": "closest", "dragmode": False,
            # Fixed margins: letting the colour bar, legend and slider push them makes plotly.js
            # lay the figure out twice on every update.
            "margin": {"l": 50, "r": 80, "t": 36, "b": 110, "autoexpand": False},
            "xaxis": {"range": [x0, x1], "title": {"text": "x"}, "constrain": "domain"},
            "yaxis": {"range": [y0, y1], "title": {"text": "y"}, "scaleanchor": "x", "constrain": "domain"},
            "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        },
        "config": {"displayModeBar": False, "responsive": True},
    }
    longest = max((len(p.points) - 1 for p in paths), default=0)
    if animate and path_traces and longest > 0:
        _add_step_animation(figure, path_traces, base_count, longest)
    return FigureJSON(base_json, figure)


def _add_step_animation(figure: dict, path_traces: list[int], base_count: int, longest: int, frames: int = 100,
                        slider_steps: int = 20) -> None:
    """A play button and a step slider revealing the paths step by step, as in the article
    (point i appears after 30·i ms). Each frame only moves a filter's threshold."""

    def shown_until(step: int) -> dict:
        return {"transforms": [{"type": "filter", "target": "customdata", "operation": "<=", "value": step}]}

    for index in path_traces:  # indices count the base traces, which are not in figure["data"]
        figure["data"][index - base_count].update(shown_until(longest))
    stride = max(1, math.ceil(longest / frames))
    steps = list(range(0, longest, stride)) + [longest]
    frame_ms = 30 * stride
    marks = steps[:: max(1, len(steps) // slider_steps)]  # fewer slider stops: each is drawn
    if marks[-1] != steps[-1]:
        marks.append(steps[-1])
    figure["frames"] = [
        {"name": str(s), "traces": path_traces, "data": [shown_until(s) for _ in path_traces]} for s in steps
    ]
    play = {"frame": {"duration": frame_ms, "redraw": True}, "transition": {"duration": 0}, "fromcurrent": False}
    figure["layout"]["updatemenus"] = [{
        "type": "buttons", "direction": "left", "x": 0, "y": -0.13, "xanchor": "left", "yanchor": "top",
        "pad": {"t": 0, "r": 10}, "showactive": False,
        "buttons": [
            {"label": "▶ Play", "method": "animate", "args": [None, play]},
            {"label": "❚❚ Pause", "method": "animate",
             "args": [[None], {"mode": "immediate", "frame": {"duration": 0, "redraw": False}, "transition": {"duration": 0}}]},
        ],
    }]
    figure["layout"]["sliders"] = [{
        "active": len(marks) - 1, "x": 0.22, "len": 0.78, "y": -0.11, "yanchor": "top", "pad": {"t": 0},
        "currentvalue": {"prefix": "step ", "visible": True, "xanchor": "right"},
        "steps": [{"label": str(s), "method": "animate",
                   "args": [[str(s)], {"mode": "immediate", "frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0}}]}
                  for s in marks],
    }]


# ---------------------------------------------------------------------------------------
# Altair curves
# ---------------------------------------------------------------------------------------
def curves_frame(paths: list[Path], f_min: float | None) -> pd.DataFrame:
    """Tidy frame: optimizer, step, loss, gap (f − f_min, floored for log axes), grad_norm.
    At most MAX_CHART_POINTS steps per optimizer (evenly spaced, the last always kept);
    only finite values."""
    frames = []
    for path in paths:
        count = len(path.losses)
        keep = np.unique(np.linspace(0, count - 1, min(count, MAX_CHART_POINTS)).round().astype(int))
        frame = pd.DataFrame({
            "optimizer": path.title, "step": keep, "loss": path.losses[keep],
            "grad_norm": path.gradient_norms[keep],
        })
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["optimizer", "step", "loss", "gap", "grad_norm"])
    data = pd.concat(frames, ignore_index=True)
    data = data[np.isfinite(data["loss"]) & np.isfinite(data["grad_norm"])]
    if f_min is not None:
        data["gap"] = np.maximum(data["loss"] - f_min, LOG_FLOOR)
    data["grad_norm"] = np.maximum(data["grad_norm"], LOG_FLOOR)
    return data.reset_index(drop=True)


def _line_chart(legend: list[tuple[str, str]], field: str, title: str, log: bool, data=alt.Undefined) -> alt.Chart:
    """One line per optimizer over the steps; `legend` is (title, colour) per optimizer.
    Without `data` it is a spec to which Streamlit adds the data (so it can be cached)."""
    highlight = alt.selection_point(fields=["optimizer"], bind="legend")
    y_scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
    colours = alt.Scale(domain=[t for t, _ in legend], range=[c for _, c in legend])
    return (
        alt.Chart(data, title=title)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y(f"{field}:Q", title=title, scale=y_scale),
            color=alt.Color("optimizer:N", scale=colours, legend=alt.Legend(title="click to highlight")),
            opacity=alt.condition(highlight, alt.value(1.0), alt.value(0.15)),
            tooltip=["optimizer:N", "step:Q", alt.Tooltip("loss:Q", format=".6g"), alt.Tooltip("grad_norm:Q", format=".3g")],
        )
        .add_params(highlight)
        .properties(height=250)
    )


def loss_chart(legend: list[tuple[str, str]], has_f_min: bool, data=alt.Undefined) -> alt.Chart:
    """Loss vs step; f − f_min on a log axis when f_min is known."""
    if has_f_min:
        return _line_chart(legend, "gap", "f − f_min (log)", log=True, data=data)
    return _line_chart(legend, "loss", "f", log=False, data=data)


def gradient_chart(legend: list[tuple[str, str]], data=alt.Undefined) -> alt.Chart:
    return _line_chart(legend, "grad_norm", "‖∇f‖ (log)", log=True, data=data)
