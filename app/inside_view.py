"""A look inside: each optimizer's internal state over the steps, the gradient field on the
landscape, a 3D view of the surface with the paths, and two runs compared side by side.

The figures are built by plain functions (`internals_charts`, `surface_figure`,
`compare_figure`, `gradient_arrows_trace`) so that tests can check them without a server; the
`*_view` functions draw them into the current Streamlit container.
"""

from __future__ import annotations

import json
import math

import altair as alt
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import core
from core import inside
from core import OPTIMIZER_CLASSES
from core.optimizers import INTERNALS

from . import compute
from .figures import MAX_CHART_POINTS, OPTIMIZER_COLORS, YLGNBU, Path, contour_levels

TEMPLATE = "plotly_white"
COLORSCALE = [[i / (len(YLGNBU) - 1), c] for i, c in enumerate(YLGNBU)]
# Quantities drawn side by side; any other name of INTERNALS follows, two to a row.
CHART_ROWS = (
    ("effective step size x", "effective step size y"),
    ("second moment x", "second moment y"),
    ("first moment norm", "feedback d"),
    ("tuned lr", "tuned momentum"),
    ("velocity norm", "variance C"),
    ("h_min", "h_max"),
    ("distance D",),
    ("averaged x", "averaged y"),
)
ARROW_COLOR = "rgba(17, 24, 39, 0.45)"
SURFACE_STRIDE = 2  # the surface uses every other point of the contour grid
SURFACE_FLOOR = 1e-3  # ε of the log-scale surface, as a share of f's range over the domain
LR_FACTORS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)
COMPARE_HEIGHT = 430


def _title(name: str) -> str:
    return OPTIMIZER_CLASSES[name].title


def _colour(name: str) -> str:
    return OPTIMIZER_COLORS.get(name, "#444444")


def _last_finite(result: dict) -> int:
    """Index of the last point before the divergence (all of them if none)."""
    last = result["diverged_at"] - 1 if result["diverged_at"] >= 0 else len(result["points"]) - 1
    return max(last, 0)


# ---------------------------------------------------------------------------------------
# Internals over the steps
# ---------------------------------------------------------------------------------------
@st.cache_data(max_entries=256, show_spinner=False)
def cached_internals(function_name: str, function_key: str, optimizer_name: str, hyper_key: str, steps: int,
                     start: tuple[float, float], noise: float, seed: int, schedule: str = "") -> dict[str, np.ndarray]:
    function = compute.make_function(function_name, function_key)
    optimizer = core.get_optimizer(optimizer_name, **json.loads(hyper_key))
    return inside.trace_internals(function, optimizer, start, steps, noise, seed, compute.make_scheduler(schedule))


def internals_frame(traces: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """Tidy frame (optimizer, step, quantity, value) from {optimizer title: trace_internals(...)},
    finite values only, at most MAX_CHART_POINTS steps per series (the last always kept)."""
    frames = []
    for title, internals in traces.items():
        for quantity, values in internals.items():
            count = len(values)
            if not count:
                continue
            keep = np.unique(np.linspace(0, count - 1, min(count, MAX_CHART_POINTS)).round().astype(int))
            frames.append(pd.DataFrame({"optimizer": title, "step": keep + 1, "quantity": quantity,
                                        "value": np.asarray(values, dtype=float)[keep]}))
    if not frames:
        return pd.DataFrame({"optimizer": pd.Series(dtype=str), "step": pd.Series(dtype=int),
                             "quantity": pd.Series(dtype=str), "value": pd.Series(dtype=float)})
    data = pd.concat(frames, ignore_index=True)
    return data[np.isfinite(data["value"])].reset_index(drop=True)


def internals_charts(data: pd.DataFrame, colours: dict[str, str]) -> dict[str, alt.Chart]:
    """One line chart per quantity in `data` (in the order of INTERNALS), colour = optimizer
    (`colours`: title -> colour), a log y axis where every value is positive, and a legend
    that highlights an optimizer when clicked."""
    charts = {}
    present = set(data["quantity"])
    for quantity in [q for q in INTERNALS if q in present] + sorted(present - set(INTERNALS)):
        part = data[data["quantity"] == quantity]
        titles = [t for t in colours if t in set(part["optimizer"])]
        log = bool((part["value"] > 0).all())
        highlight = alt.selection_point(fields=["optimizer"], bind="legend")
        charts[quantity] = (
            alt.Chart(part)
            .mark_line(strokeWidth=2)
            .encode(
                x=alt.X("step:Q", title="step"),
                y=alt.Y("value:Q", title="log scale" if log else None,
                        scale=alt.Scale(type="log") if log else alt.Scale(zero=False)),
                color=alt.Color("optimizer:N", scale=alt.Scale(domain=titles, range=[colours[t] for t in titles]),
                                legend=alt.Legend(title=None)),
                opacity=alt.condition(highlight, alt.value(1.0), alt.value(0.15)),
                tooltip=["optimizer:N", "step:Q", alt.Tooltip("value:Q", title=quantity, format=".4g")],
            )
            .add_params(highlight)
            .properties(height=180)
        )
    return charts


def _chart_rows(quantities) -> list[list[str]]:
    """The quantities laid out in rows of at most two (pairs as in CHART_ROWS)."""
    quantities = list(quantities)
    rows = [[q for q in row if q in quantities] for row in CHART_ROWS]
    rest = [q for q in quantities if not any(q in row for row in CHART_ROWS)]
    rows += [rest[i: i + 2] for i in range(0, len(rest), 2)]
    return [row for row in rows if row]


def _ready(start, runs, purpose: str) -> bool:
    """Whether there is a start and an enabled optimizer; if not, say what to do."""
    if start is None:
        st.info(f"**Click a start on the contour** {purpose}.", icon="👆")
        return False
    if not runs:
        st.info("Enable an optimizer in the sidebar.")
        return False
    return True


def internals_view(function_name: str, function_key: str, runs: list[compute.Run], start, noise: float,
                   seed: int) -> None:
    """Each enabled optimizer's internal state after every step of its path from `start`."""
    if not _ready(start, runs, "to see each optimizer's internal state along its path"):
        return
    st.markdown("What each optimizer carries from step to step, along its path above: the value after step *t*. "
                "Click a legend entry to highlight one optimizer.")
    traces, colours, notes = {}, {}, []
    for name, hyperparameters, steps, schedule in runs:
        internals = cached_internals(function_name, function_key, name, compute.params_key(hyperparameters),
                                     int(steps), tuple(map(float, start)), float(noise), int(seed), schedule)
        traces[_title(name)] = internals
        colours[_title(name)] = _colour(name)
        recorded = min((len(v) for v in internals.values()), default=0)
        if recorded < steps:
            notes.append(f"{_title(name)}: steps 1–{recorded} (after that its path diverged or its state "
                         "was no longer finite)")
    if notes:
        st.caption("Shown: " + "; ".join(notes) + ".")
    charts = internals_charts(internals_frame(traces), colours)
    for row in _chart_rows(charts):
        for column, quantity in zip(st.columns(2), row):
            with column:
                st.markdown(f"**{quantity}**")
                st.caption(INTERNALS.get(quantity, ""))
                st.altair_chart(charts[quantity], width="stretch")


# ---------------------------------------------------------------------------------------
# Gradient arrows on the landscape
# ---------------------------------------------------------------------------------------
def _plain(values: np.ndarray) -> list:
    """Plain floats (6 significant digits) with None where not finite: numpy arrays would be
    sent base64-encoded and render blank in the streamlit-plotly-events component."""
    return [float(f"{v:.6g}") if math.isfinite(v) else None for v in np.ravel(values).tolist()]


def gradient_arrows_trace(function, resolution: int = 15) -> dict:
    """A plotly scatter trace (plain dict) of arrows along −∇f, the direction every optimizer
    is pushed, at the centres of a resolution × resolution grid over the domain: each arrow is
    a shaft and two short barbs, segments separated by None. Not hoverable, so clicks reach the
    contour below."""
    xs, ys, u, v = inside.gradient_field(function, resolution)
    (x0, x1), (y0, y1) = function.domain
    length = 0.7 * min(x1 - x0, y1 - y0) / max(int(resolution), 1)
    head = 0.35 * length
    tail_x, tail_y = xs - 0.5 * length * u, ys - 0.5 * length * v
    tip_x, tip_y = xs + 0.5 * length * u, ys + 0.5 * length * v
    cos, sin = np.cos(np.radians(150)), np.sin(np.radians(150))  # barbs 30° off the shaft, pointing back
    left_x, left_y = tip_x + head * (u * cos - v * sin), tip_y + head * (u * sin + v * cos)
    right_x, right_y = tip_x + head * (u * cos + v * sin), tip_y + head * (-u * sin + v * cos)
    gap = np.full_like(xs, np.nan)
    # Per arrow: tail → tip, gap, left barb → tip → right barb, gap.
    x = np.column_stack([tail_x, tip_x, gap, left_x, tip_x, right_x, gap])
    y = np.column_stack([tail_y, tip_y, gap, left_y, tip_y, right_y, gap])
    return {
        "type": "scatter", "mode": "lines", "name": "−∇f direction", "x": _plain(x), "y": _plain(y),
        "hoverinfo": "skip", "showlegend": False, "line": {"color": ARROW_COLOR, "width": 1},
    }


def averaged_path_traces(function_name: str, function_key: str, runs: list[compute.Run], start, noise: float,
                         seed: int) -> list[dict]:
    """For each ASGD run that averages within its steps (t₀ < steps): its averaged point ā_t
    after every step, as a dotted line in ASGD's colour (not hoverable, so clicks reach the
    contour). Before t₀ the average is the point itself, so the line starts at the path."""
    traces = []
    for name, hyperparameters, steps, schedule in runs:
        if name != "asgd" or start is None or core.get_optimizer(name, **hyperparameters).t0 >= steps:
            continue
        internals = cached_internals(function_name, function_key, name, compute.params_key(hyperparameters),
                                     int(steps), tuple(map(float, start)), float(noise), int(seed), schedule)
        traces.append({
            "type": "scatter", "mode": "lines", "name": f"{_title(name)} average",
            "x": _plain(internals["averaged x"]), "y": _plain(internals["averaged y"]),
            "hoverinfo": "skip", "line": {"color": _colour(name), "width": 2.5, "dash": "dot"},
        })
    return traces


# ---------------------------------------------------------------------------------------
# 3D surface
# ---------------------------------------------------------------------------------------
def _height(function, z: np.ndarray):
    """The z transform of the 3D view and its axis title: f itself, or for log-scale functions
    log10(f − f_min + ε) (f_min: the known minimum, else the grid's), ε = SURFACE_FLOOR × the
    range of f: the coarse grid does not resolve a narrow valley's floor, so a smaller ε only
    draws spikes."""
    finite = z[np.isfinite(z)]
    if not (function.log_scale and finite.size):
        return (lambda values: np.asarray(values, dtype=float)), "f"
    low = function.f_min if function.f_min is not None else float(finite.min())
    small = SURFACE_FLOOR * max(float(finite.max()) - low, 1e-12)

    def transform(values):
        with np.errstate(all="ignore"):
            return np.log10(np.maximum(np.asarray(values, dtype=float) - low, 0.0) + small)

    return transform, "log₁₀(f − f_min + ε)"


def _every_other(count: int) -> np.ndarray:
    return np.unique(np.r_[np.arange(0, count, SURFACE_STRIDE), count - 1])


def surface_figure(function, grid, paths: list[Path]) -> go.Figure:
    """f over the domain as a 3D surface, with each path drawn on it at z = f(point) (lifted
    by 1% of the height range so that it stays visible). Points outside the domain or with a
    non-finite value are left out of the lines."""
    xs, ys, z = grid
    rows, columns = _every_other(len(ys)), _every_other(len(xs))
    xs, ys, z = np.asarray(xs)[columns], np.asarray(ys)[rows], np.asarray(z, dtype=float)[np.ix_(rows, columns)]
    height, z_title = _height(function, z)
    surface_z = height(z)
    surface_z = np.where(np.isfinite(surface_z), surface_z, np.nan)
    finite = surface_z[np.isfinite(surface_z)]
    lift = 0.01 * (float(finite.max() - finite.min()) if finite.size else 1.0)
    fig = go.Figure(go.Surface(x=xs, y=ys, z=surface_z, colorscale=COLORSCALE, showscale=False, opacity=0.95,
                               name="f", hovertemplate="x=%{x:.3f}<br>y=%{y:.3f}<extra></extra>"))
    (x0, x1), (y0, y1) = function.domain
    for path in paths:
        px, py = path.points[:, 0], path.points[:, 1]
        pz = height(path.losses) + lift
        keep = np.isfinite(px) & np.isfinite(py) & np.isfinite(pz) & (px >= x0) & (px <= x1) & (py >= y0) & (py <= y1)
        fig.add_trace(go.Scatter3d(
            x=np.where(keep, px, np.nan), y=np.where(keep, py, np.nan), z=np.where(keep, pz, np.nan),
            mode="lines", name=path.title, line={"color": path.color, "width": 6}, connectgaps=False,
            hovertemplate=f"{path.title}<br>x=%{{x:.3f}}<br>y=%{{y:.3f}}<extra></extra>",
        ))
    aspect_y = min(max((y1 - y0) / (x1 - x0), 0.5), 2.0)
    fig.update_layout(
        template=TEMPLATE, height=600, margin={"l": 0, "r": 0, "t": 30, "b": 0},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0},
        scene={"xaxis": {"title": {"text": "x"}, "range": [x0, x1]},
               "yaxis": {"title": {"text": "y"}, "range": [y0, y1]},
               "zaxis": {"title": {"text": z_title}},
               "aspectmode": "manual", "aspectratio": {"x": 1.0, "y": aspect_y, "z": 0.6},
               "camera": {"eye": {"x": -1.15, "y": -1.15, "z": 1.35}}},
    )
    return fig


def surface_view(function, grid, paths: list[Path]) -> None:
    """The 3D surface with the paths; drag to turn it."""
    if not paths:
        st.caption("Click a start on the contour to draw the paths on the surface.")
    elif function.log_scale:
        st.caption(f"Height: log₁₀(f − f_min + ε), ε = {SURFACE_FLOOR:g} × the range of f over the domain, so that "
                   "the valley floor shows. Drag to turn the surface.")
    st.plotly_chart(surface_figure(function, grid, paths), width="stretch")


# ---------------------------------------------------------------------------------------
# Compare two runs
# ---------------------------------------------------------------------------------------
def compare_figure(function, grid, points: np.ndarray, step: int, colour: str, title: str) -> go.Figure:
    """The contour with one path up to `step` (clamped to its length) and its point there."""
    xs, ys, z = grid
    colour_values, levels, is_log = contour_levels(function, np.asarray(z, dtype=float))
    step = min(int(step), len(points) - 1)
    shown = points[: step + 1]
    fig = go.Figure(go.Contour(
        x=xs, y=ys, z=colour_values, colorscale=COLORSCALE, showscale=False, hoverinfo="skip", ncontours=25,
        contours={"coloring": "fill", "showlines": False, **{k: v for k, v in levels.items() if v is not None}},
        autocontour=levels["size"] is None,
    ))
    for minimum in function.global_minima:
        fig.add_trace(go.Scatter(x=[minimum.point[0]], y=[minimum.point[1]], mode="markers", hoverinfo="skip",
                                 marker={"symbol": "star", "size": 13, "color": "#ffffff",
                                         "line": {"color": "#111827", "width": 1.5}}))
    fig.add_trace(go.Scatter(x=shown[:, 0], y=shown[:, 1], mode="lines", hoverinfo="skip",
                             line={"color": colour, "width": 3}))
    fig.add_trace(go.Scatter(x=points[:1, 0], y=points[:1, 1], mode="markers", hoverinfo="skip",
                             marker={"color": "#ffffff", "size": 10, "line": {"color": "#111827", "width": 2}}))
    fig.add_trace(go.Scatter(x=shown[-1:, 0], y=shown[-1:, 1], mode="markers",
                             marker={"color": colour, "size": 13, "line": {"color": "#ffffff", "width": 2}},
                             hovertemplate=f"step {step}<br>x=%{{x:.4f}}<br>y=%{{y:.4f}}<extra></extra>"))
    (x0, x1), (y0, y1) = function.domain
    fig.update_layout(
        template=TEMPLATE, height=COMPARE_HEIGHT, showlegend=False, title={"text": title, "x": 0.02},
        margin={"l": 40, "r": 10, "t": 40, "b": 30},
        xaxis={"range": [x0, x1], "constrain": "domain"},
        yaxis={"range": [y0, y1], "scaleanchor": "x", "constrain": "domain"},
    )
    return fig


def _factor_label(factor: float) -> str:
    return f"×{factor:g}"


def compare_view(keys, function_name: str, function_key: str, function, grid, runs: list[compute.Run],
                 start, noise: float, seed: int) -> None:
    """Two runs from the same start side by side (two optimizers, or one at two learning
    rates), with one step slider for both."""
    if not _ready(start, runs, "to compare two runs from it"):
        return
    st.markdown("Two runs from the same start, step by step: pick an enabled optimizer on each side, and "
                "scale its learning rate to compare one optimizer with itself.")
    settings = {name: (hyperparameters, int(steps), schedule) for name, hyperparameters, steps, schedule in runs}
    names = list(settings)
    defaults = {"left": (names[0], 1.0), "right": (names[1], 1.0) if len(names) > 1 else (names[0], 0.5)}
    sides = {}
    for side, column in zip(("left", "right"), st.columns(2)):
        name_key, factor_key = keys("compare", side, "optimizer"), keys("compare", side, "lr_factor")
        compute.keep_choice(name_key, names, defaults[side][0])
        compute.keep_choice(factor_key, list(LR_FACTORS), defaults[side][1])
        with column:
            pick, scale = st.columns([3, 2])
            name = pick.selectbox(f"{side} optimizer", names, format_func=_title, key=name_key)
            factor = scale.select_slider("learning rate", LR_FACTORS, format_func=_factor_label, key=factor_key)
        hyperparameters, steps, schedule = settings[name]
        lr = float(f"{float(hyperparameters.get('lr', core.get_optimizer(name).lr)) * factor:.6g}")
        result = compute.optimizer_run(function_name, function_key, name,
                                       compute.params_key({**hyperparameters, "lr": lr}), steps,
                                       tuple(map(float, start)), noise, seed, schedule)
        sides[side] = (name, lr, steps, result)

    longest = max(steps for _, _, steps, _ in sides.values())
    step_key = keys("compare", "step")
    if step_key not in st.session_state or not 0 <= st.session_state[step_key] <= longest:
        st.session_state[step_key] = longest
    step = st.slider("step (both runs)", min_value=0, max_value=longest, key=step_key)

    for side, column in zip(("left", "right"), st.columns(2)):
        name, lr, steps, result = sides[side]
        last = _last_finite(result)
        points, losses = result["points"][: last + 1], result["losses"][: last + 1]
        shown = min(step, last)
        with column:
            figure = compare_figure(function, grid, points, shown, _colour(name), f"{_title(name)} · lr {lr:g}")
            st.plotly_chart(figure, width="stretch", config={"displayModeBar": False},
                            key=keys("compare", side, "figure"))
            text = f"**{_title(name)}**, lr {lr:g} — step {shown}: f = {losses[shown]:.6g}"
            if result["diverged_at"] >= 0 and step > last:
                text += f" (diverged at step {result['diverged_at']}; shown at its last finite point)"
            elif step > steps:
                text += f" (its run has {steps} steps)"
            st.markdown(text)
