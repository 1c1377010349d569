"""A page's state as plain data, and its round trip through the URL query string.

The query string holds only what differs from the preset:

    ?preset=library+defaults&start=0.5,1&opt=sgd,adam&adam.lr=0.02&adam.betas=0.8,0.99
    &adam.steps=200&adam.schedule=cosine_annealing_lr&adam.schedule.eta_min=0.001
    &f.A=20&f.domain=-20,20,-20,20&tab=basins&basins.on=true

(a schedule's arguments only where they differ from its starting ones, app.schedules)

and two things that are not settings: a guided scenario (`scenario=<key>`, or `guide=<key>` in
the link that opens it afresh; its query is read first, the rest of the URL on top of it) and how the page is viewed (VIEW_CHOICES: the open
tab, the analyses switched on, the animation speed).

Everything read from a URL is untrusted: each bad value is dropped with a warning naming it,
and the page falls back to the preset's value.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import core
from core import OPTIMIZER_CLASSES

from . import schedules
from .presets import PRESET_NAMES, default_preset_name, get_preset
from .scenarios import SCENARIOS

MAX_STEPS = 5000
MAX_VALUE_LENGTH = 64
MAX_WARNINGS = 8
MAX_NOISE = 1e3
MAX_EXPRESSION_LENGTH = 500
MAX_OPT_LENGTH = len(",".join(core.OPTIMIZERS)) + 20  # every optimizer on

# How the page is viewed: URL key -> its accepted values, the default first.
ON_OFF = ("false", "true")
VIEW_CHOICES: dict[str, tuple[str, ...]] = {
    "tab": ("results", "basins", "sweep", "inside", "surface", "compare", "share"),
    "speed": ("article", "slow", "fast", "off"),
    "arrows": ON_OFF,
    "basins.on": ON_OFF,
    "basins.grid": ("101", "51", "201", "401"),
    "sweep.on": ON_OFF,
    "sweep.span": ("100", "10", "1000"),
    "inside.on": ON_OFF,
    "surface.on": ON_OFF,
    "compare.on": ON_OFF,
    "stability.on": ON_OFF,
}


@dataclass
class PageState:
    preset: str
    function_params: dict = field(default_factory=dict)
    enabled: list[str] = field(default_factory=list)
    hyperparameters: dict[str, dict] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)
    schedules: dict[str, dict] = field(default_factory=dict)  # optimizer -> its schedule (app.schedules)
    transform: dict = field(default_factory=dict)  # {"rotation": degrees, "scale": (sx, sy)}; {} for none
    start: tuple[float, float] | None = None
    noise: float = 0.0  # standard deviation of Gaussian noise added to every gradient
    seed: int = 0
    scenario: str | None = None  # the guided scenario shown, a key of SCENARIOS
    view: dict[str, str] = field(default_factory=dict)  # VIEW_CHOICES key -> value


def preset_state(function_name: str, preset_name: str | None = None) -> PageState:
    preset = get_preset(preset_name or default_preset_name(function_name), function_name)
    return PageState(
        preset=preset.name,
        function_params=dict(preset.function_params),
        enabled=list(preset.enabled),
        hyperparameters={name: dict(h) for name, h in preset.hyperparameters.items()},
        steps=dict(preset.steps),
    )


def full_hyperparameters(optimizer_name: str, overrides: dict) -> dict:
    """All of an optimizer's hyperparameters: its class defaults updated with `overrides`."""
    values = core.get_optimizer(optimizer_name).hyperparameters
    values.update(overrides)
    return values


# ---------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------
def _format(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, (tuple, list)):
        return ",".join(_format(v) for v in value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _format_domain(domain) -> str:
    (x0, x1), (y0, y1) = domain
    return _format([float(x0), float(x1), float(y0), float(y1)])


def to_query(state: PageState, function_name: str, function_class) -> dict[str, str]:
    """The query parameters that reproduce `state` (only what differs from its preset)."""
    base = preset_state(function_name, state.preset)
    defaults = {f.name: f.default for f in dataclasses.fields(function_class) if f.name != "domain"}
    reference_params = {**defaults, "domain": function_class.default_domain, **base.function_params}
    query: dict[str, str] = {}
    if state.preset != default_preset_name(function_name):
        query["preset"] = state.preset
    if state.start is not None:
        query["start"] = _format([float(state.start[0]), float(state.start[1])])
    if state.noise:
        query["noise"] = _format(float(state.noise))
    if state.seed:
        query["seed"] = str(state.seed)
    if state.scenario:
        query["scenario"] = state.scenario
    if state.transform.get("rotation"):
        query["rotate"] = _format(float(state.transform["rotation"]))
    if tuple(state.transform.get("scale", (1.0, 1.0))) != (1.0, 1.0):
        query["stretch"] = _format(tuple(map(float, state.transform["scale"])))
    for key, value in state.view.items():
        if value != VIEW_CHOICES[key][0]:
            query[key] = value
    if sorted(state.enabled) != sorted(base.enabled):
        query["opt"] = ",".join(state.enabled) if state.enabled else "none"
    for key, value in state.function_params.items():
        if _normalized(reference_params.get(key)) != _normalized(value):
            query[f"f.{key}"] = _format_domain(value) if key == "domain" else _format(value)
    for name in core.OPTIMIZERS:
        current = full_hyperparameters(name, state.hyperparameters.get(name, {}))
        reference = full_hyperparameters(name, base.hyperparameters.get(name, {}))
        for key, value in current.items():
            if _normalized(value) != _normalized(reference[key]):
                query[f"{name}.{key}"] = _format(value)
        if state.steps.get(name) != base.steps.get(name):
            query[f"{name}.steps"] = str(state.steps[name])
        schedule = state.schedules.get(name)
        if schedule:
            query[f"{name}.schedule"] = schedule["name"]
            starting = schedules.starting_arguments(schedule["name"], current["lr"], state.steps.get(name, 300))
            for key, value in schedule.items():
                if key != "name" and _normalized(value) != _normalized(starting.get(key)):
                    query[f"{name}.schedule.{key}"] = _format(value)
    return query


def changes_from_preset(state: PageState, function_name: str, function_class) -> list[str]:
    """The settings (query keys) in which `state` differs from its preset; the start, noise
    and seed are not preset settings."""
    return [key for key in to_query(state, function_name, function_class)
            if key not in ("preset", "start", "noise", "seed", "scenario", *VIEW_CHOICES)]


def _normalized(value):
    """Lists and tuples (also nested, as in a domain) compare alike, numbers as floats."""
    if isinstance(value, (list, tuple)):
        return tuple(_normalized(v) for v in value)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else value


# ---------------------------------------------------------------------------------------
# Decoding (untrusted input)
# ---------------------------------------------------------------------------------------
def _parse_float(text: str) -> float:
    if not text.isascii():
        raise ValueError("not a plain number")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _parse_like(text: str, example):
    """Parse `text` as the same type as `example` (a bool, a number or a pair of numbers)."""
    if isinstance(example, bool):
        if text.lower() in ("true", "1", "yes"):
            return True
        if text.lower() in ("false", "0", "no"):
            return False
        raise ValueError("expected true or false")
    if isinstance(example, tuple):
        parts = text.split(",")
        if len(parts) != len(example):
            raise ValueError(f"expected {len(example)} comma-separated numbers")
        # a part whose default is None (Adafactor's ε₁: machine ε) may be "none"
        return tuple(None if d is None and p.strip().lower() in ("none", "") else _parse_float(p)
                     for p, d in zip(parts, example))
    return _parse_float(text)


def _parse_choice(text: str, choices: tuple):
    """One of `choices` (None written "none")."""
    for choice in choices:
        if text == ("none" if choice is None else str(choice)):
            return choice
    raise ValueError(f"expected one of {', '.join('none' if c is None else str(c) for c in choices)}")


def _parse_domain(text: str):
    parts = [_parse_float(p) for p in text.split(",")]
    if len(parts) != 4:
        raise ValueError("expected xmin,xmax,ymin,ymax")
    return ((parts[0], parts[1]), (parts[2], parts[3]))


def _single(value) -> str:
    """Streamlit gives the last of repeated keys; other callers may pass lists."""
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else ""
    return str(value)


def from_query(query: dict, function_name: str, function_class) -> tuple[PageState, list[str]]:
    """The state a URL asks for, and a warning for each part of it that was ignored."""
    warnings: list[str] = []

    def warn(key: str, problem: str) -> None:
        warnings.append(f"Ignored URL parameter “{key[:40]}”: {problem}.")

    raw = {}
    for key, value in query.items():
        text = _single(value)
        limit = {"f.expression": MAX_EXPRESSION_LENGTH, "opt": MAX_OPT_LENGTH}.get(key, MAX_VALUE_LENGTH)
        if len(key) > MAX_VALUE_LENGTH or len(text) > limit:
            warn(key, "too long")
        else:
            raw[str(key)] = text.strip()

    requested = raw.pop("guide", None) or raw.pop("scenario", None)  # a scenario's link, or a view of it
    raw.pop("scenario", None)
    scenario = SCENARIOS.get(requested or "")
    if requested is not None and (scenario is None or scenario.function != function_name):
        warn("scenario", "no such guided scenario on this page")
        scenario = None
    if scenario:
        raw = {**scenario.query, **raw}

    preset = raw.pop("preset", None)
    if preset is not None and preset not in PRESET_NAMES:
        warn("preset", f"unknown preset (choose {' or '.join(PRESET_NAMES)})")
        preset = None
    state = preset_state(function_name, preset)
    state.scenario = scenario.key if scenario else None
    for key in [k for k in raw if k in VIEW_CHOICES]:
        value = raw.pop(key).lower()
        if value in VIEW_CHOICES[key]:
            state.view[key] = value
        else:
            warn(key, f"expected one of {', '.join(VIEW_CHOICES[key])}")

    if "start" in raw:
        text = raw.pop("start")
        try:
            x, y = (_parse_float(p) for p in text.split(","))
            state.start = (x, y)
        except ValueError:
            warn("start", "expected two numbers x,y")

    if "noise" in raw:
        try:
            noise = _parse_float(raw.pop("noise"))
            if not 0 <= noise <= MAX_NOISE:
                raise ValueError(f"noise must be between 0 and {MAX_NOISE}")
            state.noise = noise
        except ValueError as error:
            warn("noise", str(error))
    if "seed" in raw:
        text = raw.pop("seed")
        if text.isascii() and text.isdigit() and int(text) < 2**32:
            state.seed = int(text)
        else:
            warn("seed", f"expected a whole number from 0 to {2**32 - 1}")

    for key, parse in (("rotate", _parse_float), ("stretch", lambda t: tuple(_parse_float(p) for p in t.split(",")))):
        if key in raw:
            try:
                value = parse(raw.pop(key))
                if key == "rotate" and -360 <= value <= 360:
                    value = (value + 180) % 360 - 180 if not -180 <= value <= 180 else value  # the same turn
                candidate = {**state.transform, ("rotation" if key == "rotate" else "scale"): value}
                core.transform(core.get_function("booth"), **candidate)  # the checks: ranges, a pair
                state.transform = candidate
            except (TypeError, ValueError) as error:
                warn(key, str(error) or ("expected a number" if key == "rotate" else "expected two numbers sx,sy"))

    if "opt" in raw:
        names = [n for n in raw.pop("opt").split(",") if n]
        unknown = [n for n in names if n not in core.OPTIMIZERS and n != "none"]
        if unknown:
            warn("opt", f"unknown optimizer(s) {', '.join(n[:20] for n in unknown)}")
        state.enabled = [n for n in core.OPTIMIZERS if n in names]

    function_fields = {f.name: f for f in dataclasses.fields(function_class)}
    for key in [k for k in raw if k.startswith("f.")]:
        name, text = key[2:], raw.pop(key)
        if name not in function_fields:
            warn(key, "unknown function parameter")
            continue
        try:
            if name == "domain":
                state.function_params[name] = _parse_domain(text)
            elif function_fields[name].type in ("str", str):
                state.function_params[name] = text
            else:
                state.function_params[name] = _parse_float(text)
        except ValueError as error:
            warn(key, str(error))
    try:
        function_class(**state.function_params)
    except (TypeError, ValueError) as error:
        warn("f.*", str(error))
        state.function_params = preset_state(function_name, state.preset).function_params

    scheduled: dict[str, dict[str, str]] = {}  # optimizer -> {"": schedule name, argument: text}
    for key in list(raw):
        name, _, parameter = key.partition(".")
        text = raw.pop(key)
        if name not in OPTIMIZER_CLASSES or not parameter:
            warn(key, "unknown parameter")
            continue
        if parameter == "schedule" or parameter.startswith("schedule."):  # read once lr and steps are
            scheduled.setdefault(name, {})[parameter.removeprefix("schedule").removeprefix(".")] = text
            continue
        if parameter == "steps":
            try:
                steps = int(_parse_float(text))
            except ValueError:
                warn(key, "expected a whole number of steps")
                continue
            if not 1 <= steps <= MAX_STEPS:
                warn(key, f"steps must be between 1 and {MAX_STEPS}; capped")
                steps = min(max(steps, 1), MAX_STEPS)
            state.steps[name] = steps
            continue
        defaults = full_hyperparameters(name, {})
        if parameter not in defaults:
            warn(key, f"{name} has no hyperparameter {parameter[:30]!r}")
            continue
        try:
            choices = OPTIMIZER_CLASSES[name].CHOICES.get(parameter)
            value = _parse_choice(text, choices) if choices else _parse_like(text, defaults[parameter])
        except ValueError as error:
            warn(key, str(error))
            continue
        candidate = {**state.hyperparameters.get(name, {}), parameter: value}
        try:
            core.get_optimizer(name, **candidate)
        except ValueError as error:
            warn(key, str(error))
            continue
        state.hyperparameters[name] = candidate
    for name, texts in scheduled.items():
        _read_schedule(state, name, texts, warn)

    if len(warnings) > MAX_WARNINGS:
        warnings = warnings[:MAX_WARNINGS] + [f"… and {len(warnings) - MAX_WARNINGS} more ignored URL parameters."]
    return state, warnings


def _read_schedule(state: PageState, name: str, texts: dict[str, str], warn) -> None:
    """`name.schedule=<scheduler>` and `name.schedule.<argument>=<value>` into state.schedules;
    each bad part is dropped with a warning, a schedule that cannot run with its optimizer too."""
    chosen = texts.pop("", None)
    if chosen is None:
        for argument in texts:
            warn(f"{name}.schedule.{argument}", f"no {name}.schedule given")
        return
    if chosen == "none":
        state.schedules.pop(name, None)
        return
    if chosen not in core.SCHEDULERS:
        warn(f"{name}.schedule", f"unknown schedule (choose one of {', '.join(core.SCHEDULERS)})")
        return
    hyperparameters = full_hyperparameters(name, state.hyperparameters.get(name, {}))
    steps = state.steps.get(name, 300)
    schedule = schedules.starting_arguments(chosen, hyperparameters["lr"], steps)
    choices = core.SCHEDULERS[chosen].CHOICES
    for argument, text in texts.items():
        key = f"{name}.schedule.{argument}"
        if argument not in schedule or argument == "name":
            warn(key, f"{chosen} has no argument {argument[:30]!r}")
            continue
        try:
            candidate = {**schedule, argument: schedules.parse_argument(text, schedule[argument],
                                                                        choices.get(argument))}
            schedules.scheduler(candidate)
        except (TypeError, ValueError) as error:
            warn(key, str(error))
            continue
        schedule = candidate
    problem = schedules.problem(schedule, core.get_optimizer(name, **state.hyperparameters.get(name, {})), steps)
    if problem:
        warn(f"{name}.schedule", problem)
        return
    state.schedules[name] = schedule
