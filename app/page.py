"""The one page builder every function page calls: `function_page("rosenbrock")`.

Per run of the script:
  1. the page's state (a PageState kept in session_state) comes from the URL on first visit;
  2. a new click on the contour (the component's value, read before drawing) sets the start;
  3. the sidebar widgets show and edit the state;
  4. every enabled optimizer runs (cached) and the landscape, curves and table are drawn;
  5. the URL is rewritten so that a copied link reopens the same view.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import math
import urllib.parse

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.runtime.state.query_params import (CLIENT_STATE_QUERY_STRING_MAX_FIELDS,
                                               CLIENT_STATE_QUERY_STRING_MAX_LENGTH)
import streamlit.components.v1 as components
from streamlit.errors import StreamlitPageNotFoundError
from streamlit_plotly_events import plotly_events

import core
from core.engine import OUTCOME_NAMES
from core.transform import SCALE_RANGE
from core import FUNCTION_CLASSES, OPTIMIZER_CLASSES

from . import compute
from .analysis_view import basins_view, sweep_view
from .navigation import leave_pages_directory_mode
from .inside_view import averaged_path_traces, cached_internals, compare_view, gradient_arrows_trace, internals_view, surface_view
from .figures import (stability_chart, unstable_steps_trace, MARGIN_LEFT, MARGIN_RIGHT, NARROW_BELOW, OPTIMIZER_COLORS, Path, curves_frame, figure_height,
                      landscape_figure, sized_formula)
from .presets import PRESET_NAMES
from .navigation import page_link_path, url_path
from .scenarios import SCENARIOS
from . import schedules
from .schedule_view import schedule_widgets
from .widgets import PageKeys, init_widget, number_input, refusals
from .state import (MAX_NOISE, MAX_STEPS, ON_OFF, VIEW_CHOICES, PageState, changes_from_preset, from_query,
                    preset_state, to_query)

LR_MANTISSAS = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
LR_OPTIONS = tuple(float(f"{m * 10.0 ** e:.3g}") for e in range(-6, 2) for m in LR_MANTISSAS)


def _title(name: str) -> str:
    return OPTIMIZER_CLASSES[name].title


def optimizer_note(name: str) -> str:
    """What the optimizer does, in plain words, and whose it is."""
    cls = OPTIMIZER_CLASSES[name]
    return f"{cls.note} ({cls.paper})" if cls.paper else cls.note


# Beyond these Streamlit drops a whole query string without a word; the page's script says so
# (see plot_script).
MAX_QUERY_FIELDS, MAX_QUERY_LENGTH = CLIENT_STATE_QUERY_STRING_MAX_FIELDS, CLIENT_STATE_QUERY_STRING_MAX_LENGTH


# ---------------------------------------------------------------------------------------
# State: URL on first visit, clicks, widgets
# ---------------------------------------------------------------------------------------
def _load_state(keys: PageKeys, function_name: str, function_class) -> PageState:
    """The page's state: from the URL on the first visit, and again whenever a scenario's link
    (`?guide=<key>`) was followed; the page's own address names the scenario `scenario=`."""
    state = st.session_state.get(keys("state"))
    query = st.query_params.to_dict()
    if state is None or "guide" in query:
        afresh = state is not None  # widgets show the old state: make them show the new one
        state, warnings = from_query(query, function_name, function_class)
        st.session_state[keys("state")] = state
        st.session_state[keys("url_warnings")] = warnings
        if afresh:
            _reset_widgets(keys)
            for axis, value in zip(("start_x", "start_y"), state.start or (None, None)):
                st.session_state[keys(axis)] = value
        for url_key, parts in VIEW_WIDGETS.items():
            if url_key in state.view or afresh and keys(*parts) in st.session_state:
                text = state.view.get(url_key, VIEW_CHOICES[url_key][0])  # a scenario's, or the default
                st.session_state[keys(*parts)] = _widget_value(url_key, text)
    return state


# The widgets that hold how the page is viewed (app.state.VIEW_CHOICES), by URL key.
VIEW_WIDGETS = {"tab": ("tabs",), "speed": ("w", "speed"), "arrows": ("arrows",),
                "basins.on": ("basins_go.on",), "basins.grid": ("basin_resolution",),
                "sweep.on": ("sweep_go.on",), "sweep.span": ("sweep_span",), "inside.on": ("show_inside",),
                "surface.on": ("show_surface",), "compare.on": ("show_compare",),
                "stability.on": ("show_stability",)}
TABS = {"results": "Results", "basins": "Basins & success rates", "sweep": "Learning-rate sensitivity",
        "inside": "Inside the optimizers", "surface": "3D surface", "compare": "Compare", "share": "Share & export"}


def _widget_value(url_key: str, text: str):
    """A view setting from its URL text to its widget's value."""
    if VIEW_CHOICES[url_key] == ON_OFF:
        return text == "true"
    if url_key in ("basins.grid", "sweep.span"):
        return int(text)
    return TABS[text] if url_key == "tab" else text


def _view_of_widgets(keys: PageKeys) -> dict[str, str]:
    """The view settings (URL key -> text) that the widgets hold now."""
    slugs = {label: slug for slug, label in TABS.items()}
    view = {}
    for url_key, parts in VIEW_WIDGETS.items():
        value = st.session_state.get(keys(*parts))
        if isinstance(value, bool):
            view[url_key] = "true" if value else "false"
        elif value is not None:
            view[url_key] = slugs.get(value, str(value))
    return {key: value for key, value in view.items() if value in VIEW_CHOICES[key]}


def _apply_click(keys: PageKeys, state: PageState, function) -> None:
    """Take a new click from the component's value (it repeats the last click on every rerun,
    so only a value not seen before counts). Clicks outside the domain are ignored."""
    raw = st.session_state.get(keys("plot"))
    if not raw or raw == st.session_state.get(keys("last_click")):
        return
    st.session_state[keys("last_click")] = raw
    try:
        clicks = json.loads(raw) if isinstance(raw, str) else raw
        if "plot_width" in clicks[0]:  # not a click: the page's script telling a narrow plot's width
            st.session_state[keys("plot_width")] = min(max(int(clicks[0]["plot_width"]), 100), 4000)
            return
        if "dropped_query" in clicks[0]:  # the page's script: the address was too long to be read
            st.session_state[keys("dropped_query")] = int(clicks[0]["dropped_query"])
            return
        x, y = float(clicks[0]["x"]), float(clicks[0]["y"])
    except (ValueError, TypeError, KeyError, IndexError):
        return
    (x0, x1), (y0, y1) = function.domain
    if not (math.isfinite(x) and math.isfinite(y) and x0 <= x <= x1 and y0 <= y <= y1):
        return
    state.start = (x, y)
    st.session_state[keys("start_x")] = x
    st.session_state[keys("start_y")] = y


def _reset_widgets(keys: PageKeys) -> None:
    prefix = keys("w", "")
    for key in [k for k in st.session_state if isinstance(k, str) and k.startswith(prefix)]:
        del st.session_state[key]


def _start_from_preset(keys: PageKeys, function_name: str, preset_name: str, keep=("start",)) -> None:
    """The page's state becomes the preset's (keeping the fields named in `keep`), and every
    widget shows it again."""
    old: PageState = st.session_state[keys("state")]
    new = preset_state(function_name, preset_name)
    for name in keep:
        setattr(new, name, getattr(old, name))
    st.session_state[keys("state")] = new
    _reset_widgets(keys)
    st.session_state[keys("w", "preset")] = new.preset


def _on_preset_change(keys: PageKeys, function_name: str) -> None:
    _start_from_preset(keys, function_name, st.session_state[keys("w", "preset")])


# Labels and one-line help of the hyperparameters, by dataclass field (betas: one per part).
HYPERPARAMETER_LABELS = {
    "momentum": ("momentum μ", "Weight of the previous velocity in the new one (0: plain gradient descent)."),
    "dampening": ("dampening", "Share of the gradient left out of the velocity (torch's SGD)."),
    "weight_decay": ("weight decay λ", "Adds λ·x to the gradient (L2 regularization)."),
    "alpha": ("α", "Decay of the running average of squared gradients (RMSprop); ASGD: the power of its "
                   "step size's decay."),
    "eps": ("ε", "Added to the denominator so that steps stay finite where gradients vanish."),
    "betas": (("β₁", "Decay of the gradient's running average (momentum)."),
              ("β₂", "Decay of the squared gradient's running average.")),
    "bias_correction": ("bias correction", "Divide the averages by 1 − βᵗ (Adam's paper; the 2018 article did not)."),
    "centered": ("centered", "Divide by the gradient's estimated variance instead of its raw second moment."),
    "momentum_decay": ("momentum decay ψ", "NAdam's schedule of its momentum coefficient."),
    "decoupled_weight_decay": ("decoupled weight decay", "Shrink x directly (AdamW-style) instead of via the gradient."),
    "lr_decay": ("lr decay", "Adagrad's learning rate divided by 1 + (t − 1)·decay."),
    "initial_accumulator_value": ("initial accumulator", "Adagrad's starting sum of squared gradients."),
    "rho": ("ρ", "Decay of Adadelta's running averages."),
    "beta": ("β", "Decay of YellowFin's running estimates."),
    "curv_win_width": ("curvature window", "Steps over which YellowFin estimates the extreme curvatures."),
    "lower_threshold": ("lower threshold", "Eve: the smallest factor by which the relative loss change can shrink steps."),
    "upper_threshold": ("upper threshold", "Eve: the largest factor."),
    "f_star": ("f*", "Eve: the loss's known lower bound."),
    "etas": (("η₋", "Rprop: factor on a coordinate's step size when its gradient changes sign (below 1)."),
             ("η₊", "Rprop: factor while the sign stays the same (above 1).")),
    "step_sizes": (("smallest step", "Rprop: lower bound of each coordinate's step size."),
                   ("largest step", "Rprop: upper bound of each coordinate's step size.")),
    "lambd": ("decay λ", "ASGD: shrinks x by 1 − λη each step, and slows the decay of the step size η."),
    "t0": ("t₀", "ASGD: the step after which its points are averaged."),
    "beta2_decay": ("β₂ decay τ", "Adafactor: at step t the squared-gradient average keeps 1 − t^τ of the "
                                  "past."),
    "d": ("clipping d", "Adafactor: the update's RMS is clipped to d."),
    "history_size": ("memory m", "L-BFGS: how many recent (step, gradient change) pairs model the curvature."),
    "tolerance_grad": ("gradient tolerance", "L-BFGS: no step where every |∂f/∂xᵢ| is at most this."),
    "tolerance_change": ("change tolerance", "L-BFGS: no step where the slope along its direction, gᵀd, is above "
                                             "−this."),
    "line_search_fn": ("line search", "L-BFGS: none (step lr·d) or strong Wolfe (search along d for enough "
                                      "decrease and a flatter slope)."),
    "max_eval": ("evaluations per step", "L-BFGS: at most this many line-search evaluations of f and ∇f "
                                         "(torch's default for one iteration, 1, tries a single point)."),
    "damping": ("damping δ", "Newton: added to every |curvature| (the Hessian's eigenvalues): shorter steps, "
                             "turning towards gradient descent with step lr/δ as δ grows."),
}


def _lr_widget(keys: PageKeys, key: str, value: float) -> float:
    """A log slider of round learning rates and, beside it, the exact value typed."""
    typed = key + ".typed"
    init_widget(key, float(value))
    init_widget(typed, float(st.session_state[key]))
    options = sorted(set(LR_OPTIONS) | {float(st.session_state[key])})

    def slid():
        st.session_state[typed] = float(st.session_state[key])

    def typed_in():
        if st.session_state[typed] is not None and st.session_state[typed] > 0:
            st.session_state[key] = float(st.session_state[typed])

    slider, box = st.columns([3, 2], vertical_alignment="bottom")
    chosen = slider.select_slider("learning rate", options=options, key=key, format_func=lambda v: f"{v:g}",
                                  on_change=slid, help="On a log scale; type any value beside it.")
    number_input(box, keys, "lr", typed, min_value=1e-8, max_value=100.0, format="%g", step=None,
                  on_change=typed_in, label_visibility="hidden")
    return float(chosen)


def _hyperparameter_widgets(keys: PageKeys, name: str, values: dict) -> dict:
    """Controls built from the optimizer's dataclass fields: lr on a log slider with a typed
    value, numbers, pairs of numbers and switches, each with its symbol and one line of help."""
    chosen = {}
    for field in dataclasses.fields(OPTIMIZER_CLASSES[name]):
        value = values[field.name]
        key = keys("w", name, field.name)
        described = HYPERPARAMETER_LABELS.get(field.name, (field.name.replace("_", " "), None))
        label, help_text = described if isinstance(described[0], str) else (None, None)
        if field.name == "lr":
            chosen["lr"] = _lr_widget(keys, key, value)
        elif field.name in OPTIMIZER_CLASSES[name].CHOICES:  # e.g. L-BFGS's line search: none or strong Wolfe
            init_widget(key, value)
            chosen[field.name] = st.selectbox(label, OPTIMIZER_CLASSES[name].CHOICES[field.name], key=key,
                                              help=help_text, format_func=lambda v: "none" if v is None else str(v))
        elif isinstance(value, bool):
            init_widget(key, value)
            chosen[field.name] = st.checkbox(label, key=key, help=help_text)
        elif isinstance(value, tuple):
            columns = st.columns(len(value))
            parts = []
            for i, (column, part) in enumerate(zip(columns, value)):
                part_label, part_help = (described[i] if not isinstance(described[0], str) and i < len(described)
                                         else (f"{label}{'₁₂₃₄'[i]}", help_text))  # one label for all: ε₁, ε₂
                default_part = getattr(OPTIMIZER_CLASSES[name](), field.name)[i]
                if default_part is None:  # a part that may be left empty (Adafactor's ε₁: machine ε)
                    init_widget(f"{key}.{i}", None if part is None else float(part))
                    parts.append(column.number_input(part_label, value=None, key=f"{key}.{i}", format="%g",
                                                     step=None, placeholder="auto", help=part_help))
                    continue
                init_widget(f"{key}.{i}", float(part))
                parts.append(number_input(column, keys, part_label, f"{key}.{i}", format="%g", step=0.01,
                                           help=part_help))
            chosen[field.name] = tuple(parts)
        elif isinstance(value, int):  # a count (L-BFGS's memory, YellowFin's window)
            init_widget(key, int(value))
            chosen[field.name] = int(number_input(st, keys, label, key, step=1, help=help_text))
        else:
            init_widget(key, float(value))
            chosen[field.name] = number_input(st, keys, label, key, format="%g", step=_step_for(value), help=help_text)
    return chosen


def _transform_widgets(keys: PageKeys, transform: dict) -> dict:
    """A rotation slider and two stretch factors; {} when they leave the landscape as it is."""
    init_widget(keys("w", "rotation"), float(transform.get("rotation", 0.0)))
    rotation = st.slider("rotation (degrees)", -180.0, 180.0, step=5.0, key=keys("w", "rotation"),
                         help="Counter-clockwise, about the origin.")
    scale = []
    for axis, column, factor in zip("xy", st.columns(2), transform.get("scale", (1.0, 1.0))):
        init_widget(keys("w", "stretch", axis), float(factor))
        scale.append(float(number_input(column, keys, f"stretch along {axis}", keys("w", "stretch", axis),
                                        min_value=SCALE_RANGE[0], max_value=SCALE_RANGE[1], format="%g", step=0.25,
                                        help="Applied before the rotation: 2 makes the landscape twice as wide.")))
    if rotation == 0 and scale == [1.0, 1.0]:
        return {}
    return {"rotation": float(rotation), "scale": tuple(scale)}


def _step_for(value: float) -> float:
    if value == 0:
        return 0.01
    return float(10.0 ** math.floor(math.log10(abs(value))))


def _sidebar(keys: PageKeys, function_name: str, function_class, state: PageState) -> None:
    """Draw the controls and write their values back into `state`."""
    sidebar = st.sidebar
    with sidebar:
        init_widget(keys("w", "preset"), state.preset)
        st.selectbox("Preset", PRESET_NAMES, key=keys("w", "preset"), on_change=_on_preset_change,
                     args=(keys, function_name),
                     help="“2018 post”: the article's exact settings. “library defaults”: torch.optim's "
                          "defaults with a learning rate tuned for this function.")
        modified = st.empty()  # filled once every widget below has written its value
        st.markdown("**Optimizers**")
        enabled = []
        columns = st.columns(2)
        for i, name in enumerate(core.OPTIMIZERS):
            key = keys("w", "on", name)
            init_widget(key, name in state.enabled)
            if columns[i % 2].toggle(_title(name), key=key, help=optimizer_note(name)):
                enabled.append(name)
        state.enabled = enabled
        for name in enabled:
            with st.expander(f"{_title(name)} settings"):
                st.caption(optimizer_note(name))
                values = core.get_optimizer(name).hyperparameters
                values.update(state.hyperparameters.get(name, {}))
                state.hyperparameters[name] = _hyperparameter_widgets(keys, name, values)
                key = keys("w", name, "steps")
                init_widget(key, int(state.steps.get(name, 300)))
                state.steps[name] = int(number_input(st, keys, f"steps (1 to {MAX_STEPS:,})", key, min_value=1,
                                                      max_value=MAX_STEPS, step=10,
                                                      help=f"At most {MAX_STEPS:,} steps per optimizer."))
                schedule = schedule_widgets(keys, name, float(state.hyperparameters[name]["lr"]), state.steps[name],
                                            state.schedules.get(name))
                if schedule:
                    state.schedules[name] = schedule
                else:
                    state.schedules.pop(name, None)
        parameters = [f for f in dataclasses.fields(function_class) if f.name != "domain" and f.type in ("float", float)]
        with st.expander("Function parameters"):
            params = dict(state.function_params)
            for field in parameters:
                key = keys("w", "f", field.name)
                init_widget(key, float(params.get(field.name, field.default)))
                params[field.name] = number_input(st, keys, field.name, key, format="%g")
            domain = params.get("domain") or function_class.default_domain
            labels = ("x min", "x max", "y min", "y max")
            flat = [domain[0][0], domain[0][1], domain[1][0], domain[1][1]]
            columns = st.columns(4)
            bounds = []
            for column, label, value in zip(columns, labels, flat):
                key = keys("w", "f", "domain", label)
                init_widget(key, float(value))
                bounds.append(number_input(column, keys, label, key, format="%g"))
            params["domain"] = ((bounds[0], bounds[1]), (bounds[2], bounds[3]))
            if params["domain"] == tuple(tuple(map(float, d)) for d in function_class.default_domain) \
                    and "domain" not in state.function_params:
                params.pop("domain")
            state.function_params = params
        with st.expander("Rotate and stretch"):
            st.caption("The same landscape turned and stretched (exactly: its gradients and minima turn with it). "
                       "Gradient descent and momentum turn with it too; Adam, RMSprop and Lion, which act on "
                       "each coordinate, do not.")
            state.transform = _transform_widgets(keys, state.transform)
        st.toggle("Gradient arrows", key=keys("arrows"), help="The direction −∇f each optimizer feels, on a coarse grid.")
        with st.expander("Gradient noise"):
            st.caption("Gaussian noise added to every gradient, to show the “stochastic” in SGD. Seeded: "
                       "the same seed gives the same paths.")
            init_widget(keys("w", "noise"), float(state.noise))
            init_widget(keys("w", "seed"), int(state.seed))
            state.noise = float(number_input(st, keys, "noise σ", keys("w", "noise"), min_value=0.0,
                                              max_value=MAX_NOISE, format="%g", step=0.1))
            state.seed = int(number_input(st, keys, "seed", keys("w", "seed"), min_value=0, max_value=2**32 - 1,
                                           step=1))
        changes = changes_from_preset(state, function_name, function_class)
        if changes:
            with modified.container():
                note, reset = st.columns([3, 2], vertical_alignment="center")
                note.caption(f"“{state.preset}” (modified: {len(changes)} setting{'s' if len(changes) > 1 else ''})",
                             help="Changed: " + ", ".join(changes))
                reset.button("Reset", key=keys("w", "reset"), on_click=_start_from_preset,
                             args=(keys, function_name, state.preset, ("start", "noise", "seed")),
                             help=f"Back to the “{state.preset}” settings (the start stays).")


# ---------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------
def _short_message_on_error(draw):
    """The last line of defence: an unexpected error shows a short message (the details go
    to the server's log), never a stack trace, and the rest of the session keeps working.
    (Streamlit's reruns and page switches are BaseExceptions: they pass.)"""

    @functools.wraps(draw)
    def drawn(*args, **kwargs):
        try:
            return draw(*args, **kwargs)
        except Exception as error:  # noqa: BLE001
            logging.getLogger(__name__).exception("drawing the page failed")
            st.error(f"Something went wrong drawing this view ({type(error).__name__}). Change the setting "
                     "you just changed, or reset the preset in the sidebar.", icon="🚫")
    return drawn


@_short_message_on_error
def function_page(function_name: str) -> None:
    leave_pages_directory_mode()
    function_class = FUNCTION_CLASSES[function_name]
    presenting = st.query_params.get("present") in ("1", "true")  # presentation mode: see PRESENT_CSS
    st.set_page_config(page_title=f"{function_class.title} · optimizer paths", page_icon="🧭", layout="wide",
                       initial_sidebar_state="collapsed" if presenting else "auto")
    compute.freeze_long_lived_objects()
    keys = PageKeys(function_name)
    state = _load_state(keys, function_name, function_class)
    for warning in st.session_state.get(keys("url_warnings"), []):
        st.warning(warning, icon="⚠️")
    refusals(keys)

    _sidebar(keys, function_name, function_class, state)
    st.html(PAGE_CSS + (PRESENT_CSS if presenting else ""))
    st.session_state[keys("present")] = presenting
    if "expression" in {f.name for f in dataclasses.fields(function_class)}:
        _expression_input(keys, function_class, state)
    try:
        function = function_class(**state.function_params)
    except (TypeError, ValueError) as error:
        st.title(function_class.title)
        st.error(f"{error}", icon="🚫")
        st.query_params.from_dict(to_query(state, function_name, function_class))
        return
    function_key = compute.function_key(function, state.transform)
    if state.transform:  # rotated and stretched (core.transform): its own domain, minima and derivatives
        function = compute.make_function(function_name, function_key)

    _main_area(keys, function_name, function_class, function, function_key, state)


@st.fragment
@_short_message_on_error
def _main_area(keys: PageKeys, function_name: str, function_class, function, function_key: str,
               state: PageState) -> None:
    """Everything a click changes: start, paths, curves, tabs and the URL. A fragment, so a
    click (or a start typed, or a tab's control) reruns only this part, not the sidebar; a
    change in the sidebar reruns the whole page and passes the new settings in."""
    _apply_click(keys, state, function)
    presenting = st.session_state.get(keys("present"), False)
    landscape, controls = st.columns([3, 1] if presenting else [2, 1])
    with controls:
        st.title(function_class.title)
        inner = getattr(function, "function", function)  # rotated and stretched: f, and what was done to it
        st.latex(sized_formula(inner.formula, small_below=50))
        if inner is not function:
            sx, sy = function.scale
            st.caption(f"{function.title.removeprefix(inner.title + ', ').capitalize()}: the landscape is "
                       f"g(p) = f(M⁻¹p) with M = R({function.rotation:g}°)·diag({sx:g}, {sy:g}).")
        _scenario_note(keys, state)
        _minima_outside_note(function)
        dropped = st.session_state.pop(keys("dropped_query"), None)
        if dropped:
            st.warning(f"The address had {dropped:,} parameters; Streamlit reads none of an address with more than "
                       f"{MAX_QUERY_FIELDS:,} (or over {MAX_QUERY_LENGTH // 1024:,} KiB), so this page opened on its "
                       "defaults. Open a shorter link: the page's own address holds only what differs from the "
                       "preset.", icon="⚠️")
        _start_inputs(keys, state, function)
        speed = _animation_speed(keys)
        with st.expander("Guided scenarios", icon=":material/school:"):
            scenario_links()
        runs, problems = _checked_runs(state)
        doing = f"Running {len(runs)} optimizer{'s' if len(runs) != 1 else ''} from ({state.start[0]:.3g}, " \
                f"{state.start[1]:.3g})…" if state.start and runs else "…"
        with st.spinner(doing, show_time=True):  # shown only if it takes over half a second
            paths, rows = _run_all(function_name, function_key, state, runs)
        for problem in problems:
            st.warning(problem, icon="⚠️")
        if not paths:
            st.info("**Click anywhere on the contour** to start every enabled optimizer from that point: "
                    "its path appears on the landscape and its loss, step by step, below.", icon="👆")
    with landscape:
        # The figure's layout.meta: new for every new set of paths, "|play" when it should race.
        width = st.session_state.get(keys("plot_width"))  # as the page's script measured it
        # A presenter starts the race with the space bar: no race of its own in presentation mode.
        token = f"{_figure_token(state, runs, speed)}|w{width}" + ("|play" if speed and paths and not presenting
                                                                      else "|still")
        arrows = [gradient_arrows_trace(function)] if st.session_state.get(keys("arrows")) else []
        arrows += averaged_path_traces(function_name, function_key, runs, state.start, state.noise, state.seed)
        stabilities = _stabilities(function_name, function_key, state, runs, paths) \
            if paths and st.session_state.get(keys("show_stability")) else {}
        arrows += [unstable_steps_trace(stabilities)] if any(s["unstable"].any() for s in stabilities.values()) else []
        narrow = bool(width) and width < NARROW_BELOW  # a phone: the slider under the buttons
        # On "Your function" the typed f(x, y) and its examples sit above the plot: a shorter
        # plot, so that the whole contour still fits a 1280×720 screen.
        tallest = 520 if dataclasses.is_dataclass(function) and "expression" in function.params else 640
        tallest = 960 if presenting else tallest  # the whole screen's height, without the sidebar and header
        height = figure_height(function, width - MARGIN_LEFT - MARGIN_RIGHT, tallest, narrow) if width \
            else figure_height(function, tallest=tallest)
        with st.spinner("Drawing the landscape…"):  # the first visit computes its grid
            base = compute.landscape_base(function_name, function_key)
        figure = landscape_figure(function, base, paths, state.start,
                                  extra_traces=arrows, ms_per_step=speed or 30, token=token,
                                  height=height, narrow=narrow, large=presenting)
        plotly_events(figure, click_event=True, override_height=height + 10, key=keys("plot"))
        plot_script()
    if paths:
        _curves(function, paths)
        _schedule_curves(paths, [(_title(run.name), OPTIMIZER_COLORS.get(run.name, "#444444"),
                                  core.get_optimizer(run.name, **run.hyperparameters), state.schedules[run.name],
                                  run.steps) for run in runs if run.schedule])
        _stability_curves(keys, paths, stabilities)
    _tabs(keys, function_name, function, function_key, state, runs, paths, rows)
    state.view = _view_of_widgets(keys)
    st.query_params.from_dict(to_query(state, function_name, function_class) | ({"present": "1"} if presenting else {}))


# A compact top of the page, so that the whole contour fits a 1280×720 screen.
PAGE_CSS = """<style>
[data-testid="stMainBlockContainer"] { padding-top: 3.5rem; }
@media (min-width: 700px) {  /* a scroll bar appearing with the paths would shift the plot under the mouse */
  [data-testid="stMain"], [data-testid="stAppViewContainer"] { scrollbar-gutter: stable; }
  [data-testid="stMainBlockContainer"] { padding-left: 2.5rem; padding-right: 2.5rem; }
}
[data-testid="stMainBlockContainer"] h1 { font-size: 1.75rem; padding: 0 0 0.25rem 0; }
</style>"""

# Presentation mode (`?present=1`): no sidebar and no header, the contour large, text large. The
# keys (space: play/pause, ←/→: a frame back/on) are the page's script's (plot_script).
PRESENT_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stHeader"] { display: none !important; }
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] { padding-top: 1rem; max-width: none; }
[data-testid="stMainBlockContainer"] h1 { font-size: 2.2rem; }
</style>"""


def _close_scenario(keys: PageKeys) -> None:
    st.session_state[keys("state")].scenario = None


def _scenario_note(keys: PageKeys, state: PageState) -> None:
    """The open guided scenario: the sentence it illustrates and what to watch for."""
    scenario = SCENARIOS.get(state.scenario or "")
    if scenario is None:
        return
    with st.container(border=True):
        heading, close = st.columns([3, 1], vertical_alignment="center")
        heading.markdown(f"**{scenario.title}**")
        close.button("Close", icon=":material/close:", key=keys("close_scenario"), type="tertiary",
                     on_click=_close_scenario, args=(keys,), help="Close this scenario (the settings stay).")
        if scenario.says:
            st.markdown(f"> {scenario.says}\n>\n> — *the 2018 article*")
        st.markdown(f"**Watch:** {scenario.watch}")


def scenario_links(columns=None) -> None:
    """Every guided scenario as a link that sets its page up (`?guide=<key>`): the article's
    claims, then ours, one after the other or each in one of two `columns`."""
    for column, (from_article, heading) in zip(columns or (st.container(), st.container()),
                                               ((True, "The article's claims"), (False, "Beyond the article"))):
        with column:
            st.caption(heading)
            for scenario in SCENARIOS.values():
                if scenario.from_article != from_article:
                    continue
                try:
                    st.page_link(page_link_path(scenario.function), label=scenario.title,
                                 query_params={"guide": scenario.key}, icon=":material/play_circle:")
                except StreamlitPageNotFoundError:  # a page run on its own, outside dashboard.py
                    st.markdown(f"[{scenario.title}]({url_path(scenario.function)}?guide={scenario.key})")


ANIMATION_SPEEDS = {"off": 0, "slow": 60, "article": 30, "fast": 8}  # ms per step


def _animation_speed(keys: PageKeys) -> int:
    """Milliseconds per step of the animation a click starts (0: no animation, full paths)."""
    init_widget(keys("w", "speed"), "article")
    choice = st.segmented_control("Animate the paths", list(ANIMATION_SPEEDS), key=keys("w", "speed"), required=True,
                                  help="How fast the paths are drawn after a click: the article draws a step "
                                       "every 30 ms. ▶ Play, ❚❚ Pause, ↺ Replay and the step slider are under the plot.")
    return ANIMATION_SPEEDS.get(choice or "off", 0)


def _figure_token(state: PageState, runs: list, speed: int) -> str:
    """Changes exactly when the drawn paths (or the animation speed) change."""
    key = json.dumps([state.start, runs, state.noise, state.seed, speed], sort_keys=True, default=str)
    return hashlib.sha1(key.encode()).hexdigest()[:16]


# Runs inside the plot's own window (so that it outlives the script's iframe, which a rerun
# replaces): our own click, a press and release within 4 px over the plot area, not on the
# legend or the animation's controls, reported as the component's value with the data
# coordinates of that pixel. plotly.js's click snaps to the contour's grid, and it is lost
# when an animation frame redraws the plot between the press and the release.
EXACT_CLICKS_JS = """
if (!window.__exactClicks) {
  window.__exactClicks = true;
  let press = null;
  document.addEventListener('mousedown', e => { press = e.button === 0 ? e : null; }, true);
  document.addEventListener('mouseup', e => {
    const area = document.querySelector('.nsewdrag'), plot = document.querySelector('.js-plotly-plot');
    if (!press || !area || !plot || Math.hypot(e.clientX - press.clientX, e.clientY - press.clientY) > 4) return;
    if (press.target.closest && press.target.closest('.legend, .updatemenu-container, .slider-container')) return;
    const box = area.getBoundingClientRect();
    if (e.clientX < box.left || e.clientX > box.right || e.clientY < box.top || e.clientY > box.bottom) return;
    const layout = plot._fullLayout;
    const x = layout.xaxis.p2d(e.clientX - box.left), y = layout.yaxis.p2d(e.clientY - box.top);
    // Stop the race under way now: once the new figure is drawn its frames would go on over it.
    const pause = [...document.querySelectorAll('.updatemenu-button')].find(b => b.textContent.includes('Pause'));
    if (pause) pause.dispatchEvent(new MouseEvent('click', {bubbles: true}));
    window.parent.postMessage({isStreamlitMessage: true, type: 'streamlit:setComponentValue',
                               value: JSON.stringify([{x: x, y: y, exact: true}]), dataType: 'json'}, '*');
  }, true);
}
"""


def plot_script() -> None:
    """A zero-height script beside the plot (same origin as the plot's iframe). Its text never
    changes, so Streamlit keeps the same iframe across reruns and it keeps watching: whenever the
    plot shows a new figure (a new layout.meta), it installs exact clicks in the plot's window
    (EXACT_CLICKS_JS; should it not run, the component's own, snapped, click still works) and,
    for a figure whose meta ends in "|play", presses ↺ Replay: a click starts the race at once
    (the component's plotly.js has no autoplay). It also reports the plot's width (as the
    component's value, `{"plot_width": w}`), so that the figure's height fits it, and lays a
    phone's controls out in two rows. components.html, not st.iframe (its suggested
    successor): an st.iframe script did not run here (the race test caught it)."""
    components.html(f"""<script>
(function () {{
  let seen = null, told = null, race = null, checkedAddress = false;
  function droppedAddressFields() {{
    // Streamlit ignores a whole query string past {MAX_QUERY_FIELDS} fields or {MAX_QUERY_LENGTH} characters
    // (streamlit.runtime.state.query_params): the page opened then saw none of it. The address
    // this tab was opened with is the navigation entry's.
    const entry = window.parent.performance.getEntriesByType('navigation')[0];
    if (!entry) return 0;
    const opened = new URL(entry.name);
    if (opened.pathname !== window.parent.location.pathname) return 0;
    const query = opened.search.slice(1);
    const fields = query ? query.split('&').length : 0;
    return fields > {MAX_QUERY_FIELDS} || query.length > {MAX_QUERY_LENGTH} ? fields : 0;
  }}
  function watch() {{
    for (const frame of window.parent.document.querySelectorAll('iframe[title="streamlit_plotly_events.plotly_events"]')) {{
      const doc = frame.contentDocument, plot = doc && doc.querySelector('.js-plotly-plot');
      // The figure's height follows the plot's width (in 20 px steps): tell the page, and wait
      // for the figure made for it before starting a race.
      const width = Math.round(frame.getBoundingClientRect().width / 20) * 20;
      const meta = plot && plot.layout && plot.layout.meta;
      if (meta && width && !String(meta).includes('|w' + width + '|')) {{
        if (told !== meta + width) {{
          told = meta + width;
          frame.contentWindow.eval(`window.parent.postMessage({{isStreamlitMessage: true,
            type: 'streamlit:setComponentValue', value: '[{{"plot_width": ${{width}}}}]', dataType: 'json'}}, '*')`);
        }}
        continue;
      }}
      if (!checkedAddress && meta) {{
        checkedAddress = true;
        const dropped = droppedAddressFields();
        if (dropped) frame.contentWindow.eval(`window.parent.postMessage({{isStreamlitMessage: true,
            type: 'streamlit:setComponentValue', value: '[{{"dropped_query": ${{dropped}}}}]', dataType: 'json'}}, '*')`);
      }}
      const buttons = [...doc.querySelectorAll('.updatemenu-button')];
      const button = label => buttons.find(b => b.textContent.includes(label));
      const press = () => {{  // stop the race under way (its frames would go on over the new figure), start anew
        button('Pause').dispatchEvent(new MouseEvent('click', {{bubbles: true}}));
        button('Replay').dispatchEvent(new MouseEvent('click', {{bubbles: true}}));
      }};
      if (race && race.meta === meta && !race.started) {{
        // The new figure opens on the full paths (slider at its end); the race has started
        // once the slider is back at step 0. A press can reach the previous figure's buttons
        // while plotly.js still draws the new one: press again (at most 5 times).
        const slider = plot.layout.sliders && plot.layout.sliders[0];
        if (slider && slider.active === 0) race.started = true;
        else if (performance.now() - race.at > 250 && race.tries < 5 && button('Replay')) {{
          race.at = performance.now(); race.tries += 1;
          press();
        }}
      }}
      if (!meta || meta === seen || !plot.removeAllListeners) continue;
      const play = String(meta).endsWith('|play');
      if (play && !(button('Replay') && button('Pause'))) continue;  // drawn in a moment
      seen = meta;
      frame.contentWindow.eval({json.dumps(EXACT_CLICKS_JS)});
      plot.removeAllListeners('plotly_click');  // again for every figure: a redraw may restore it
      if (play) {{
        race = {{meta: meta, at: performance.now(), tries: 0, started: false}};
        press();
      }}
    }}
  }}
  // Presentation mode (?present=1): space plays or pauses the race, ←/→ go a frame back or on
  // (pressing the slider at that frame's tick, as a click there would). On the page and, once
  // it has been clicked, in the plot's own window.
  function onKey(event) {{
    if (!new URLSearchParams(window.parent.location.search).has('present')) return;
    if (event.target && event.target.closest && event.target.closest('input, textarea, select')) return;
    const frame = window.parent.document.querySelector('iframe[title="streamlit_plotly_events.plotly_events"]');
    const doc = frame && frame.contentDocument, plot = doc && doc.querySelector('.js-plotly-plot');
    const slider = plot && plot._fullLayout && plot._fullLayout.sliders && plot._fullLayout.sliders[0];
    if (!slider) return;
    const button = label => [...doc.querySelectorAll('.updatemenu-button')].find(b => b.textContent.includes(label));
    const press = b => b && b.dispatchEvent(new MouseEvent('click', {{bubbles: true}}));
    const last = slider.steps.length - 1;
    if (event.key === ' ') {{
      event.preventDefault();
      if (plot._transitionData && plot._transitionData._animationRaf) press(button('Pause'));
      else press(button(slider.active >= last ? 'Replay' : 'Play'));
    }} else if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {{
      event.preventDefault();
      press(button('Pause'));
      const target = Math.max(0, Math.min(last, slider.active + (event.key === 'ArrowRight' ? 1 : -1)));
      const tick = doc.querySelectorAll('.slider-tick-rect')[target];
      const rail = doc.querySelector('.slider-rail-touch-rect');
      if (!tick || !rail) return;
      const at = tick.getBoundingClientRect(), box = rail.getBoundingClientRect();
      const where = {{bubbles: true, clientX: at.left + at.width / 2, clientY: box.top + box.height / 2}};
      rail.dispatchEvent(new MouseEvent('mousedown', where));
      plot.dispatchEvent(new MouseEvent('mouseup', where));
    }}
  }}
  // One listener on the page, this script's (an earlier page's script may be gone).
  window.parent.document.removeEventListener('keydown', window.parent.__optimizerPathsKeys);
  window.parent.__optimizerPathsKeys = onKey;
  window.parent.document.addEventListener('keydown', onKey);
  setInterval(() => {{
    const frame = window.parent.document.querySelector('iframe[title="streamlit_plotly_events.plotly_events"]');
    const doc = frame && frame.contentDocument;
    if (doc && !doc.__optimizerPathsKeys) {{ doc.__optimizerPathsKeys = true; doc.addEventListener('keydown', onKey); }}
  }}, 500);
  setInterval(watch, 15);
}})();
</script>""", height=0)


# Buttons under the typed f(x, y): name (the button's tooltip) -> expression (its label).
EXPRESSION_EXAMPLES = {"Rosenbrock": "(1-x)^2 + 100*(y-x^2)^2", "Himmelblau": "(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
                       "a bowl with a ridge": "x**2 + 3*sin(y)*exp(-x**2)",
                       "an egg box in a bowl": "sin(x)*cos(y) + 0.1*(x^2 + y^2)"}


def _expression_input(keys: PageKeys, function_class, state: PageState) -> None:
    """The typed f(x, y) of the "Your function" page, example buttons that fill it in, and a
    warning where f is undefined (blank on the contour)."""
    key = keys("w", "expression")
    init_widget(key, state.function_params.get("expression", function_class().expression))
    state.function_params["expression"] = st.text_input(
        "f(x, y) =", key=key, max_chars=core.custom.MAX_LENGTH,
        help=f"Numbers, x, y, pi, e, `+ - * / ^` (or `**`), brackets and {', '.join(core.custom.FUNCTIONS)}. "
             "The gradient is derived exactly. The domain is under *Function parameters* in the sidebar.")

    def use(expression: str) -> None:  # a callback: a widget's value can only be set before it is drawn
        st.session_state[key] = expression

    with st.container(horizontal=True, vertical_alignment="center", gap="small"):
        st.caption("Try:")
        for i, (name, expression) in enumerate(EXPRESSION_EXAMPLES.items()):
            st.button(f"`{expression}`", key=keys("example", i), help=name, type="tertiary",
                      on_click=use, args=(expression,))

    try:
        undefined = function_class(**state.function_params).undefined
    except (TypeError, ValueError):
        return  # the page shows why
    if undefined.share == 1:
        st.error("f is undefined (not a real number) everywhere on the domain: there is nothing to draw or descend. "
                 "Change f, or the domain under *Function parameters* in the sidebar.", icon="🚫")
    elif undefined.share:
        share = ("under 1%" if undefined.share < 0.01 else "over 99%" if undefined.share > 0.99
                 else f"{undefined.share:.0%}")
        x, y = (f"{v:.3g}".replace("-", "−") for v in undefined.example)
        st.warning(f"f is undefined (not a real number) on {share} of the domain (e.g. at x = {x}, y = {y}): the blank "
                   "area. Runs started there have no loss values, and stop at once where the gradient is undefined "
                   "too.", icon="⚠️")


def _minima_outside_note(function) -> None:
    """Say where a global minimum lies off the plot (Rosenbrock with a = 2: at (2, 4))."""
    (x0, x1), (y0, y1) = function.domain
    outside = [m.point for m in function.global_minima if not (x0 <= m.point[0] <= x1 and y0 <= m.point[1] <= y1)]
    if outside:
        points = ", ".join(f"({x:.4g}, {y:.4g})" for x, y in outside)
        st.info(f"The global minimum{'s' if len(outside) > 1 else ''} at {points} lie{'' if len(outside) > 1 else 's'} "
                "outside the plotted domain: widen it under *Function parameters* in the sidebar to see "
                f"{'them' if len(outside) > 1 else 'it'}.", icon=":material/zoom_out_map:")


def _start_inputs(keys: PageKeys, state: PageState, function) -> None:
    """The start typed exactly (clicks fill these in)."""
    (x0, x1), (y0, y1) = function.domain
    columns = st.columns([1, 1, 2])
    start = state.start or (float("nan"), float("nan"))
    init_widget(keys("start_x"), None if state.start is None else float(start[0]))
    init_widget(keys("start_y"), None if state.start is None else float(start[1]))
    x = columns[0].number_input("start x", key=keys("start_x"), format="%.4f", step=0.1, placeholder="click the plot")
    y = columns[1].number_input("start y", key=keys("start_y"), format="%.4f", step=0.1, placeholder="click the plot")
    if x is None or y is None:
        state.start = None
    elif not (x0 <= x <= x1 and y0 <= y <= y1):
        columns[2].warning(f"The start must lie in the domain x ∈ [{x0:g}, {x1:g}], y ∈ [{y0:g}, {y1:g}].")
        state.start = None
    else:
        state.start = (float(x), float(y))


def _run_all(function_name: str, function_key: str, state: PageState, runs: list[tuple[str, dict, int]]):
    """Run every valid enabled optimizer from the start (cached)."""
    paths, rows = [], []
    if state.start is None:
        return paths, rows
    for name, hyperparameters, steps, schedule in runs:
        result = compute.optimizer_run(function_name, function_key, name, compute.params_key(hyperparameters),
                                       steps, tuple(map(float, state.start)), state.noise, state.seed, schedule)
        last = result["diverged_at"] - 1 if result["diverged_at"] >= 0 else len(result["points"]) - 1
        last = max(last, 0)
        paths.append(Path(name, _title(name), OPTIMIZER_COLORS.get(name, "#444444"), result["points"][: last + 1],
                          result["losses"][: last + 1], result["gradient_norms"][: last + 1],
                          diverged_at=int(result["diverged_at"])))
        outcome = OUTCOME_NAMES[result["outcome"]]
        if result["diverged_at"] >= 0:
            outcome = f"diverged at step {result['diverged_at']}"
        rows.append({
            "optimizer": _title(name),
            "final x": float(result["final"][0]),
            "final y": float(result["final"][1]),
            "final f": result["final_loss"],
            "outcome": outcome,
            "steps to tolerance": None if result["steps_to_converge"] < 0 else result["steps_to_converge"],
            "steps": steps,
            "evaluations": _evaluations(function_name, function_key, state, (name, hyperparameters, steps, schedule),
                                        steps if result["diverged_at"] < 0 else result["diverged_at"]),
            **({"lr schedule": schedules.summary(state.schedules.get(name))} if state.schedules else {}),
        })
    return paths, rows


def _evaluations(function_name: str, function_key: str, state: PageState, run, steps_taken: int) -> str:
    """The work a run took, so that comparisons are fair in work, not just steps: ∇f once a
    step for all; f too where the rule needs it (Eve); a Hessian a step (Newton); L-BFGS's
    evaluations of f and ∇f, its line search's included, as its state counts them."""
    name, hyperparameters, steps, schedule = run
    optimizer = core.get_optimizer(name, **hyperparameters)
    with np.errstate(all="ignore"):
        counted = "evaluations" in optimizer.internals(optimizer.init(np.zeros((1, 2))), 1)
    if counted:
        internals = cached_internals(function_name, function_key, name, compute.params_key(hyperparameters), steps,
                                     tuple(map(float, state.start)), state.noise, state.seed, schedule)
        total = int(np.sum(internals["evaluations"]))
        return f"{total:,} f & ∇f ({total / max(len(internals['evaluations']), 1):.1f} a step)"
    parts = [f"{steps_taken:,} ∇f"]
    if optimizer.needs_loss:
        parts.insert(0, f"{steps_taken:,} f")
    if "hessian_evaluations" in optimizer.State._fields:
        parts.append(f"{steps_taken:,} Hessians")
    return " + ".join(parts)


def _curves(function, paths: list[Path]) -> None:
    data = curves_frame(paths, function.f_min)
    legend = tuple((p.title, p.color) for p in paths)
    for column, spec in zip(st.columns(2), compute.curve_specs(legend, function.f_min is not None)):
        column.vega_lite_chart(data, spec=_with_domains(spec, data), width="stretch",
                               height=CHART_HEIGHT + 20 * math.ceil(len(paths) / 4))  # legend rows below
    diverged = [f"{p.title} (step {p.diverged_at})" for p in paths if p.diverged_at >= 0]
    note = f" Diverged, drawn up to their last finite step: {', '.join(diverged)}." if diverged else ""
    st.caption("Click an optimizer's name under a chart to highlight it." + note)


def _stabilities(function_name: str, function_key: str, state: PageState, runs: list, paths: list[Path]) -> dict:
    """core.stability of each drawn run (cached), by optimizer title, with the points where its
    steps were taken."""
    out = {}
    for run, path in zip(runs, paths):
        result = compute.optimizer_stability(function_name, function_key, run.name,
                                             compute.params_key(run.hyperparameters), run.steps,
                                             tuple(map(float, state.start)), state.noise, state.seed, run.schedule)
        count = min(len(result["unstable"]), len(path.points))
        out[path.title] = {**result, "ratio": result["ratio"][:count], "unstable": result["unstable"][:count],
                           "taken_at": path.points[:count], "colour": path.color}
    return out


def _stability_curves(keys: PageKeys, paths: list[Path], stabilities: dict) -> None:
    """The switch, and when on: each step's curvature as the optimizer's step sees it, over the
    largest value at which a step of its method is stable on a quadratic (1: the edge; after
    Cohen et al. 2021), on the loss chart's steps, the unstable side shaded; the unstable steps
    are marked on the path (red ×)."""
    left, right = st.columns(2)
    left.toggle("Stability: each step's curvature against its method's limit", key=keys("show_stability"),
                help="lr·λ_max of the Hessian where the step was taken (for adaptive methods the curvature "
                     "as their per-coordinate steps see it), divided by the largest value at which that "
                     "method is stable on a quadratic: 2 for gradient descent, 2(1 + μ) with momentum, "
                     "2(1 + β₁)/(1 − β₁) for Adam. Above 1 a step overshoots along the steepest "
                     "direction (Cohen et al., 2021: the edge of stability).")
    if not stabilities:
        return
    longest = max(len(p.losses) - 1 for p in paths)
    rows = [pd.DataFrame({"optimizer": title, "step": np.arange(1, len(s["ratio"]) + 1), "ratio": s["ratio"]})
            for title, s in stabilities.items() if s["has_threshold"]]
    data = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=["optimizer", "step", "ratio"])
    data = data[np.isfinite(data["ratio"].astype(float)) & (data["ratio"].astype(float) > 0)]
    without = [title for title, s in stabilities.items() if not s["has_threshold"]]
    if len(data):
        legend = [(title, s["colour"]) for title, s in stabilities.items() if s["has_threshold"]]
        left.altair_chart(stability_chart(data, legend, longest), width="stretch", height=STABILITY_CHART_HEIGHT)
    unstable = {title: int(s["unstable"].sum()) for title, s in stabilities.items() if s["unstable"].any()}
    lines = [f"**{title}**: {count:,} unstable step{'s' if count != 1 else ''} (× on its path)"
             for title, count in unstable.items()] or ["No step above its method's limit."]
    if without:
        lines.append(f"No quadratic limit for {', '.join(without)} (sign steps, or a line search).")
    right.markdown("  \n".join(lines))


STABILITY_CHART_HEIGHT = 260  # px


def _schedule_curves(paths: list[Path], scheduled: list) -> None:
    """Under the loss and gradient charts, in their columns and on their steps: each scheduled
    optimizer's learning rate, and the momentum (β₁) where its schedule cycles it."""
    data = schedules.schedule_frame(scheduled)
    if data.empty:
        return
    longest = max(len(p.losses) - 1 for p in paths)  # the loss chart's last step
    data = data[data["step"] <= longest]
    legend = tuple((title, colour) for title, colour, *_ in scheduled)
    height = SCHEDULE_CHART_HEIGHT
    for column, spec, field in zip(st.columns(2), compute.schedule_specs(legend), ("lr", "momentum")):
        part = data.dropna(subset=[field]) if field in data else data.iloc[:0]
        if len(part):
            spec = _with_domains(spec, pd.concat([part, pd.DataFrame({"step": [0, longest]})]))
            column.vega_lite_chart(part, spec=spec, width="stretch", height=height)


SCHEDULE_CHART_HEIGHT = 240  # px, the lr and momentum charts (no legend: the loss chart's colours)
CHART_HEIGHT = 300  # px, the loss and gradient charts, besides their legend's rows


def _with_domains(spec: dict, data: pd.DataFrame) -> dict:
    """The chart's spec with its axes' domains from the data: Vega-Lite first draws a chart
    without its data, and without domains it then warns of infinite extents in the console."""
    spec = {**spec, "encoding": {**spec["encoding"]}}
    for channel in ("x", "y"):
        encoding = dict(spec["encoding"][channel])
        values = data[encoding["field"]].to_numpy(dtype=float) if len(data) else np.array([])
        values = values[np.isfinite(values)]
        scale = dict(encoding.get("scale", {}))
        if scale.get("type") == "log":
            values = values[values > 0]
        if values.size:
            low, high = float(values.min()), float(values.max())
            if channel == "y" and scale.get("type") == "log" and len(data):
                # A run on its way to diverging would stretch the axis to 1e70 and flatten every
                # other curve: at most 10⁴ times the largest starting value (the rest is clipped).
                first = data.loc[data["step"] == 0, encoding["field"]].to_numpy(dtype=float)
                first = first[np.isfinite(first) & (first > 0)]
                if first.size:
                    high = min(high, 1e4 * float(first.max()))
            if low == high:
                margin = abs(low) / 10 or 1.0  # a constant: a band around it, in its own units
                low, high = (low / 2, high * 2) if scale.get("type") == "log" else (low - margin, high + margin)
            scale["domain"] = [low, high]
        encoding["scale"] = scale
        spec["encoding"][channel] = encoding
    return spec


def _checked_runs(state: PageState) -> tuple[list[compute.Run], list[str]]:
    """The settings of every enabled optimizer whose settings are valid, and a message for each
    one that is not (a bad setting disables only its optimizer)."""
    runs, problems = [], []
    for name in state.enabled:
        hyperparameters = state.hyperparameters.get(name, {})
        steps = int(state.steps.get(name, 300))
        schedule = state.schedules.get(name)
        try:
            problem = schedules.problem(schedule, core.get_optimizer(name, **hyperparameters), steps)
        except ValueError as error:
            problem = str(error)
        if problem:
            problems.append(f"{_title(name)} is not run: {problem}")
            continue
        runs.append(compute.Run(name, hyperparameters, steps, compute.schedule_key(schedule)))
    return runs, problems


def _tabs(keys: PageKeys, function_name: str, function, function_key: str, state: PageState, runs: list,
          paths: list[Path], rows: list[dict]) -> None:
    init_widget(keys("tabs"), TABS["results"])
    table_tab, basins_tab, sweep_tab, inside_tab, surface_tab, compare_tab, export_tab = st.tabs(
        list(TABS.values()), key=keys("tabs"), on_change="rerun")  # the open tab is kept in the URL
    # Every tab runs on every rerun: the heavier views draw only once switched on.
    grid = compute.contour_grid(function_name, function_key)
    with inside_tab:
        if st.toggle("Show the optimizers' internal state", key=keys("show_inside")):
            internals_view(function_name, function_key, runs, state.start, state.noise, state.seed)
    with surface_tab:
        if st.toggle("Show the 3D surface", key=keys("show_surface")):
            surface_view(function, grid, paths)
    with compare_tab:
        if st.toggle("Show the comparison", key=keys("show_compare")):
            compare_view(keys, function_name, function_key, function, grid, runs, state.start, state.noise,
                         state.seed)
    with basins_tab:
        basins_view(keys, function_name, function, function_key, runs, state.start, state.noise, state.seed)
    with sweep_tab:
        sweep_view(keys, function_name, function, function_key, runs, state.noise, state.seed)
    if not paths:
        for tab in (table_tab, export_tab):
            tab.caption("Click a start on the contour first.")
        return
    with table_tab:
        table = pd.DataFrame(rows)
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={"final x": st.column_config.NumberColumn(format="%.6f"),
                                    "final y": st.column_config.NumberColumn(format="%.6f"),
                                    "final f": st.column_config.NumberColumn(format="%.6g")})
        st.caption("“steps to tolerance”: the first step from which the run stayed within "
                   f"{core.engine.default_tolerance(function):.3g} of the minimum it ends at.")
    with export_tab:
        link = share_link(state, function_name, FUNCTION_CLASSES[function_name])
        st.markdown("**Link to this view**: the start, the optimizers and every changed setting "
                    "(copy it with the button at its right).")
        st.code(link, language=None, wrap_lines=True)
        settings = {name: (core.get_optimizer(name, **hyperparameters).hyperparameters, steps,
                           state.schedules.get(name)) for name, hyperparameters, steps, _ in runs}
        st.download_button("Download trajectories (CSV)",
                           data=lambda: trajectories_csv(paths, function, settings, state, link),
                           file_name=f"{function_name}_trajectories.csv", mime="text/csv",
                           help="One row per optimizer and step: x, y, f and ‖∇f‖; the function, the start "
                                "and every optimizer's settings in the '#' lines above the table.")


def share_link(state: PageState, function_name: str, function_class) -> str:
    """The page's address with the query that reproduces `state`."""
    base = (st.context.url or "").split("?", 1)[0]
    query = urllib.parse.urlencode(to_query(state, function_name, function_class), safe=",()")
    return f"{base}?{query}" if query else base


def trajectories_csv(paths: list[Path], function, settings: dict, state: PageState, link: str = "") -> str:
    """Tidy CSV: optimizer, step, x, y, loss, grad_norm; above it, '#' lines with the function,
    the start, the gradient noise and each optimizer's hyperparameters and steps (read it with
    pandas.read_csv(..., comment="#"))."""
    inner = getattr(function, "function", function)  # a rotated and stretched function: the one it turns
    turned = f" rotated {function.rotation:g} degrees, stretched {function.scale[0]:g},{function.scale[1]:g}" \
        if inner is not function else ""
    lines = [f"# function: {inner.name} {json.dumps(inner.params, default=list)}{turned} "
             f"domain {list(map(list, function.domain))}",
             f"# start: {list(state.start) if state.start else None}; gradient noise sigma {state.noise:g}, seed {state.seed}"]
    for name, (hyperparameters, steps, schedule) in settings.items():
        lines.append(f"# {name}: {json.dumps(hyperparameters, default=list)}; steps {steps}"
                     + (f"; schedule {json.dumps(schedule, default=list)}" if schedule else ""))
    if link:
        lines.append(f"# view: {link}")
    frames = [pd.DataFrame({"optimizer": p.name, "step": np.arange(len(p.points)), "x": p.points[:, 0],
                            "y": p.points[:, 1], "loss": p.losses, "grad_norm": p.gradient_norms}) for p in paths]
    table = (pd.concat(frames, ignore_index=True).to_csv(index=False) if frames
             else "optimizer,step,x,y,loss,grad_norm\n")
    return "\n".join(lines) + "\n" + table
