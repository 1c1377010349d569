"""AppTest (streamlit.testing.v1) of the "Your function" page: messages for refused text,
warnings where f is undefined, and the example buttons."""

import pytest
from streamlit.testing.v1 import AppTest

from app.figures import contour_levels
from app.navigation import page_files
from app.page import EXPRESSION_EXAMPLES
from core.custom import CustomFunction

TIMEOUT = 60
KEY = "custom.w.expression"


def page_with(expression: str | None = None, start: tuple[float, float] | None = None) -> AppTest:
    """The page run once, f typed through the URL (`f.expression`), optionally with a start."""
    at = AppTest.from_file(str(page_files()["custom"]), default_timeout=TIMEOUT)
    if expression is not None:
        at.query_params["f.expression"] = expression
    if start is not None:
        at.session_state["custom.start_x"], at.session_state["custom.start_y"] = start
    return at.run()


def typed(expression: str) -> AppTest:
    """The page after `expression` was typed into its input."""
    at = page_with()
    at.text_input(key=KEY).set_value(expression).run()
    assert not at.exception
    return at


def messages(elements) -> list[str]:
    return [element.value for element in elements]


def test_forbidden_name_is_quoted_as_typed():
    at = typed("__import__('os')")
    # Markdown would show __import__ as a bold "import": the name is quoted as code.
    assert any(m.startswith("`__import__` at column 1 is not allowed: the only functions are sin, cos,")
               for m in messages(at.error)), messages(at.error)


def test_incomplete_expression_says_where_it_ends():
    at = typed("x^2 + y^2 +")
    assert "incomplete expression: it ends after `+` at column 11" in messages(at.error)


def test_log_warns_of_the_undefined_half():
    at = page_with("log(x) + y^2")
    assert not at.exception
    assert messages(at.warning) == [
        "f is undefined (not a real number) on 50% of the domain (e.g. at x = −1.5, y = 0): the blank area. "
        "Runs started there have no loss values, and stop at once where the gradient is undefined too."]
    assert not at.error


def test_a_run_started_where_f_is_undefined_shows_no_traceback():
    at = page_with("sqrt(x) + y^2", start=(-1.0, 0.5))
    assert not at.exception
    assert any("undefined" in m for m in messages(at.warning))


def test_function_undefined_everywhere_is_an_error():
    at = page_with("log(-x^2 - 1 - y^2)")
    assert not at.exception
    assert [m for m in messages(at.error) if m.startswith("f is undefined (not a real number) everywhere")]
    assert not at.warning


def test_defined_function_has_no_warning():
    at = page_with("x^2 + y^2")
    assert not at.exception and not at.warning and not at.error


@pytest.mark.parametrize("index", range(len(EXPRESSION_EXAMPLES)))
def test_example_button_fills_in_the_expression(index):
    at = page_with()
    expression = list(EXPRESSION_EXAMPLES.values())[index]
    assert at.text_input(key=KEY).value != expression
    at.button(key=f"custom.example.{index}").click().run()
    assert not at.exception
    assert at.text_input(key=KEY).value == expression
    assert at.query_params["f.expression"] == expression
    assert not at.error and not at.warning


@pytest.mark.parametrize("expression, log", [("(1-x)^2 + 100*(y-x^2)^2", True), ("sin(x)*cos(y)", False)])
def test_typed_function_gets_log_colours_when_its_range_needs_them(expression, log):
    f = CustomFunction(expression=expression)
    _, _, is_log = contour_levels(f, f.grid()[2])
    assert is_log is log
    assert expression in EXPRESSION_EXAMPLES.values() or not log  # the typed Rosenbrock is an example
