"""Widgets shared by the page's parts: session keys per page, values kept across pages, and a
number input that says when it refuses a value."""

from __future__ import annotations

import streamlit as st


class PageKeys:
    """session_state keys of one page, prefixed so that pages never share widgets."""

    def __init__(self, page: str):
        self.page = page

    def __call__(self, *parts) -> str:
        return ".".join((self.page, *map(str, parts)))


def init_widget(key: str, value) -> None:
    """Give a widget its value from the page state unless it already has one (widgets that
    were not drawn, e.g. on another page, lose theirs)."""
    if key not in st.session_state:
        st.session_state[key] = value


def number_input(container, keys: PageKeys, label: str, key: str, on_change=None, **kwargs):
    """st.number_input that says when it refuses a value. Streamlit turns a value that is not
    finite, or lies outside [min_value, max_value], into the widget's default without a word
    (from an emptied box, or a hand-made client sending steps 10⁷ or momentum NaN). Here that
    default is None: the callback then puts back the last accepted value and leaves a message
    for the page (`refusals`)."""
    accepted = key + ".accepted"

    def check() -> None:
        if st.session_state.get(key) is None and st.session_state.get(accepted) is not None:
            st.session_state[key] = kept = st.session_state[accepted]
            low, high = kwargs.get("min_value"), kwargs.get("max_value")
            wanted = f"a number from {low:,g} to {high:,g}" if low is not None and high is not None \
                else "a finite number"
            st.session_state.setdefault(keys("refused"), []).append(
                f"“{label}” needs {wanted}; the value sent was refused and it stays {kept:g}.")
        if on_change is not None:
            on_change()

    value = container.number_input(label, value=None, key=key, on_change=check, **kwargs)
    if value is not None:
        st.session_state[accepted] = value
    return st.session_state.get(accepted) if value is None else value


def refusals(keys: PageKeys) -> None:
    """Say which inputs were refused since the last run (see `number_input`)."""
    for message in st.session_state.pop(keys("refused"), []):
        st.warning(message, icon="⚠️")
