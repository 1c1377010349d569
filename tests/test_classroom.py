"""A classroom on one link: sessions kept apart, no shared mutable state, hostile URLs.

* Isolation (browser): two contexts on different pages and settings click in interleaved
  order; each sees only its own paths, optimizers and URL.
* Source check (ast): no module-level mutable data in app/ and core/ that a run could fill
  with a user's data; caches bounded and keyed on plain values.
* Hostile URLs (AppTest, seeded fuzzer): every query parameter a page understands, with wrong
  types, non-finite and huge numbers, 10 KB values, unicode, empties and commas: never an
  exception, never a hang, a warning naming each invalid value, steps capped with a message.
  Repeated keys are tested through a real browser URL (AppTest holds one value per key).
* Long work: the biggest step counts render; a huge basin grid asks before computing.

The load and memory figures (30 sessions, 1,000 clicks, 200 sessions) are measured by
benchmarks/bench_classroom.py, not here.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import random
import re
import time
import urllib.parse

import pytest
from streamlit.testing.v1 import AppTest

import core
from app.navigation import ROOT, page_files, url_path
from app.presets import ARTICLE_OPTIMIZERS, PRESET_NAMES, default_preset_name, get_preset
from app.state import MAX_STEPS
from core import FUNCTION_CLASSES
from tests.browser import ARTIFACTS, click_data_point, path_traces, plotly_frame, \
    wait_for_app

TIMEOUT = 30  # seconds for one AppTest run: a hang fails instead of blocking the suite
ARTICLE_TITLES = [core.get_optimizer(n).title for n in ARTICLE_OPTIMIZERS]


# =======================================================================================
# Browser: one server and one Chromium for the module
# =======================================================================================

def new_page(browser):
    return browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()



def open_page(page, server: str, function_name: str, query: str = ""):
    page.goto(f"{server}/{url_path(function_name)}{query}")
    wait_for_app(page)
    return plotly_frame(page)


def start_inputs(page) -> tuple[float, float] | None:
    values = [page.locator(f'input[aria-label="{label}"]').input_value() for label in ("start x", "start y")]
    return (float(values[0]), float(values[1])) if all(values) else None


def page_domain(function_name: str, preset: str | None = None):
    """The domain a page shows with its default (or the given) preset."""
    params = get_preset(preset or default_preset_name(function_name), function_name).function_params
    return core.get_function(function_name, **params).domain


def grid_cell(function_name: str) -> float:
    (x0, x1), (y0, y1) = page_domain(function_name)
    return 2 * max(x1 - x0, y1 - y0) / 149  # a click snaps to the 150-point contour grid


def click_at(page, frame, function_name: str, fx: float, fy: float) -> tuple[float, float]:
    """Click the contour at a fraction of the domain; wait until the start inputs show it."""
    (x0, x1), (y0, y1) = page_domain(function_name)
    target = (x0 + fx * (x1 - x0), y0 + fy * (y1 - y0))
    click_data_point(page, frame, *target)
    cell = grid_cell(function_name)
    deadline = time.monotonic() + 30
    while True:
        start = start_inputs(page)
        if start and abs(start[0] - target[0]) <= cell and abs(start[1] - target[1]) <= cell:
            break
        assert time.monotonic() < deadline, f"the click at {target} did not reach the start inputs (have {start})"
        time.sleep(0.1)
    wait_for_app(page)
    return target


def settled_paths(page, frame, titles: list[str], timeout: float = 30.0) -> tuple[tuple[float, float], dict]:
    """(start from the inputs, path traces) once exactly `titles` are drawn, all from that start."""
    deadline = time.monotonic() + timeout
    while True:
        start = start_inputs(page)
        paths = path_traces(frame)
        if start and set(paths) == set(titles) and all(
                abs(p["x"][0] - start[0]) < 1e-4 and abs(p["y"][0] - start[1]) < 1e-4 for p in paths.values()):
            return start, paths
        if time.monotonic() > deadline:
            first = {name: (p["x"][0], p["y"][0]) for name, p in paths.items()}
            raise AssertionError(f"expected {sorted(titles)} from {start}; drawn: {first}")
        time.sleep(0.2)


def query_of(page) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query, keep_blank_values=True)


def page_errors(page) -> list[str]:
    return [page.locator('[data-testid="stException"]').nth(i).inner_text()
            for i in range(page.locator('[data-testid="stException"]').count())]


@pytest.mark.browser
def test_two_sessions_clicking_in_turn_each_see_only_their_own_paths_and_settings(server, browser):
    a_page, b_page = new_page(browser), new_page(browser)
    try:
        a_frame = open_page(a_page, server, "two_gaussians")
        b_frame = open_page(b_page, server, "rosenbrock", "?adam.lr=0.05&opt=sgd,adam")
        a_titles, b_titles = ARTICLE_TITLES, ["SGD", "Adam"]
        sessions = {"A": (a_page, a_frame, "two_gaussians", a_titles),
                    "B": (b_page, b_frame, "rosenbrock", b_titles)}
        last_click: dict[str, tuple[float, float]] = {}
        drawn: dict[str, dict] = {}
        steps = [("A", 0.30, 0.70), ("B", 0.60, 0.40), ("A", 0.70, 0.25), ("B", 0.25, 0.80)]
        for step, (who, fx, fy) in enumerate(steps):
            clicker, clicker_frame, clicker_function, _ = sessions[who]
            last_click[who] = click_at(clicker, clicker_frame, clicker_function, fx, fy)
            for name, (page, frame, function_name, titles) in sessions.items():
                if name not in last_click:
                    assert not path_traces(frame), f"{name} drew paths before any click of its own"
                    continue
                start, paths = settled_paths(page, frame, titles)
                cell = grid_cell(function_name)
                assert abs(start[0] - last_click[name][0]) <= cell and abs(start[1] - last_click[name][1]) <= cell, \
                    f"step {step}: {name} starts at {start}, its own last click was {last_click[name]}"
                if name != who and name in drawn:  # the other session's click changed nothing here
                    assert {t: (p["x"], p["y"]) for t, p in paths.items()} == drawn[name], \
                        f"step {step}: {who}'s click changed {name}'s paths"
                drawn[name] = {t: (p["x"], p["y"]) for t, p in paths.items()}
            clicker.wait_for_function("() => location.search.includes('start=')", timeout=20_000)  # written last
            a_query, b_query = query_of(a_page), query_of(b_page)
            assert not any(key.startswith("adam.") or key == "opt" for key in a_query), \
                f"step {step}: A's URL holds B's settings: {a_page.url}"
            assert b_query.get("adam.lr") == ["0.05"] and b_query.get("opt") == ["sgd,adam"], b_page.url
            assert "start" in b_query or step == 0
            assert "start" in a_query
            assert not page_errors(a_page) and not page_errors(b_page)
        a_page.screenshot(path=str(ARTIFACTS / "classroom-A.png"))
        b_page.screenshot(path=str(ARTIFACTS / "classroom-B.png"))
    finally:
        a_page.context.close()
        b_page.context.close()


@pytest.mark.browser
def test_repeated_url_keys_take_the_last_value_with_warnings_and_no_traceback(server, browser):
    page = new_page(browser)
    try:
        query = ("?start=nan,1&start=0.5,1&opt=zzz&opt=sgd,adam&rmsprop.steps=abc&rmsprop.steps=999999999"
                 "&adam.lr=0.05&adam.lr=nan&seed=1&seed=%F0%9D%91%A5")
        frame = open_page(page, server, "two_gaussians", query)
        text = page.locator('[data-testid="stMain"]').inner_text()
        assert "Traceback" not in text and not page_errors(page)
        assert "capped" in text, "rmsprop.steps=999999999 (the last value) should be capped with a message"
        assert "“adam.lr”" in text and "“seed”" in text, "the last values of adam.lr and seed are invalid"
        assert "“start”" not in text and "“opt”" not in text, "the last values of start and opt are valid"
        start, paths = settled_paths(page, frame, ["SGD", "Adam"])
        assert start == (0.5, 1.0)
        page.wait_for_function("() => !location.search.includes('zzz')", timeout=20_000)  # the URL is rewritten
        written = query_of(page)
        assert all(len(values) == 1 for values in written.values()), f"the app rewrote repeated keys: {page.url}"
        assert written.get("rmsprop.steps") == [str(MAX_STEPS)] and "adam.lr" not in written and "seed" not in written
    finally:
        page.context.close()


# =======================================================================================
# Source: no module-level mutable state holding user data; bounded caches on plain values
# =======================================================================================
SOURCE_DIRS = ("app", "core")
MUTABLE_CALLS = {"list", "dict", "set", "defaultdict", "OrderedDict", "Counter", "deque", "bytearray",
                 "WeakValueDictionary", "WeakKeyDictionary", "SimpleNamespace"}
MUTATING_METHODS = {"append", "appendleft", "extend", "extendleft", "insert", "pop", "popitem", "popleft", "remove",
                    "clear", "update", "setdefault", "add", "discard", "sort", "reverse", "__setitem__",
                    "__delitem__", "intersection_update", "difference_update", "symmetric_difference_update"}
PLAIN_TYPES = {"str", "int", "float", "bool", "None", "tuple", "..."}
# (module, name) -> why a module-level mutable object is acceptable. Keep this list short.
ALLOWED_MUTABLE = {
    ("core/custom.py", "NAMES"): "symbols of the expression language; read-only lookup table",
    ("core/custom.py", "FUNCTIONS"): "functions of the expression language; read-only lookup table",
    ("core/engine.py", "_compiled"): "compiled code per optimizer class (no user data; one entry per class)",
    ("core/engine.py", "_compiling"): "the optimizer classes being compiled (no user data)",
}
# Module-level caches that are acceptable though not st.cache_data: (module, function) -> why.
ALLOWED_CACHES = {
    ("app/presets.py", "_library_lrs"): "no arguments: one read-only table read from a file",
}


def source_modules() -> dict[str, ast.Module]:
    modules = {}
    for folder in SOURCE_DIRS:
        for path in sorted((ROOT / folder).glob("*.py")):
            modules[str(path.relative_to(ROOT))] = ast.parse(path.read_text(), filename=str(path))
    return modules


def _is_mutable_value(node: ast.AST) -> bool:
    if isinstance(node, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        return name in MUTABLE_CALLS
    return False


def _top_level_statements(body):
    """Module-level statements, also inside module-level if/try/with blocks."""
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody"):
                yield from _top_level_statements(getattr(node, field, []))
            for handler in getattr(node, "handlers", []):
                yield from _top_level_statements(handler.body)


def _assigned_names(statement) -> list[tuple[str, ast.AST]]:
    if isinstance(statement, ast.Assign):
        pairs = []
        for target in statement.targets:
            if isinstance(target, ast.Name):
                pairs.append((target.id, statement.value))
            elif isinstance(target, (ast.Tuple, ast.List)) and isinstance(statement.value, (ast.Tuple, ast.List)):
                pairs += [(t.id, v) for t, v in zip(target.elts, statement.value.elts) if isinstance(t, ast.Name)]
        return pairs
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
        return [(statement.target.id, statement.value)]
    return []


def module_level_mutables(modules) -> dict[tuple[str, str], int]:
    """(module, name) -> line of every module-level or class-level name bound to a list, dict or set."""
    found = {}
    for module, tree in modules.items():
        for statement in _top_level_statements(tree.body):
            for name, value in _assigned_names(statement):
                if _is_mutable_value(value) and not (name.startswith("__") and name.endswith("__")):
                    found[(module, name)] = statement.lineno
            if isinstance(statement, ast.ClassDef):
                for inner in statement.body:
                    for name, value in _assigned_names(inner):
                        if _is_mutable_value(value):
                            found[(module, f"{statement.name}.{name}")] = inner.lineno
    return found


def _mutated_name(node: ast.AST) -> str | None:
    """The name a statement or call mutates in place (x.append(...), x[k] = v, del x[k], x += ...)."""
    def base(expr):
        if isinstance(expr, ast.Name):
            return expr.id
        if isinstance(expr, ast.Attribute):  # module.NAME or Class.NAME
            return expr.attr
        return None

    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATING_METHODS:
        return base(node.func.value)
    targets = []
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    elif isinstance(node, ast.Delete):
        targets = node.targets
    for target in targets:
        if isinstance(target, ast.Subscript):
            return base(target.value)
        if isinstance(node, ast.AugAssign) and isinstance(target, (ast.Name, ast.Attribute)):
            return base(target)
    return None


def test_no_module_level_mutable_state_in_app_and_core():
    modules = source_modules()
    mutables = module_level_mutables(modules)
    problems = []
    for (module, name), line in sorted(mutables.items()):
        short = name.rsplit(".", 1)[-1]
        if (module, name) in ALLOWED_MUTABLE:
            continue
        if not short.lstrip("_").isupper():
            problems.append(f"{module}:{line}: module-level mutable {name!r} (not an UPPER_CASE constant): "
                            "keep user data in st.session_state, or make it a tuple/frozenset")
    names = {name.rsplit(".", 1)[-1] for _, name in mutables}
    for module, tree in modules.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Global):
                problems.append(f"{module}:{node.lineno}: `global {', '.join(node.names)}`: module-level state")
            mutated = _mutated_name(node)
            if mutated in names and (module, mutated) not in ALLOWED_MUTABLE:
                problems.append(f"{module}:{node.lineno}: mutates the module-level {mutated!r} at run time")
    assert not problems, "\n".join(problems)


def _decorator_name(decorator: ast.AST) -> str:
    node = decorator.func if isinstance(decorator, ast.Call) else decorator
    return ast.unparse(node)


def test_caches_are_bounded_and_keyed_on_plain_values():
    problems = []
    for module, tree in source_modules().items():
        for node in ast.walk(tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for decorator in node.decorator_list:
                name = _decorator_name(decorator)
                keywords = {k.arg: k.value for k in decorator.keywords} if isinstance(decorator, ast.Call) else {}
                where = f"{module}:{node.lineno} {node.name}"
                if name.endswith("cache_resource"):
                    problems.append(f"{where}: st.cache_resource shares one mutable object between all users")
                elif name.endswith("cache_data"):
                    if "max_entries" not in keywords and "ttl" not in keywords:
                        problems.append(f"{where}: st.cache_data without max_entries or ttl grows without bound")
                    arguments = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                    for argument in arguments:
                        if argument.arg.startswith("_"):  # Streamlit leaves it out of the cache key
                            continue
                        annotation = ast.unparse(argument.annotation) if argument.annotation else ""
                        words = set(re.findall(r"[\w.]+", annotation))
                        if not annotation or not words <= PLAIN_TYPES:
                            problems.append(f"{where}: argument {argument.arg!r} ({annotation or 'no annotation'}) "
                                            "is not a plain value (str, int, float, bool, tuples of them)")
                elif name in ("functools.cache", "cache") or (
                        name in ("functools.lru_cache", "lru_cache")
                        and isinstance(keywords.get("maxsize"), ast.Constant) and keywords["maxsize"].value is None):
                    if (module, node.name) not in ALLOWED_CACHES:
                        problems.append(f"{where}: unbounded functools cache")
                elif name in ("functools.lru_cache", "lru_cache") and not isinstance(decorator, ast.Call):
                    pass  # lru_cache's default maxsize is 128: bounded
    assert not problems, "\n".join(problems)


def test_the_source_check_catches_what_it_should():
    """The checker flags the patterns it is meant to flag (so that a pass means something)."""
    sample = ast.parse(
        "users = {}\nHISTORY = []\nclass Store:\n    sessions = {}\n"
        "def f(x):\n    users[x] = 1\n    HISTORY.append(x)\n    Store.sessions.update(a=1)\n"
        "def g():\n    global users\n")
    modules = {"sample.py": sample}
    mutables = module_level_mutables(modules)
    assert set(mutables) == {("sample.py", "users"), ("sample.py", "HISTORY"), ("sample.py", "Store.sessions")}
    mutated = {_mutated_name(n) for n in ast.walk(sample)} - {None}
    assert mutated == {"users", "HISTORY", "sessions"}


# =======================================================================================
# Hostile URLs: a seeded fuzzer over every query parameter (AppTest, no browser)
# =======================================================================================
FUZZ_PAGES = ("two_gaussians", "rosenbrock", "custom")
FUZZ_COMBINATIONS = 150
FUZZ_SEED = 20240611
TEN_KB = 10 * 1024
HOSTILE_VALUES = (
    # wrong types
    "abc", "[]", "{}", "true", "None", "0x10",
    # not finite, huge, tiny, negative, zero, 10^9
    "nan", "NaN", "inf", "-inf", "Infinity", "1e309", "1e308", "-1e308", "1e-320", "-5", "0", "1000000000",
    "1e-320,1e-320", "1e308,-1e308",
    # 10 KB
    "9" * TEN_KB, "a" * TEN_KB, "0.5," * (TEN_KB // 4),
    # unicode: full-width digits, accents, mathematical x, right-to-left text and marks, zero-width joiner
    "０.５", "é", "𝑥", "مرحبا", "\u200f0.5", "0\u200d.5", "\u202e1,0",
    # empty and commas
    "", ",", "1,2", "1,,2", "0.5,1,2",
)
UNKNOWN_KEYS = ("zzz.lr", "adam.zzz", "f.zzz", "𝑥", "k" * 100, "sgd.", ".lr", "adam.lr.x")


@dataclasses.dataclass(frozen=True)
class Expect:
    """What the page must say about one (key, value): "invalid" (a warning containing one of
    `mentions`), "valid" (no warning about it) or "unknown" (only: no exception)."""

    verdict: str
    mentions: tuple[str, ...] = ()


def _plain_float(text: str) -> float:
    if not text.isascii():
        raise ValueError(text)
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def _format(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:  # a part that may be empty (Adafactor's ε₁), or a choice of none
        return "none"
    if isinstance(value, str):
        return value
    if isinstance(value, tuple):
        return ",".join(_format(v) for v in value)
    return repr(float(value))


def query_keys(function_name: str) -> list[str]:
    """Every query parameter the page understands."""
    keys = ["preset", "start", "opt", "noise", "seed"]
    for name in core.OPTIMIZERS:
        keys += [f"{name}.{p}" for p in core.get_optimizer(name).hyperparameters] + [f"{name}.steps"]
    function_class = FUNCTION_CLASSES[function_name]
    keys += [f"f.{f.name}" for f in dataclasses.fields(function_class)]
    return keys


def valid_values(function_name: str, key: str) -> list[str]:
    """A few good values for `key` (mixed in so that combinations are partly valid)."""
    function_class = FUNCTION_CLASSES[function_name]
    (x0, x1), (y0, y1) = page_domain(function_name)
    if key == "preset":
        return list(PRESET_NAMES)
    if key == "start":
        return [f"{x0 + 0.3 * (x1 - x0):g},{y0 + 0.7 * (y1 - y0):g}", f"{(x0 + x1) / 2:g},{(y0 + y1) / 2:g}"]
    if key == "opt":
        return ["sgd,adam", "none", "lion", ",".join(core.OPTIMIZERS)]
    if key == "noise":
        return ["0.5", "0"]
    if key == "seed":
        return ["7", "4294967295"]
    if key == "f.domain":
        return [f"{x0 - 1:g},{x1 + 1:g},{y0 - 1:g},{y1 + 1:g}"]
    if key == "f.expression":
        return ["x^2 + 3*y^2", "sin(x)*cos(y) + 0.1*(x^2 + y^2)"]
    if key.startswith("f."):
        default = next(f.default for f in dataclasses.fields(function_class) if f.name == key[2:])
        return [_format(default * 1.5)]
    name, _, parameter = key.partition(".")
    if parameter == "steps":
        return ["50", str(MAX_STEPS)]
    default = core.get_optimizer(name).hyperparameters[parameter]
    return [_format(default)] + (["0.05"] if parameter == "lr" else [])


def expect(function_name: str, key: str, value: str, query: dict[str, str]) -> Expect:
    """The verdict on one parameter, from the URL format's rules and core's own validation."""
    quoted = f"“{key[:40]}”"
    function_class = FUNCTION_CLASSES[function_name]
    text = value.strip()
    if len(key) > 64 or len(value) > (500 if key == "f.expression" else 64):
        return Expect("invalid", (quoted,))
    if key in UNKNOWN_KEYS:
        return Expect("invalid", (quoted,))
    if key == "preset":
        return Expect("valid" if text in PRESET_NAMES else "invalid", (quoted,))
    if key == "start":
        try:
            x, y = (_plain_float(p) for p in text.split(","))
        except ValueError:
            return Expect("invalid", (quoted,))
        if any(k.startswith("f.") for k in query):
            return Expect("unknown")  # the domain may change
        preset = query.get("preset") if query.get("preset") in PRESET_NAMES else None
        (x0, x1), (y0, y1) = page_domain(function_name, preset)
        inside = x0 <= x <= x1 and y0 <= y <= y1
        return Expect("valid") if inside else Expect("invalid", ("must lie in the domain",))
    if key == "opt":
        names = [n for n in text.split(",") if n]
        unknown = [n for n in names if n not in core.OPTIMIZERS and n != "none"]
        return Expect("invalid" if unknown else "valid", (quoted,))
    if key == "noise":
        try:
            return Expect("valid" if 0 <= _plain_float(text) <= 1e3 else "invalid", (quoted,))
        except ValueError:
            return Expect("invalid", (quoted,))
    if key == "seed":
        ok = text.isascii() and text.isdigit() and int(text) < 2**32
        return Expect("valid" if ok else "invalid", (quoted,))
    if key.startswith("f."):
        others = [k for k in query if k.startswith("f.") and k != key]
        preset = query.get("preset") if query.get("preset") in PRESET_NAMES else default_preset_name(function_name)
        params = dict(get_preset(preset, function_name).function_params)
        try:
            if key == "f.domain":
                parts = [_plain_float(p) for p in text.split(",")]
                if len(parts) != 4:
                    raise ValueError(text)
                params["domain"] = ((parts[0], parts[1]), (parts[2], parts[3]))
            elif key == "f.expression":
                params["expression"] = text
            else:
                params[key[2:]] = _plain_float(text)
            function_class(**params)
        except (TypeError, ValueError):
            return Expect("invalid", (quoted, "“f.*”"))
        return Expect("unknown" if others else "valid")
    name, _, parameter = key.partition(".")
    if parameter == "steps":
        try:
            steps = int(_plain_float(text))
        except (ValueError, OverflowError):
            return Expect("invalid", (quoted,))
        return Expect("valid") if 1 <= steps <= MAX_STEPS else Expect("invalid", ("capped",))
    default = core.get_optimizer(name).hyperparameters[parameter]
    preset = query.get("preset") if query.get("preset") in PRESET_NAMES else default_preset_name(function_name)
    base = dict(get_preset(preset, function_name).hyperparameters.get(name, {}))
    choices = core.OPTIMIZER_CLASSES[name].CHOICES.get(parameter)
    try:
        if choices:  # written as themselves, None as "none"
            options = {"none" if c is None else str(c): c for c in choices}
            if text not in options:
                raise ValueError(text)
            parsed = options[text]
        elif isinstance(default, bool):
            if text.lower() not in ("true", "1", "yes", "false", "0", "no"):
                raise ValueError(text)
            parsed = text.lower() in ("true", "1", "yes")
        elif isinstance(default, tuple):
            parts = text.split(",")
            if len(parts) != len(default):
                raise ValueError(text)
            # a part whose default is None (Adafactor's ε₁) may be "none" or empty
            parsed = tuple(None if d is None and p.strip().lower() in ("none", "") else _plain_float(p)
                           for p, d in zip(parts, default))
        else:
            parsed = _plain_float(text)
        core.get_optimizer(name, **{**base, parameter: parsed})
    except (TypeError, ValueError):
        return Expect("invalid", (quoted,))
    same_optimizer = [k for k in query if k != key and k.partition(".")[0] == name and not k.endswith(".steps")]
    return Expect("unknown" if same_optimizer else "valid")


def fuzz_cases() -> list[tuple[str, dict[str, str]]]:
    """Seeded combinations: on each page every key appears at least once, 1 to 4 keys at a time,
    three values in four hostile; half of them with a valid start and their optimizers on, so
    that the values reach the engine and the figures."""
    rng = random.Random(FUZZ_SEED)
    cases = []
    per_page = FUZZ_COMBINATIONS // len(FUZZ_PAGES)
    for function_name in FUZZ_PAGES:
        every_key = query_keys(function_name) + list(UNKNOWN_KEYS)
        pool = list(every_key)
        rng.shuffle(pool)
        page_cases = []
        while pool or len(page_cases) < per_page:
            size = rng.randint(1, 4)
            chosen = [pool.pop() for _ in range(min(size, len(pool)))] or rng.sample(every_key, size)
            query = {}
            for key in chosen:
                good = valid_values(function_name, key) if key not in UNKNOWN_KEYS else ["1"]
                query[key] = rng.choice(good) if rng.random() < 0.25 else rng.choice(HOSTILE_VALUES)
            optimizers = sorted({k.partition(".")[0] for k in query if k.partition(".")[0] in core.OPTIMIZERS})
            if "start" not in query and rng.random() < 0.5:  # so that the values reach the engine
                query["start"] = valid_values(function_name, "start")[0]
                if optimizers and "opt" not in query:
                    query["opt"] = ",".join(optimizers)
            page_cases.append((function_name, query))
        cases += page_cases
    return cases


@pytest.fixture(scope="module")
def quick_apptest():
    """AppTest rescans every installed package for v2 components on each run (~0.5 s here):
    scan once for this module so that 150 runs fit the time budget."""
    try:
        from streamlit.components.v2 import manifest_scanner
        original = manifest_scanner.scan_component_manifests
    except (ImportError, AttributeError):  # another Streamlit version: no shortcut
        yield
        return
    memo = []

    def scan_once(*args, **kwargs):
        if not memo:
            memo.append(original(*args, **kwargs))
        return list(memo[0])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(manifest_scanner, "scan_component_manifests", scan_once)
        yield


def run_page(function_name: str, query: dict[str, str]) -> tuple[AppTest, float]:
    at = AppTest.from_file(str(page_files()[function_name]), default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    started = time.perf_counter()
    at.run()
    return at, time.perf_counter() - started


def _short(query: dict[str, str]) -> dict[str, str]:
    return {k[:40]: (v if len(v) <= 40 else f"{v[:20]}…({len(v)} chars)") for k, v in query.items()}


def test_fuzzed_urls_give_warnings_and_defaults_never_a_traceback(quick_apptest):
    cases = fuzz_cases()
    covered = {name: {k for n, q in cases if n == name for k in q} for name in FUZZ_PAGES}
    for name in FUZZ_PAGES:
        assert set(query_keys(name)) <= covered[name], "every parameter of every page is fuzzed"
    failures = []
    slowest = 0.0
    for function_name, query in cases:
        try:
            at, seconds = run_page(function_name, query)
        except RuntimeError as error:  # AppTest's timeout
            failures.append(f"{function_name} {_short(query)}: {error}")
            continue
        slowest = max(slowest, seconds)
        if at.exception:
            failures.append(f"{function_name} {_short(query)}: exception {at.exception[0].value[:300]}")
            continue
        warnings = [w.value for w in at.warning]
        verdicts = {key: expect(function_name, key, value, query) for key, value in query.items()}
        for key, verdict in verdicts.items():
            about_key = [w for w in warnings if f"“{key[:40]}”" in w]
            if verdict.verdict == "invalid" and not any(m in w for w in warnings for m in verdict.mentions):
                failures.append(f"{function_name} {_short(query)}: no warning about {key[:40]!r} "
                                f"(expected one of {verdict.mentions}); warnings: {warnings}")
            elif verdict.verdict == "valid" and about_key:
                failures.append(f"{function_name} {_short(query)}: a valid {key[:40]}={_short(query)[key[:40]]!r} "
                                f"was refused: {about_key}")
        if all(v.verdict == "valid" for v in verdicts.values()) and warnings:
            failures.append(f"{function_name} {_short(query)}: valid URL, but warnings {warnings}")
        written = dict(at.query_params)
        for key, verdict in verdicts.items():  # the page goes on with the defaults, not the bad value
            if verdict.verdict == "invalid" and "capped" not in verdict.mentions and key in written:
                if written[key] == query[key]:
                    failures.append(f"{function_name} {_short(query)}: the invalid {key[:40]} stayed in the URL")
            if "capped" in verdict.mentions and written.get(key) not in (str(MAX_STEPS), "1", None):
                failures.append(f"{function_name} {_short(query)}: {key} not capped in the URL: {written.get(key)}")
    assert slowest < TIMEOUT
    assert not failures, f"{len(failures)} of {len(cases)} fuzzed URLs failed:\n" + "\n".join(failures)


def test_a_url_the_app_writes_itself_with_every_optimizer_on_is_accepted(quick_apptest):
    """The share link of a page with all optimizers enabled must come back without warnings."""
    at, _ = run_page("two_gaussians", {"opt": ",".join(core.OPTIMIZERS), "start": "0.5,1"})
    assert not at.exception
    assert not at.warning, [w.value for w in at.warning]
    assert len(at.dataframe[0].value) == len(core.OPTIMIZERS)


# =======================================================================================
# Long work: bounded, with a confirmation for the big ones
# =======================================================================================
@pytest.mark.parametrize("function_name, start", [("two_gaussians", "0.5,1"), ("rosenbrock", "-1,2")])
def test_the_largest_step_count_for_every_article_optimizer_renders(quick_apptest, function_name, start):
    query = {"start": start, **{f"{name}.steps": str(MAX_STEPS) for name in ARTICLE_OPTIMIZERS}}
    at, seconds = run_page(function_name, query)
    assert not at.exception, at.exception[0].value[:500]
    assert not at.warning, [w.value for w in at.warning]
    assert seconds < TIMEOUT
    assert set(at.dataframe[0].value["steps"]) == {MAX_STEPS}


def test_a_huge_basin_grid_asks_before_computing(quick_apptest):
    at, _ = run_page("two_gaussians", {"start": "0.5,1"})
    at.select_slider(key="two_gaussians.basin_resolution").set_value(401)
    at.toggle(key="two_gaussians.basins_go.on").set_value(True)
    started = time.perf_counter()
    at.run()
    assert not at.exception
    assert time.perf_counter() - started < 10, "the big grid must not start without a confirmation"
    buttons = [b for b in at.button if b.key == "two_gaussians.basins_go.button"]
    assert buttons and "Compute (about" in buttons[0].label
    assert any("takes about" in i.value for i in at.info)
