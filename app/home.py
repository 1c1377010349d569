"""The home page: what the tool shows, a card per function, the optimizer legend."""

import html

import streamlit as st

import core
from core import FUNCTION_CLASSES, OPTIMIZER_CLASSES

from . import compute
from .figures import OPTIMIZER_COLORS, sized_formula
from .navigation import page_files, page_link_path, page_title
from .page import optimizer_note, scenario_links
from .presets import ARTICLE_FUNCTIONS, ARTICLE_OPTIMIZERS

INTRO = """
Why do Adam, momentum and plain gradient descent, started from the same point, end in
different places? Pick a function, **click anywhere on its contour**, and every enabled
optimizer starts from there: its path is drawn over the landscape, with its loss and
gradient norm step by step below. Change a learning rate and the paths follow at once.

The “2018 post” preset reproduces, number for number, the four optimizers of the article
*Interactive Visualization of Optimization Algorithms in Deep Learning* (2018); the
“library defaults” preset uses torch.optim's defaults. Every optimizer here matches its
reference implementation to float64 precision, and the page's address keeps your settings,
so a copied link reopens the same view.
"""


def _legend_html() -> str:
    items = []
    for name in core.OPTIMIZERS:
        colour = OPTIMIZER_COLORS.get(name, "#444444")
        weight = "600" if name in ARTICLE_OPTIMIZERS else "400"
        items.append(
            f'<span title="{html.escape(optimizer_note(name))}" style="display:inline-flex;align-items:center;'
            f'margin:0 14px 6px 0;font-weight:{weight}">'
            f'<span style="width:12px;height:12px;border-radius:50%;background:{colour};'
            f'display:inline-block;margin-right:6px"></span>{OPTIMIZER_CLASSES[name].title}</span>'
        )
    return "".join(items)


def home_page() -> None:
    st.set_page_config(page_title="Optimizer paths", page_icon="🧭", layout="wide")
    compute.freeze_long_lived_objects()
    st.title("Optimizer paths on 2-D functions")
    st.markdown(INTRO)
    st.subheader("Guided scenarios")
    st.markdown("Each sets up a page to show one claim of the article, or one lesson of ours, and says what to "
                "watch for.")
    scenario_links(st.columns(2))
    st.subheader("Optimizers")
    st.markdown(_legend_html(), unsafe_allow_html=True)
    st.caption("In bold: the article's four, on by default, in its colours. Point at a name for what it does.")

    st.subheader("The article's functions")
    _cards(list(ARTICLE_FUNCTIONS))
    st.subheader("Classic test functions")
    _cards([name for name in page_files() if name not in ARTICLE_FUNCTIONS and name != "custom"])
    st.subheader("Your own")
    _cards(["custom"])


def _summary(name: str) -> str:
    """The first line of the function's docstring, without a repeated formula."""
    return (FUNCTION_CLASSES[name].__doc__ or "").strip().splitlines()[0]


def _cards(names: list[str], per_row: int = 3) -> None:
    for row in range(0, len(names), per_row):
        columns = st.columns(per_row)
        for column, name in zip(columns, names[row: row + per_row]):
            with column.container(border=True, height="stretch"):
                st.page_link(page_link_path(name), label=f"**{page_title(name)}**", icon=":material/arrow_forward:")
                st.caption(_summary(name) if name != "custom" else
                           "Type any f(x, y), e.g. (1 − x)² + 100 (y − x²)²: its gradient is derived exactly.")
                formula = FUNCTION_CLASSES[name].formula
                if isinstance(formula, str):  # ("Your function" has none to show)
                    st.latex(sized_formula(formula, small_below=70))
