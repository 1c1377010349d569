"""Learning-rate schedules as the page keeps them: plain data, no Streamlit.

A schedule is a dict {"name": <a core.SCHEDULERS name>, <argument>: <value>, ...} holding all
of its arguments; an optimizer without one has none (the default, and the "2018 post" preset's
constant rates). The arguments start fitted to the run (`starting_arguments`), and the URL
keeps only those that differ from them.
"""

from __future__ import annotations

import dataclasses
import numbers

import pandas as pd

import core

TITLES = {
    "step_lr": "step decay", "multi_step_lr": "multi-step decay", "exponential_lr": "exponential decay",
    "cosine_annealing_lr": "cosine annealing", "cosine_annealing_warm_restarts": "cosine with warm restarts",
    "one_cycle_lr": "one cycle", "linear_lr": "linear warm-up", "cyclic_lr": "cyclic",
    "polynomial_lr": "polynomial decay",
}


def _round(value: float) -> float:
    return float(f"{value:.4g}")


def starting_arguments(name: str, lr: float, steps: int) -> dict:
    """The arguments a schedule starts with on the page: torch's defaults, except where torch
    requires a value or its default suits epochs rather than steps. Those are spread over the
    run's `steps` from its `lr`: step decay every third of the run, multi-step decay at ½ and ¾,
    an exponential decay that divides the lr by 100 over the run, cosine over the whole run
    (warm restarts every quarter), one cycle peaking at the lr, a linear warm-up over the first
    tenth, a cycle between lr/10 and lr every quarter, polynomial decay to 0 at the end."""
    steps = max(int(steps), 1)
    fitted = {
        "step_lr": {"step_size": max(1, steps // 3)},
        "multi_step_lr": {"milestones": (max(1, steps // 2), max(2, 3 * steps // 4))},
        "exponential_lr": {"gamma": _round(0.01 ** (1 / steps))},
        "cosine_annealing_lr": {"T_max": steps},
        "cosine_annealing_warm_restarts": {"T_0": max(1, steps // 4)},
        "one_cycle_lr": {"max_lr": float(lr), "total_steps": steps},
        "linear_lr": {"total_iters": max(1, steps // 10)},
        "cyclic_lr": {"base_lr": _round(lr / 10), "max_lr": float(lr), "step_size_up": max(1, steps // 8)},
        "polynomial_lr": {"total_iters": steps},
    }[name]
    return {"name": name, **core.get_scheduler(name, **fitted).arguments}


def scheduler(schedule: dict):
    """The core scheduler of a schedule dict; ValueError if its arguments are not accepted."""
    arguments = dict(schedule)
    return core.get_scheduler(arguments.pop("name"), **arguments)


def problem(schedule: dict | None, optimizer, steps: int) -> str | None:
    """Why the schedule cannot run with this optimizer for `steps` steps (e.g. a momentum cycle
    on an optimizer without momentum, a one-cycle shorter than the run), or None."""
    if not schedule:
        return None
    try:
        scheduler(schedule).hyperparameters(optimizer, int(steps))
    except (TypeError, ValueError) as error:
        return str(error)
    return None


def parse_argument(text: str, example, choices: tuple | None = None):
    """An argument from its URL text, of the type of `example` (its starting value)."""
    text = text.strip()
    if choices:
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return text
    if isinstance(example, bool):
        if text.lower() not in ("true", "false"):
            raise ValueError("expected true or false")
        return text.lower() == "true"
    if isinstance(example, tuple):  # milestones
        return tuple(_whole(part) for part in text.split(",") if part.strip())
    if example is None:  # cyclic_lr's step_size_down: none means "as step_size_up"
        return None if text.lower() in ("", "none") else _whole(text)
    if isinstance(example, numbers.Integral):
        return _whole(text)
    return _number(text)


def _number(text: str) -> float:
    if not text.isascii():
        raise ValueError("not a plain number")
    return float(text)


def _whole(text: str) -> int:
    value = _number(text.strip())
    if not value.is_integer() or abs(value) > 10**9:
        raise ValueError(f"expected a whole number, got {text[:20]}")
    return int(value)


def summary(schedule: dict | None) -> str:
    """"cosine annealing (T_max 300, eta_min 0)": for tables and exports."""
    if not schedule:
        return "constant"
    defaults = {f.name: f.default for f in dataclasses.fields(core.SCHEDULERS[schedule["name"]])}
    arguments = ", ".join(f"{k} {_format(v)}" for k, v in schedule.items()
                          if k != "name" and defaults.get(k) != v)  # those torch requires, or changed
    return f"{TITLES[schedule['name']]} ({arguments})"


def _format(value) -> str:
    if isinstance(value, tuple):
        return ",".join(map(_format, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def schedule_frame(runs: list[tuple[str, str, object, dict, int]]) -> pd.DataFrame:
    """Tidy frame of the scheduled runs, one row per step t = 1..steps: optimizer (title),
    step, lr, and momentum where the schedule cycles it (β₁ for optimizers with betas).
    `runs` holds (title, colour, optimizer, schedule, steps)."""
    frames = []
    for title, _, optimizer, schedule, steps in runs:
        values = scheduler(schedule).hyperparameters(optimizer, steps)
        frame = pd.DataFrame({"optimizer": title, "step": range(1, len(values) + 1),
                              "lr": [v["lr"] for v in values]})
        if values and ("momentum" in values[0] or "betas" in values[0]):
            frame["momentum"] = [v["momentum"] if "momentum" in v else v["betas"][0] for v in values]
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["optimizer", "step", "lr", "momentum"])
    return pd.concat(frames, ignore_index=True)
