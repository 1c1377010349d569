"""Learning-rate schedules on the page: the controls in an optimizer's settings, and the charts
of each step's learning rate (and the momentum a cycle sets) under the loss curves."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

import core

from . import schedules
from .widgets import PageKeys, init_widget, number_input

NONE = "none"


def schedule_widgets(keys: PageKeys, name: str, lr: float, steps: int, current: dict | None) -> dict | None:
    """A schedule picker and, for the chosen schedule, a control per argument (built from the
    scheduler's fields). Choosing a schedule starts it fitted to the run (app.schedules);
    returns the schedule, or None for a constant learning rate."""
    key = keys("w", name, "schedule")
    init_widget(key, current["name"] if current else NONE)
    chosen = st.selectbox("learning-rate schedule", (NONE, *core.SCHEDULERS), key=key,
                          format_func=lambda s: "constant (none)" if s == NONE else schedules.TITLES[s],
                          help="As torch.optim.lr_scheduler: the schedule's step() after every optimizer step.")
    if chosen == NONE:
        return None
    if not current or current["name"] != chosen:
        current = schedules.starting_arguments(chosen, lr, steps)
    choices = core.SCHEDULERS[chosen].CHOICES
    schedule = {"name": chosen}
    arguments = [(k, v) for k, v in current.items() if k != "name"]
    # Numbers and choices two to a row, switches below them, each labelled in words (torch's
    # name in its help).
    columns = st.columns(2)
    for i, (argument, value) in enumerate(sorted(arguments, key=lambda a: isinstance(a[1], bool))):
        widget_key = keys("w", name, "schedule", chosen, argument)
        column = columns[i % 2]
        label, help_text = argument.replace("_", " "), f"torch's `{argument}`"
        if argument in choices:
            init_widget(widget_key, value)
            schedule[argument] = column.selectbox(label, choices[argument], key=widget_key, help=help_text)
        elif isinstance(value, bool):
            init_widget(widget_key, value)
            schedule[argument] = st.checkbox(label, key=widget_key, help=help_text)
        elif isinstance(value, tuple):  # milestones
            init_widget(widget_key, ",".join(map(str, value)))
            text = column.text_input(label, key=widget_key, help=f"{help_text}: steps, comma-separated, increasing.")
            try:
                schedule[argument] = schedules.parse_argument(text, value)
            except ValueError as error:
                st.warning(f"{argument}: {error}; kept {','.join(map(str, value))}.", icon="⚠️")
                schedule[argument] = value
        elif value is None or argument == "step_size_down":  # None: as step_size_up
            init_widget(widget_key, value)
            schedule[argument] = column.number_input(label, value=None, key=widget_key, step=1,
                                                     placeholder="as step size up", help=help_text)
        elif isinstance(value, int):
            init_widget(widget_key, int(value))
            schedule[argument] = int(number_input(column, keys, label, widget_key, step=1, help=help_text))
        else:
            init_widget(widget_key, float(value))
            schedule[argument] = float(number_input(column, keys, label, widget_key, format="%g", step=None,
                                                    help=help_text))
    return schedule


def schedule_charts(runs: list[tuple[str, str, object, dict, int]], longest: int) -> None:
    """Under the loss and gradient charts, in the same two columns and on the same steps: the
    lr of each scheduled optimizer, and the momentum (β₁) where its schedule cycles it. `runs`
    holds (title, colour, optimizer, schedule, steps)."""
    data = schedules.schedule_frame(runs)
    if data.empty:
        return
    legend = [(title, colour) for title, colour, *_ in runs]
    left, right = st.columns(2)
    left.altair_chart(_chart(data, legend, "lr", "learning rate", longest), width="stretch")
    if "momentum" in data and data["momentum"].notna().any():
        right.altair_chart(_chart(data.dropna(subset=["momentum"]), legend, "momentum", "momentum (β₁)", longest),
                           width="stretch")


def _chart(data: pd.DataFrame, legend, field: str, title: str, longest: int) -> alt.Chart:
    colours = alt.Scale(domain=[t for t, _ in legend], range=[c for _, c in legend])
    return (
        alt.Chart(data, title=title)
        .mark_line(strokeWidth=2, interpolate="step-after")
        .encode(
            x=alt.X("step:Q", title="step", scale=alt.Scale(domain=[0, longest])),
            y=alt.Y(f"{field}:Q", title=title, scale=alt.Scale(zero=False)),
            color=alt.Color("optimizer:N", scale=colours,
                            legend=alt.Legend(title=None, orient="bottom", columns=4, symbolLimit=0, labelLimit=120)),
            tooltip=["optimizer:N", "step:Q", alt.Tooltip(f"{field}:Q", format=".4g")],
        )
        .properties(height=160)
    )
