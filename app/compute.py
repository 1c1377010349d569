"""Cached computations on plain values (strings, numbers, tuples), shared by all sessions.

The caches hold only pure results keyed on their inputs, never a user's state, and are
bounded (max_entries) so that a classroom clicking all day does not grow the server.
"""

from __future__ import annotations

import functools
import gc
import json
from typing import NamedTuple

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import StopException
from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

import core
from core import FUNCTION_CLASSES, TestFunction

from . import figures

GRID_RESOLUTIONS = (100, 150, 300, 450)  # points a side of the contour's grid, coarsest first


@functools.lru_cache(maxsize=1)  # no arguments: once per server process
def freeze_long_lived_objects() -> None:
    """Once per server, after the first page has imported everything: freeze the garbage
    collector's view of every object alive. Why: Streamlit runs a full gc.collect() after
    every script run, and with numpy, pandas, Altair and Plotly loaded that walked ~270,000
    long-lived objects, ~130 ms of every click. Frozen objects (modules: they live as long as
    the server anyway) are skipped; each collection then sees only what the runs made."""
    gc.collect()
    gc.freeze()


def stop_if_superseded() -> None:
    """Called by long work between chunks: end this run if the user has asked for another.
    Streamlit stops a run for a closed session and for a full-page rerun by itself, but not for
    a newer request of a fragment (script_requests._fragment_run_should_not_preempt_script), and
    the page's main area is one: a click or a tab's control would wait for a basin grid to
    finish. A StopException ends the run as Streamlit's own stop does; the waiting request runs
    next."""
    requests = getattr(get_script_run_ctx(), "script_requests", None)
    if getattr(requests, "_state", None) == ScriptRequestType.RERUN:
        raise StopException()


class Run(NamedTuple):
    """One enabled optimizer's settings on the page: its hyperparameters (only those changed),
    steps, and learning-rate schedule as `schedule_key` gives it ("" for none)."""

    name: str
    hyperparameters: dict
    steps: int
    schedule: str = ""


def schedule_key(schedule: dict | None) -> str:
    """A schedule ({"name": ..., its arguments}) as a cache key; "" for none."""
    return params_key(schedule) if schedule else ""


def make_scheduler(key: str):
    """The core scheduler a `schedule_key` names, or None."""
    if not key:
        return None
    arguments = json.loads(key)
    return core.get_scheduler(arguments.pop("name"), **arguments)


def params_key(params: dict) -> str:
    """A canonical, hashable spelling of function parameters or hyperparameters."""
    return json.dumps(params, sort_keys=True, default=list)


def make_function(function_name: str, key: str) -> TestFunction:
    """The function a `function_key` names: its parameters and domain, and, under "transform",
    the rotation and stretch of the page's "Rotate and stretch" (core.transform)."""
    params = json.loads(key)
    transform = params.pop("transform", None)
    function = FUNCTION_CLASSES[function_name](**params)
    return core.transform(function, **transform) if transform else function


def function_key(function: TestFunction, transform: dict | None = None) -> str:
    """The cache key of a page's function (an untransformed one) and its transform, if any."""
    return params_key(function.params | {"domain": function.domain} | ({"transform": transform} if transform else {}))


@st.cache_data(max_entries=64, show_spinner=False)
def landscape_base(function_name: str, key: str) -> tuple[str, int]:
    """The landscape's contour and minima as JSON text (see app.figures.landscape_base)."""
    return figures.landscape_base(make_function(function_name, key), contour_grid(function_name, key))


def contour_resolution(function: TestFunction) -> int:
    """The coarsest grid of GRID_RESOLUTIONS (points a side) on which the points halfway
    between grid points differ from the grid's linear interpolation by at most 3% of f's range
    (95th percentile): 100 for smooth functions (a smaller figure, drawn sooner after a click),
    300 for Lévi N.13's sin²(3πx) (on 150 points it drew stripes)."""
    for resolution in GRID_RESOLUTIONS[:-1]:
        _, _, fine = function.grid(2 * resolution - 1)
        fine = np.asarray(fine, dtype=float)
        if not np.isfinite(fine).any():
            return resolution
        low, high = np.nanpercentile(fine[np.isfinite(fine)], [1, 99])
        along_x = np.abs(fine[::2, 1::2] - 0.5 * (fine[::2, :-1:2] + fine[::2, 2::2]))  # halfway along x
        along_y = np.abs(fine[1::2, ::2] - 0.5 * (fine[:-1:2, ::2] + fine[2::2, ::2]))  # and along y
        error = np.concatenate([along_x.ravel(), along_y.ravel()])
        error = error[np.isfinite(error)]
        if not error.size or np.percentile(error, 95) <= 0.03 * max(high - low, 1e-300):
            return resolution
    return GRID_RESOLUTIONS[-1]


@st.cache_data(max_entries=64, show_spinner=False)
def contour_grid(function_name: str, key: str, resolution: int | None = None):
    function = make_function(function_name, key)
    xs, ys, z = function.grid(resolution or contour_resolution(function))
    return xs, ys, np.array(z)


@st.cache_data(max_entries=512, show_spinner=False)
def optimizer_run(function_name: str, key: str, optimizer_name: str, hyper_key: str,
                  steps: int, start: tuple[float, float], noise: float = 0.0, seed: int = 0,
                  schedule: str = "") -> dict:
    """One optimizer's recorded path from one start, as plain arrays."""
    function = make_function(function_name, key)
    optimizer = core.get_optimizer(optimizer_name, **json.loads(hyper_key))
    result = core.run(function, optimizer, np.array(start), steps, noise=noise, seed=seed,
                      scheduler=make_scheduler(schedule))
    return {
        "points": result.points[:, 0],
        "losses": result.losses[:, 0],
        "gradient_norms": result.gradient_norms[:, 0],
        "final": result.final[0],
        "final_loss": float(result.final_loss[0]),
        "diverged_at": int(result.diverged_at[0]),
        "outcome": int(result.outcome[0]),
        "steps_to_converge": int(result.steps_to_converge[0]),
    }


@st.cache_data(max_entries=256, show_spinner=False)
def curve_specs(legend: tuple[tuple[str, str], ...], has_f_min: bool) -> tuple[dict, dict]:
    """The Vega-Lite specs (from Altair) of the loss and gradient-norm charts without their
    data, cached per legend: building them costs ~50 ms each, most of a rerun, while the data
    changes with every click. `legend` is (title, colour) per optimizer. Without Altair's
    placeholder dataset ("empty"), so that Vega-Lite never draws the chart without its data
    (it logged "Infinite extent" and "Log scale domain includes zero" on every click)."""
    specs = figures.loss_chart(list(legend), has_f_min).to_dict(), figures.gradient_chart(list(legend)).to_dict()
    for spec in specs:
        spec.pop("data", None)
        spec.pop("datasets", None)
    return specs


@st.cache_data(max_entries=256, show_spinner=False)
def optimizer_stability(function_name: str, key: str, optimizer_name: str, hyper_key: str, steps: int,
                        start: tuple[float, float], noise: float = 0.0, seed: int = 0, schedule: str = "") -> dict:
    """core.stability of one run from one start, as plain arrays: ratio (effective sharpness over
    the method's threshold, NaN where it has none) and unstable (bool), entry t − 1 for step t
    (taken at the path's point t − 1)."""
    function = make_function(function_name, key)
    optimizer = core.get_optimizer(optimizer_name, **json.loads(hyper_key))
    result = core.stability(function, optimizer, np.array(start), steps, noise=noise, seed=seed,
                            scheduler=make_scheduler(schedule))
    return {"ratio": np.asarray(result.ratio, dtype=float), "unstable": np.asarray(result.unstable, dtype=bool),
            "rule": result.rule, "has_threshold": result.threshold is not None}


@st.cache_data(max_entries=256, show_spinner=False)
def schedule_specs(legend: tuple[tuple[str, str], ...]) -> tuple[dict, dict]:
    """The Vega-Lite specs of the lr and momentum charts, without data (as `curve_specs`)."""
    specs = (figures.schedule_chart(list(legend), "lr", "learning rate").to_dict(),
             figures.schedule_chart(list(legend), "momentum", "momentum (β₁)").to_dict())
    for spec in specs:
        spec.pop("data", None)
        spec.pop("datasets", None)
    return specs


def keep_choice(key: str, options, default) -> None:
    """Give a widget its default unless it holds a value that is still an option."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = default
