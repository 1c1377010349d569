"""Presets: the 2018 article's exact settings, and torch.optim defaults with a working lr.

A preset is plain data: function parameters (with the domain) and, per optimizer, its
hyperparameters and number of steps. The page starts from a preset and the user's changes
are kept as differences from it (which is also what the share link stores).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import core
from core import FUNCTION_CLASSES

ARTICLE_OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")

# The original page's four optimizers, exactly as coded (../shared/seed/original-settings.md).
ARTICLE_SETTINGS = {
    "sgd": ({"lr": 0.02}, 500),
    "momentum": ({"lr": 0.01, "momentum": 0.8}, 200),
    "rmsprop": ({"lr": 0.01, "alpha": 0.99, "eps": 1e-6}, 300),
    "adam": ({"lr": 0.01, "betas": (0.7, 0.999), "eps": 1e-6, "bias_correction": False}, 100),
}

# The functions of the article's pages, with the parameters and domain of its pictures, and
# the changes its Rastrigin and Rosenbrock pages need.
ARTICLE_FUNCTIONS = {
    "two_gaussians": {"params": {}, "lr": {}, "steps": None},
    "rastrigin": {
        "params": {"A": 20.0, "omega": 1.0, "domain": ((-20.0, 20.0), (-20.0, 20.0))},
        "lr": {"rmsprop": 0.1, "adam": 0.1},
        "steps": None,
    },
    "rosenbrock": {
        "params": {"b": 2.0, "domain": ((-1.5, 1.5), (-1.0, 3.0))},
        "lr": {},
        "steps": 1000,
    },
}

LIBRARY_STEPS = 300
LIBRARY_LR_FILE = Path(__file__).with_name("library_lrs.json")


@dataclass(frozen=True)
class Preset:
    """Everything a page needs to start: function parameters, optimizers and their settings."""

    name: str
    function_params: dict = field(default_factory=dict)
    hyperparameters: dict[str, dict] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)
    enabled: tuple[str, ...] = ARTICLE_OPTIMIZERS


PRESET_NAMES = ("2018 post", "library defaults")


def default_preset_name(function_name: str) -> str:
    return "2018 post" if function_name in ARTICLE_FUNCTIONS else "library defaults"


def article_preset(function_name: str) -> Preset:
    """The article's four optimizers as coded; on its three functions, its exact pages."""
    page = ARTICLE_FUNCTIONS.get(function_name, {"params": {}, "lr": {}, "steps": None})
    hyperparameters, steps = {}, {}
    for name in core.OPTIMIZERS:
        if name in ARTICLE_SETTINGS:
            settings, count = ARTICLE_SETTINGS[name]
            settings = dict(settings)
            if name in page["lr"]:
                settings["lr"] = page["lr"][name]
            hyperparameters[name] = settings
            steps[name] = page["steps"] or count
        else:
            hyperparameters[name] = {"lr": library_lr(function_name, name)}
            steps[name] = page["steps"] or LIBRARY_STEPS
    return Preset("2018 post", dict(page["params"]), hyperparameters, steps)


def library_preset(function_name: str) -> Preset:
    """torch.optim's (or the paper's) defaults, with a learning rate tuned for the function."""
    hyperparameters = {name: {"lr": library_lr(function_name, name)} for name in core.OPTIMIZERS}
    steps = {name: LIBRARY_STEPS for name in core.OPTIMIZERS}
    return Preset("library defaults", {}, hyperparameters, steps)


def get_preset(name: str, function_name: str) -> Preset:
    if name == "2018 post":
        preset = article_preset(function_name)
    elif name == "library defaults":
        preset = library_preset(function_name)
    else:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESET_NAMES)}")
    _bound_eve(preset, function_name)
    return preset


def _bound_eve(preset: Preset, function_name: str) -> None:
    """Eve needs a lower bound f* of the loss: the function's known minimum where there is one."""
    if "eve" not in preset.hyperparameters:
        return
    f_min = FUNCTION_CLASSES[function_name](**preset.function_params).f_min
    if f_min is not None:
        preset.hyperparameters["eve"]["f_star"] = float(f_min)


@functools.cache
def _library_lrs() -> dict:
    """The tuned table (read-only configuration, shared by all sessions)."""
    return json.loads(LIBRARY_LR_FILE.read_text()) if LIBRARY_LR_FILE.exists() else {}


def library_lr(function_name: str, optimizer_name: str) -> float:
    """The lr tuned for this function (library_lrs.json, made by benchmarks/tune_library_lrs.py);
    for a function without one (a typed function, the saddle), the median of the optimizer's
    tuned lrs over the other functions; else the optimizer's own default."""
    table = _library_lrs()
    tuned = table.get(function_name, {}).get(optimizer_name)
    if tuned is not None:
        return float(tuned)
    others = [lrs[optimizer_name] for lrs in table.values() if optimizer_name in lrs]
    if others:
        return float(np.median(others))
    return core.get_optimizer(optimizer_name).lr
