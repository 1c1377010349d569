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
CONTOUR_MAX_RESOLUTION = 200  # grid points a side that the component's plotly.js fills as contours
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 36, 46, 8, 102  # px around the landscape's plot
NARROW_BELOW = 480  # px: a plot narrower than this (a phone) has its slider under its buttons
MARGIN_BOTTOM_NARROW = 155
LOG_FLOOR = 1e-16  # f − f_min below this is drawn at this value on log axes
MAX_CHART_POINTS = 600  # per optimizer, on the Altair charts

# The article's colours for its four optimizers; for the others, colours far apart from
# them and from each other (tests/test_figures.py checks their CIELAB distances).
OPTIMIZER_COLORS = {
    "sgd": "#000000", "momentum": "#1f4fd8", "rmsprop": "#d62728", "adam": "#2ca02c",
    "nesterov": "#ff00ff", "amsgrad": "#f38400", "adamw": "#00a087", "nadam": "#654522",
    "radam": "#f781bf", "adamax": "#a6761d", "adagrad": "#848482", "adadelta": "#8db600",
    "lion": "#00d5ff", "adabelief": "#882d17", "eve": "#7a0177", "yellowfin": "#b3446c",
    "rprop": "#0f74bd", "asgd": "#194d19", "adafactor": "#6a00ff",
    "lbfgs": "#ff1493", "newton": "#e6a100",
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
    diverged_at: int = -1  # the step at which the run went non-finite, −1 if it did not


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
        "colorbar": {"title": {"text": "log₁₀(f − f_min)" if is_log else "f", "side": "right"}, "thickness": 8,
                     "xpad": 4, "len": 1, "y": 1, "yanchor": "top"},
        "hoverinfo": "none",  # clicks still land; no label over where the paths begin
    }
    if len(xs) > CONTOUR_MAX_RESOLUTION:  # plotly.js 1.58 draws no filled contour this fine: a heatmap
        contour.update({"type": "heatmap", "zsmooth": "best"})
        for key in ("contours", "autocontour", "ncontours"):
            contour.pop(key)
        if levels["start"] is not None:
            contour.update({"zmin": levels["start"], "zmax": levels["end"]})
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
                     height: int | None = None, extra_traces: list[dict] = (), ms_per_step: int = 30,
                     token: str = "", narrow: bool = False, large: bool = False) -> FigureJSON:
    """The landscape (`base` from `landscape_base`) with every path, its end and the start.

    With `animate`, a ▶ Play / ❚❚ Pause / ↺ Replay bar and a step slider reveal the paths step
    by step (`ms_per_step` each, the article's 30 ms), each optimizer's head marked. The figure
    opens on the full paths (a redraw of the component, on any rerun, shows them whole);
    `token` (layout.meta) tells the page's script (`page.plot_script`) which figure is new, so
    that it presses ↺ Replay once. `narrow` (a phone): the slider goes under the buttons.
    `large` (presentation mode): bigger text, and a slider stop at every frame (the ←/→ keys
    step through them)."""
    base_json, base_count = base
    data, path_traces, head_traces = list(extra_traces), [], []
    reachable = [_within_reach(path.points, function.domain) for path in paths]
    for path, drawn in zip(paths, reachable):
        path_traces.append(base_count + len(data))
        data.append({
            "type": "scatter", "x": _rounded(drawn[:, 0], 8), "y": _rounded(drawn[:, 1], 8),
            "customdata": list(range(len(drawn))), "mode": "lines", "name": path.title,
            "legendgroup": path.name, "hoverinfo": "skip", "line": {"color": path.color, "width": 3}, "opacity": 0.85,
        })
        end = path.points[-1]
        ending = {"mode": "markers", "marker": {"color": path.color, "size": 11, "symbol": "x",
                                                "line": {"color": "#ffffff", "width": 1}}}
        if path.diverged_at >= 0:  # marked and labelled where it left the plot, not where it overflowed
            end = _last_inside(path.points, function.domain)
            data[-1]["name"] = f"{path.title} (diverged)"
            upper_half = end[1] > sum(function.domain[1]) / 2
            ending = {"mode": "markers+text", "text": [f"diverged at step {path.diverged_at}"],
                      "textposition": "bottom center" if upper_half else "top center", "textfont": {"color": "#b91c1c", "size": 12},
                      "marker": {"color": "#ffffff", "size": 13, "symbol": "x-thin-open",
                                 "line": {"color": "#b91c1c", "width": 3}}}
        data.append({
            "type": "scatter", "x": [float(end[0])], "y": [float(end[1])], "legendgroup": path.name,
            "showlegend": False, "hoverinfo": "skip", "cliponaxis": False, **ending,
        })
        head_traces.append(base_count + len(data))
        data.append({
            "type": "scatter", "x": [float(end[0])], "y": [float(end[1])], "mode": "markers",
            "legendgroup": path.name, "showlegend": False, "hoverinfo": "skip", "name": f"{path.title} now",
            "marker": {"color": path.color, "size": 13, "symbol": "circle", "line": {"color": "#ffffff", "width": 2}},
        })
    if start is not None:
        data.append({
            "type": "scatter", "x": [float(start[0])], "y": [float(start[1])], "mode": "markers", "name": "start",
            "hoverinfo": "skip", "showlegend": False,
            "marker": {"color": "#ffffff", "size": 12, "line": {"color": "#111827", "width": 2}},
        })
    (x0, x1), (y0, y1) = function.domain
    figure = {
        "data": data,
        "layout": {
            # Measured with the component's plotly.js 1.58: its first draw fills the frame (which
            # the page makes 10 px taller than this height), later updates use this height; with a
            # frame exactly this tall, or autosize on, it dropped the aspect ratio (scaleanchor).
            "template": TEMPLATE, "autosize": False, "height": height or figure_height(function),
            "hovermode": "closest", "dragmode": False, "meta": token,
            # Fixed margins: letting the colour bar and slider push them makes plotly.js lay the
            # figure out twice on every update. The plot keeps the function's aspect ratio.
            "margin": {"l": MARGIN_LEFT, "r": MARGIN_RIGHT, "t": MARGIN_TOP,
                       "b": MARGIN_BOTTOM_NARROW if narrow else MARGIN_BOTTOM, "autoexpand": False},
            # A narrower plot keeps to the left, under the legend; a shorter one to the top.
            "xaxis": {"range": [x0, x1], "title": {"text": "x", "standoff": 2}, "constrain": "domain",
                      "constraintoward": "left"},
            "yaxis": {"range": [y0, y1], "title": {"text": "y", "standoff": 2}, "scaleanchor": "x",
                      "constrain": "domain", "constraintoward": "top"},
            # Inside the plot's top-left corner (bottom-left when the paths or the start are
            # there): every enabled optimizer's name on the contour.
            "legend": {"x": 0.01, **_legend_corner(function, paths, start), "xanchor": "left", "orientation": "v",
                       "bgcolor": "rgba(255,255,255,0.82)", "bordercolor": "#9ca3af", "borderwidth": 1,
                       "font": {"size": 18 if large else 12, "color": "#111827"}, "tracegroupgap": 0},
            "showlegend": bool(paths),
            **({"font": {"size": 16}} if large else {}),
        },
        "config": {"displayModeBar": False, "responsive": True},
    }
    longest = max((len(p.points) - 1 for p in paths), default=0)
    if animate and path_traces and longest > 0:
        _add_step_animation(figure, reachable, path_traces, head_traces, base_count, longest, ms_per_step, narrow,
                            slider_steps=100 if large else 10, font_size=16 if large else 12)
    return FigureJSON(base_json, figure)


def _legend_corner(function, paths: list[Path], start) -> dict:
    """Top-left, unless the start or more of the paths lie under the legend's box there than in
    the bottom-left one (the box: ~130 px wide, a row of 18 px per optimizer, on a plot of ~480 px)."""
    (x0, x1), (y0, y1) = function.domain
    width, height = 130 / 480, (10 + 18 * len(paths)) / 480
    ratio = (y1 - y0) / (x1 - x0)  # a tall plot is narrower: the box covers more of its width
    width *= max(1.0, ratio)
    points = [np.empty((0, 2))] + [p.points[np.all(np.isfinite(p.points), axis=1)] for p in paths]
    if start is not None:
        points += [np.asarray([start], dtype=float)] * 20  # the start weighs as 20 path points
    points = np.concatenate(points)
    u, v = (points[:, 0] - x0) / (x1 - x0), (points[:, 1] - y0) / (y1 - y0)
    left = u <= width
    top, bottom = int(np.sum(left & (v >= 1 - height))), int(np.sum(left & (v <= height)))
    return {"y": 0.01, "yanchor": "bottom"} if bottom < top else {"y": 0.99, "yanchor": "top"}


def _first_outside(points: np.ndarray, domain, reach: float = 0.0) -> int | None:
    """Index of the path's first point farther than `reach` domain sizes outside the domain
    (0: outside the domain itself), None if there is none."""
    (x0, x1), (y0, y1) = domain
    dx, dy = reach * (x1 - x0), reach * (y1 - y0)
    far = (points[:, 0] < x0 - dx) | (points[:, 0] > x1 + dx) | (points[:, 1] < y0 - dy) | (points[:, 1] > y1 + dy)
    beyond = np.flatnonzero(far)
    return int(beyond[0]) if beyond.size else None


def _within_reach(points: np.ndarray, domain, reach: float = 10.0) -> np.ndarray:
    """The path up to its first point farther than `reach` domain sizes from the domain (that
    point included, so the line still leaves the plot): coordinates of 1e300 on the way to a
    divergence made plotly.js drop the whole figure, contour included."""
    first = _first_outside(points, domain, reach)
    return points if first is None else points[: first + 1]


def _last_inside(points: np.ndarray, domain) -> np.ndarray:
    """The path's last point before it first leaves the domain (its last point if it never does)."""
    first = _first_outside(points, domain)
    return points[-1] if first is None else points[max(first - 1, 0)]


def sized_formula(formula: str, small_below: int) -> str:
    """LaTeX of a formula in small type, or in smaller type when it is `small_below`
    characters or longer, so that it fits a narrow card or column."""
    return (r"\small " if len(formula) < small_below else r"\scriptsize ") + formula


def figure_height(function, plot_width: int = 560, tallest: int = 640, narrow: bool = False) -> int:
    """Height of the landscape figure at which a plot `plot_width` px wide keeps the
    function's aspect ratio (no empty bands), at most `tallest` px (fits a 1280×720 screen)."""
    (x0, x1), (y0, y1) = function.domain
    ratio = (y1 - y0) / (x1 - x0)
    margins = MARGIN_TOP + (MARGIN_BOTTOM_NARROW if narrow else MARGIN_BOTTOM)
    return int(min(tallest, max(200 if narrow else 360, round(plot_width * ratio) + margins)))


def _add_step_animation(figure: dict, paths: list[np.ndarray], path_traces: list[int], head_traces: list[int],
                        base_count: int, longest: int, ms_per_step: int, narrow: bool = False, frames: int = 100,
                        slider_steps: int = 10, font_size: int = 12) -> None:
    """Play / Pause / Replay buttons and a step slider revealing the paths step by step, as in
    the article (point i appears after ms_per_step·i ms). A frame moves each line's filter
    threshold and each optimizer's head to its point at that step (its last one once done)."""

    def frame_data(step: int) -> list[dict]:
        lines = [{"transforms": [{"type": "filter", "target": "customdata", "operation": "<=", "value": step}]}
                 for _ in path_traces]
        heads = []
        for points in paths:  # each path's drawn points
            x, y = points[min(step, len(points) - 1)]
            heads.append({"x": [float(x)], "y": [float(y)]})
        return lines + heads

    stride = max(1, math.ceil(longest / frames))
    steps = list(range(0, longest, stride)) + [longest]
    for trace, update in zip(path_traces + head_traces, frame_data(longest)):
        figure["data"][trace - base_count].update(update)
    traces = path_traces + head_traces
    figure["frames"] = [{"name": str(s), "traces": traces, "data": frame_data(s)} for s in steps]
    play = {"frame": {"duration": ms_per_step * stride, "redraw": True}, "transition": {"duration": 0},
            "mode": "immediate"}
    marks = steps[:: max(1, len(steps) // slider_steps)]  # fewer slider stops: each is drawn
    if marks[-1] != steps[-1]:
        marks.append(steps[-1])
    figure["layout"]["updatemenus"] = [{
        "type": "buttons", "direction": "left", "x": 0, "y": 0, "xanchor": "left", "yanchor": "top",
        "pad": {"t": 36, "r": 4}, "showactive": False, "font": {"size": font_size},
        "buttons": [
            {"label": "▶ Play", "method": "animate", "args": [None, {**play, "fromcurrent": True}]},
            {"label": "❚❚ Pause", "method": "animate",
             "args": [[None], {"mode": "immediate", "frame": {"duration": 0, "redraw": False}, "transition": {"duration": 0}}]},
            {"label": "↺ Replay", "method": "animate", "args": [None, {**play, "fromcurrent": False}]},
        ],
    }]
    figure["layout"]["sliders"] = [{
        # Beside the buttons, or under them on a narrow plot (a phone), where they would overlap.
        "active": len(marks) - 1, "x": 0 if narrow else 0.5, "len": 1 if narrow else 0.5, "y": 0, "yanchor": "top",
        "pad": {"t": 76 if narrow else 30, "b": 0, "l": 0, "r": 0}, "font": {"size": font_size - 2}, "ticklen": 3,
        "currentvalue": {"prefix": "step ", "visible": True, "xanchor": "right", "offset": 2,
                         "font": {"size": font_size}},
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


Y_AXIS_WIDTH = 64  # px for every step chart's y axis, so that charts stacked in a column share their x axis


def _line_chart(legend: list[tuple[str, str]], field: str, title: str, log: bool, data=alt.Undefined,
                tooltip=(("loss", ".6g"), ("grad_norm", ".3g")), interpolate: str = "linear",
                with_legend: bool = True) -> alt.Chart:
    """One line per optimizer over the steps; `legend` is (title, colour) per optimizer.
    Without `data` it is a spec to which Streamlit adds the data (so it can be cached)."""
    highlight = alt.selection_point(fields=["optimizer"], bind="legend")
    y_scale = alt.Scale(type="log") if log else alt.Scale(zero=False)
    colours = alt.Scale(domain=[t for t, _ in legend], range=[c for _, c in legend])
    return (
        alt.Chart(data, title=title)
        .mark_line(strokeWidth=2, clip=True, interpolate=interpolate)
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y(f"{field}:Q", title=title, scale=y_scale,
                    axis=alt.Axis(minExtent=Y_AXIS_WIDTH, maxExtent=Y_AXIS_WIDTH)),
            # Below the chart, in columns: every optimizer listed, however many are on.
            color=alt.Color("optimizer:N", scale=colours,
                            legend=alt.Legend(title=None, orient="bottom", columns=4, symbolLimit=0, labelLimit=120)
                            if with_legend else None),
            opacity=alt.condition(highlight, alt.value(1.0), alt.value(0.15)),
            tooltip=["optimizer:N", "step:Q", *(alt.Tooltip(f"{name}:Q", format=f) for name, f in tooltip)],
        )
        .add_params(highlight)
        .properties(height=250)
    )


def schedule_chart(legend: list[tuple[str, str]], field: str, title: str) -> alt.Chart:
    """A schedule's lr (or momentum) per step, drawn as the constant it is within each step.
    No legend: the lines have the colours of the loss chart's just above."""
    return _line_chart(legend, field, title, log=False, tooltip=((field, ".4g"),), interpolate="step-after",
                       with_legend=False)


def loss_chart(legend: list[tuple[str, str]], has_f_min: bool, data=alt.Undefined) -> alt.Chart:
    """Loss vs step; f − f_min on a log axis when f_min is known."""
    if has_f_min:
        return _line_chart(legend, "gap", "f − f_min (log)", log=True, data=data)
    return _line_chart(legend, "loss", "f", log=False, data=data)


def gradient_chart(legend: list[tuple[str, str]], data=alt.Undefined) -> alt.Chart:
    return _line_chart(legend, "grad_norm", "‖∇f‖ (log)", log=True, data=data)


def stability_chart(data: pd.DataFrame, legend: list[tuple[str, str]], longest: int) -> alt.Chart:
    """Each step's effective sharpness over its method's threshold (log scale), a rule at the
    edge (1) and the unstable side shaded, on the loss chart's steps. No legend: the loss
    chart's colours."""
    low = min(float(data["ratio"].min()), 0.5)
    high = max(float(data["ratio"].max()), 2.0)
    y_scale = alt.Scale(type="log", domain=[low, high])
    x = alt.X("step:Q", title="step", scale=alt.Scale(domain=[0, longest]))
    band = alt.Chart(pd.DataFrame({"low": [1.0], "high": [high]})).mark_rect(color="#fee2e2", opacity=0.8).encode(
        y=alt.Y("low:Q", scale=y_scale), y2="high:Q")
    edge = alt.Chart(pd.DataFrame({"y": [1.0]})).mark_rule(color="#b91c1c", strokeDash=[4, 3]).encode(
        y=alt.Y("y:Q", scale=y_scale))
    colours = alt.Scale(domain=[t for t, _ in legend], range=[c for _, c in legend])
    lines = alt.Chart(data).mark_line(strokeWidth=2, clip=True).encode(
        x=x,
        y=alt.Y("ratio:Q", title="curvature ÷ limit (log)", scale=y_scale,
                axis=alt.Axis(minExtent=Y_AXIS_WIDTH, maxExtent=Y_AXIS_WIDTH)),
        color=alt.Color("optimizer:N", scale=colours, legend=None),
        tooltip=["optimizer:N", "step:Q", alt.Tooltip("ratio:Q", title="curvature ÷ limit", format=".3g")],
    )
    return alt.layer(band, edge, lines, title="stability (above 1: unstable)")


def unstable_steps_trace(stabilities: dict) -> dict:
    """The points where an unstable step was taken, as red crosses (not hoverable, so clicks
    reach the contour); at most MAX_UNSTABLE_MARKS of them."""
    points = [s["taken_at"][s["unstable"]] for s in stabilities.values() if s["unstable"].any()]
    points = np.concatenate(points)[:MAX_UNSTABLE_MARKS]
    return {"type": "scatter", "mode": "markers", "name": "unstable steps", "x": points[:, 0].tolist(),
            "y": points[:, 1].tolist(), "hoverinfo": "skip",
            "marker": {"symbol": "x", "size": 7, "color": "#dc2626", "line": {"width": 0}}}


MAX_UNSTABLE_MARKS = 2000
