"""A user-typed test function f(x, y), parsed safely and differentiated symbolically.

    >>> f = CustomFunction(expression="(1 - x)^2 + 100*(y - x^2)^2", domain=((-2, 2), (-1, 3)))
    >>> float(f(np.array([1.0, 1.0])))
    0.0

Safety design
-------------
The user's text is never executed: it is not given to eval/exec/compile-to-run, nor to
sympy's `sympify`/`parse_expr` (both evaluate Python). Instead:

1. Cheap checks on the raw text first: its type, its length (at most MAX_LENGTH characters),
   emptiness and the nesting depth of its brackets. Nothing else runs before these pass.
2. `^` is replaced by `**` and the text is handed to `ast.parse(..., mode="eval")`, which only
   *parses* (builds a syntax tree, runs nothing). Parser failures, including RecursionError or
   MemoryError on pathological input, become ExpressionError.
3. The tree's size and depth are bounded (MAX_NODES, MAX_DEPTH) before it is walked.
4. A small visitor (`_Builder`) walks the tree with a whitelist and builds the sympy expression
   itself: number literals (int/float, finite, |c| <= MAX_LITERAL), the names x, y, pi, e, the
   operators + - * / ** (and unary + -) and calls of the functions in FUNCTIONS with positional
   arguments. Any other node (attribute access, subscripts, lambdas, comprehensions, strings,
   comparisons, boolean operators, keyword arguments, unknown names, //, %, @, ...) raises
   ExpressionError quoting the offending part as typed and its column.
5. Sympy evaluates numbers eagerly, so sizes are bounded as the expression is built bottom-up:
   a constant exponent must satisfy |p| <= MAX_EXPONENT (so `9**9**9` or `x**1e6` never reach
   sympy's power), and every constant subexpression must be a finite real number with
   |c| <= MAX_CONSTANT (so `1/0`, `log(-1)`, `sqrt(-1)` or `exp(exp(exp(5)))` are refused, and no
   gigantic integer is ever computed).

Messages quote the typed text as Markdown inline code (`__import__`), so that a page shows it
exactly as typed; as plain text they read the same.

Only then are the partial derivatives taken with `sympy.diff` and compiled with
`sympy.lambdify(..., modules="numpy")`; lambdify compiles code printed by sympy from the validated
expression tree, never the user's text.

Second derivatives (`hessian`) are taken in the same worker, right after the gradient, and
within the same time limit: the gradient is sent back first, so an expression is accepted
exactly when it was before, and the Hessian is kept if it arrives before BUILD_SECONDS have
passed since the worker started (else, or if it cannot be compiled, `hessian` takes central
differences of the exact gradient; `exact_hessian` says which). Kinks have no second
derivative: sign and the Heaviside steps in the gradient of abs, min and max are differentiated
as constants, so piecewise-linear parts (abs(x), max(x, y)) contribute 0 almost everywhere, and
at a kink itself the Hessian is that of the average of the two sides' pieces (H(0) = ½).
"""

from __future__ import annotations

import ast
import functools
import inspect
import math
import multiprocessing
import re
import time
from dataclasses import dataclass
from typing import Callable, ClassVar, NamedTuple

import numpy as np
import sympy

from .functions import Domain, Minimum, TestFunction, _checked_domain, central_difference_hessian

__all__ = ["CustomFunction", "ExpressionError", "FUNCTIONS", "NAMES", "Undefined", "needs_log_scale",
           "parse_expression"]

MAX_LENGTH = 500  # characters of the typed text
BUILD_SECONDS = 0.75  # at most this long to parse and differentiate a typed expression (in a worker
# process); compiling what it returns takes this process up to about as long again
MAX_NODES = 300  # expression nodes in the syntax tree
MAX_DEPTH = 100  # nesting depth of the syntax tree (and of brackets in the text)
MAX_LITERAL = 1e15  # magnitude of a number literal
MAX_CONSTANT = 1e100  # magnitude of any constant subexpression, e.g. 10**100
MAX_EXPONENT = 100  # magnitude of a constant exponent
# Log colours when f's range (99.5th percentile − min) exceeds this many times its median − min: the
# built-in functions drawn in log colours have ratios of 13 and more, the linear ones 9.3 at most.
LOG_SCALE_RATIO = 12

X, Y = sympy.symbols("x y", real=True)
NAMES: dict[str, sympy.Expr] = {"x": X, "y": Y, "pi": sympy.pi, "e": sympy.E}


class _PairExtreme(sympy.Function):
    """max(a, b) or min(a, b), kept as it is. sympy's Max and Min rewrite their derivatives as
    Piecewise expressions that double with every level of nesting (eight nested min/max took
    57 s to build); this derivative is H(±(a − b))·a' + H(∓(a − b))·b' (H(0) = ½), so its size
    grows with the square of the nesting, not exponentially."""

    nargs = 2
    sympy_extreme: ClassVar[type]
    numpy_name: ClassVar[str]
    sign: ClassVar[int]  # +1: max, −1: min

    @classmethod
    def eval(cls, a, b):
        if a.is_number and b.is_number:  # constants: sympy's own, so that they can be checked
            return cls.sympy_extreme(a, b)
        return None

    def fdiff(self, argindex=1):
        a, b = self.args
        difference = self.sign * (a - b) if argindex == 1 else self.sign * (b - a)
        return sympy.Heaviside(difference, sympy.S.Half)

    def _latex(self, printer):
        a, b = (printer._print(arg) for arg in self.args)
        return rf"\{self.numpy_name[:3]}\left({a}, {b}\right)"  # \max, \min


class PairMax(_PairExtreme):
    sympy_extreme, numpy_name, sign = sympy.Max, "maximum", 1


class PairMin(_PairExtreme):
    sympy_extreme, numpy_name, sign = sympy.Min, "minimum", -1


# name -> (sympy function, number of positional arguments)
FUNCTIONS: dict[str, tuple[Callable[..., sympy.Expr], int]] = {
    "sin": (sympy.sin, 1), "cos": (sympy.cos, 1), "tan": (sympy.tan, 1),
    "exp": (sympy.exp, 1), "log": (sympy.log, 1), "sqrt": (sympy.sqrt, 1), "abs": (sympy.Abs, 1),
    "sinh": (sympy.sinh, 1), "cosh": (sympy.cosh, 1), "tanh": (sympy.tanh, 1),
    "arcsin": (sympy.asin, 1), "asin": (sympy.asin, 1),
    "arccos": (sympy.acos, 1), "acos": (sympy.acos, 1),
    "arctan": (sympy.atan, 1), "atan": (sympy.atan, 1),
    "arctan2": (sympy.atan2, 2), "atan2": (sympy.atan2, 2),
    "min": (PairMin, 2), "max": (PairMax, 2), "sign": (sympy.sign, 1),
}

# Sympy function classes allowed in the value and the derivatives (lambdify prints them to numpy).
_COMPILABLE = (
    sympy.sin, sympy.cos, sympy.tan, sympy.exp, sympy.log, sympy.Abs, sympy.sinh, sympy.cosh,
    sympy.tanh, sympy.asin, sympy.acos, sympy.atan, sympy.atan2, sympy.Min, sympy.Max, PairMax, PairMin,
    sympy.sign, sympy.Heaviside,
)

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_REFUSED_OPERATORS = {ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.LShift: "<<",
                      ast.RShift: ">>", ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "xor"}
_NODE_NAMES = {
    ast.Subscript: "indexing", ast.Lambda: "a lambda",
    ast.ListComp: "a list comprehension", ast.SetComp: "a set comprehension",
    ast.DictComp: "a dict comprehension", ast.GeneratorExp: "a generator expression",
    ast.Compare: "a comparison", ast.BoolOp: "a boolean operator ('and'/'or')",
    ast.IfExp: "a conditional expression", ast.JoinedStr: "an f-string", ast.Starred: "a starred argument",
    ast.NamedExpr: "an assignment (:=)", ast.List: "a list", ast.Tuple: "a tuple", ast.Set: "a set",
    ast.Dict: "a dict", ast.Slice: "a slice", ast.Await: "await", ast.Yield: "yield",
    ast.YieldFrom: "yield",
}

DEFAULT_EXPRESSION = "(x^2 - 1)^2 + (y - x/2)^2 + 0.3*x"


class ExpressionError(ValueError):
    """A typed expression that is refused, with a message pointing at the offending part."""


# ---------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------
def parse_expression(text: str) -> sympy.Expr:
    """The sympy expression of a user-typed f(x, y), built from a whitelisted syntax tree.

    Raises ExpressionError (a ValueError) for anything outside the whitelist or the limits.
    """
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"the expression is {len(text)} characters long; the limit is {MAX_LENGTH}")
    if not text.strip():
        raise ExpressionError("the expression is empty; type a function of x and y, e.g. `x^2 + 3*y^2`")
    # One line, so that columns are meaningful (a newline cannot be part of a valid formula anyway).
    text = "".join(" " if c in "\t\n\r\f\v" else c for c in text)
    if "\0" in text:
        raise ExpressionError(f"the expression contains a null character (U+0000) at column {text.index(chr(0)) + 1}")
    source = _Source(text)
    _check_brackets(source)
    try:
        tree = ast.parse(source.python, mode="eval")
    except SyntaxError as exc:
        raise _syntax_error(source, exc) from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as exc:
        raise ExpressionError(f"cannot read the expression ({type(exc).__name__}: {exc})") from None
    _check_size(tree.body, source)
    try:
        expr = _Builder(source).visit(tree.body)
    except (RecursionError, MemoryError) as exc:
        raise ExpressionError(f"the expression is too complex ({type(exc).__name__})") from None
    if not expr.free_symbols & {X, Y}:
        raise ExpressionError(f"the expression does not depend on x or y: {_code(_shorten(text.strip()))} "
                              f"is the constant {_code(_shorten(str(expr)))}")
    if expr.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan, sympy.I):
        raise ExpressionError(f"the expression is not a finite real function: {_code(_shorten(text.strip()))} "
                              f"gives {_code(_shorten(str(expr)))}")
    return expr


class _Source:
    """The typed text, the Python text parsed (`^` replaced by `**`) and the map between them."""

    def __init__(self, text: str):
        self.text = text
        chars, self._origin = [], []  # origin[i]: index in text of the i-th character of python
        for i, c in enumerate(text):
            replacement = "**" if c == "^" else c
            chars.append(replacement)
            self._origin.extend([i] * len(replacement))
        self._origin.append(len(text))
        self.python = "".join(chars)
        self._encoded = self.python.encode("utf-8")

    def column_of_char(self, python_index: int) -> int:
        """1-based column in the typed text of a character index into the Python text."""
        python_index = min(max(python_index, 0), len(self._origin) - 1)
        return self._origin[python_index] + 1

    def _char_index(self, byte_offset: int) -> int:
        return len(self._encoded[:byte_offset].decode("utf-8", errors="replace"))

    def span(self, node: ast.AST) -> tuple[str, int]:
        """The typed text of a node and its 1-based column (ast offsets are UTF-8 byte offsets)."""
        start = self._char_index(node.col_offset)
        end = self._char_index(node.end_col_offset) if node.end_col_offset is not None else start + 1
        first = self._origin[start]
        last = self._origin[max(end - 1, start)] + 1
        return self.text[first:last], first + 1

    def where(self, node: ast.AST) -> str:
        segment, column = self.span(node)
        return f"{_code(_shorten(segment))} at column {column}"


def _shorten(segment: str, limit: int = 60) -> str:
    return segment if len(segment) <= limit else segment[: limit - 3] + "..."


def _snippet(text: str, index: int) -> str:
    return _shorten(text[max(index, 0):], 20)


def _code(text: str) -> str:
    """`text` as Markdown inline code: a page shows it as typed (`__import__` is not made bold,
    `a*b*c` not italic). The fence is longer than any run of backticks inside."""
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


# Python's parser messages that are unclear to someone typing a formula.
_PARSER_MESSAGES = {"invalid decimal literal": "a number runs into letters (write `2*x`, not `2x`)"}


def _syntax_error(source: _Source, error: SyntaxError) -> ExpressionError:
    """The parser's complaint in terms of the typed text: what is wrong, the column and the text there."""
    text = source.text
    if not error.offset:  # the parser ran out of text, e.g. "x^2 + y^2 +"
        last = re.search(r"(\*\*|\S)\s*$", text)
        return ExpressionError(f"incomplete expression: it ends after {_code(last[1])} at column {last.start(1) + 1}")
    column = source.column_of_char(error.offset - 1)
    if error.msg.startswith("invalid syntax"):  # the token not expected, e.g. "*" in "x +* y"
        end = source.column_of_char(error.end_offset - 2) if (error.end_offset or 0) > error.offset else column
        return ExpressionError(f"unexpected {_code(_shorten(text[column - 1:end], 20))} at column {column}")
    reason = error.msg.split(" (detected at")[0]
    reason = _PARSER_MESSAGES.get(reason, reason)
    return ExpressionError(f"{reason}: {_code(_snippet(text, column - 1))} at column {column}")


def _check_brackets(source: _Source) -> None:
    depth = 0
    for i, c in enumerate(source.text):
        if c in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ExpressionError(f"brackets are nested more than {MAX_DEPTH} deep at column {i + 1}")
        elif c in ")]}":
            depth -= 1


def _check_size(root: ast.AST, source: _Source) -> None:
    """Bound the number of expression nodes and the depth of the tree (iteratively, no recursion)."""
    count, stack = 0, [(root, 1, root)]
    while stack:
        node, depth, located = stack.pop()  # located: the node itself or its nearest ancestor with a position
        if hasattr(node, "col_offset"):
            located = node
        if depth > MAX_DEPTH:
            raise ExpressionError(f"the expression is nested more than {MAX_DEPTH} levels deep "
                                  f"(or chains more than {MAX_DEPTH} operations) near {source.where(located)}")
        if isinstance(node, (ast.expr, ast.keyword)):
            count += 1
            if count > MAX_NODES:
                raise ExpressionError(f"the expression has more than {MAX_NODES} parts; please simplify it")
        stack.extend((child, depth + 1, located) for child in ast.iter_child_nodes(node))


class _Builder:
    """Builds a sympy expression from a whitelisted Python syntax tree, bounding every number."""

    def __init__(self, source: _Source):
        self.source = source

    def refuse(self, node: ast.AST, message: str):
        raise ExpressionError(f"{message}: {self.source.where(node)}")

    def visit(self, node: ast.AST) -> sympy.Expr:
        handler = getattr(self, f"visit_{type(node).__name__}", None)
        if handler is None:
            what = _NODE_NAMES.get(type(node), f"'{type(node).__name__}'")
            self.refuse(node, f"{what} is not allowed")
        return self.checked(handler(node), node)

    # -- leaves -------------------------------------------------------------------------
    def visit_Constant(self, node: ast.Constant) -> sympy.Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = {str: "text in quotes", bytes: "bytes", complex: "a complex number"}.get(type(value), str(value))
            self.refuse(node, f"{kind} is not allowed, only real numbers")
        if not math.isfinite(value):
            self.refuse(node, "the number is not finite")
        if abs(value) > MAX_LITERAL:
            self.refuse(node, f"the number is too large (at most {MAX_LITERAL:g} in absolute value)")
        return sympy.Integer(value) if isinstance(value, int) else sympy.Float(value)

    def visit_Name(self, node: ast.Name) -> sympy.Expr:
        if node.id in NAMES:
            return NAMES[node.id]
        if node.id in FUNCTIONS:
            self.refuse(node, f"a function needs its argument in brackets, e.g. {_code(node.id + '(x)')}")
        self.not_allowed(node, f"the only names are {', '.join(NAMES)}")

    def not_allowed(self, node: ast.AST, allowed: str):
        """Refuse a name or a called name, quoted as typed (`__import__` is not allowed: ...)."""
        raise ExpressionError(f"{self.source.where(node)} is not allowed: {allowed}")

    # -- operators ----------------------------------------------------------------------
    def visit_UnaryOp(self, node: ast.UnaryOp) -> sympy.Expr:
        if isinstance(node.op, ast.USub):
            return -self.visit(node.operand)
        if isinstance(node.op, ast.UAdd):
            return self.visit(node.operand)
        symbol = {ast.Not: "not", ast.Invert: "~"}.get(type(node.op), type(node.op).__name__)
        self.refuse(node, f"the operator {_code(symbol)} is not allowed")

    def visit_BinOp(self, node: ast.BinOp) -> sympy.Expr:
        if type(node.op) not in _BINARY:
            symbol = _REFUSED_OPERATORS.get(type(node.op), type(node.op).__name__)
            self.refuse(node, f"the operator {_code(symbol)} is not allowed (only `+ - * / ^ **`)")
        left, right = self.visit(node.left), self.visit(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        if isinstance(node.op, ast.Div):
            if right.is_zero:
                self.refuse(node, "division by zero")
            return left / right
        if not right.free_symbols:  # constant exponent: bound it before sympy computes anything
            exponent = float(right)
            if abs(exponent) > MAX_EXPONENT:
                self.refuse(node, f"the exponent {exponent:.6g} is too large (at most {MAX_EXPONENT} in absolute value)")
        return left ** right

    def visit_Attribute(self, node: ast.Attribute):
        self.visit(node.value)  # the first problem from the left: `__import__` in __import__('os').system
        self.refuse(node, "attribute access (a dot after a value) is not allowed")

    def visit_Call(self, node: ast.Call) -> sympy.Expr:
        if not isinstance(node.func, ast.Name) or node.func.id in NAMES:  # e.g. (x+1)(y), 2(x), x(y)
            self.visit(node.func)
            self.refuse(node, "only functions can be called (write `*` to multiply)")
        name = node.func.id
        if name not in FUNCTIONS:
            self.not_allowed(node.func, f"the only functions are {', '.join(FUNCTIONS)}")
        if node.keywords:
            self.refuse(node, f"keyword arguments are not allowed ({name} takes positional arguments)")
        function, arity = FUNCTIONS[name]
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            self.refuse(node, "starred arguments are not allowed")
        if len(node.args) != arity:
            plural = "s" if arity > 1 else ""
            self.refuse(node, f"{name} takes {arity} argument{plural}, got {len(node.args)}")
        return function(*(self.visit(arg) for arg in node.args))

    # -- bounds -------------------------------------------------------------------------
    def checked(self, value: sympy.Expr, node: ast.AST) -> sympy.Expr:
        """Refuse a constant subexpression that is not a finite real of bounded magnitude."""
        if value.free_symbols:
            return value
        if value.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
            self.refuse(node, "the expression is undefined or infinite")
        real, imaginary = value.evalf(20).as_real_imag()
        try:
            real, imaginary = float(real), float(imaginary)
        except TypeError:
            self.refuse(node, "the expression is not a number")
        if imaginary != 0 and abs(imaginary) > 1e-12 * max(1.0, abs(real)):
            self.refuse(node, "the expression is not a real number")
        if not math.isfinite(real) or abs(real) > MAX_CONSTANT:
            self.refuse(node, f"the number is too large (at most {MAX_CONSTANT:g} in absolute value)")
        return value


# ---------------------------------------------------------------------------------------
# Compilation to numpy
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Compiled:
    expr: sympy.Expr
    latex: str
    value: Callable[[np.ndarray, np.ndarray], np.ndarray]
    dx: Callable[[np.ndarray, np.ndarray], np.ndarray]
    dy: Callable[[np.ndarray, np.ndarray], np.ndarray]
    second: _SecondDerivatives | None = None  # f_xx, f_xy, f_yy, if derived in time

    @functools.cached_property
    def second_partials(self) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, ...]] | None:
        """(x, y) -> (f_xx, f_xy, f_yy), compiled on first use (most typed functions never need it)."""
        return None if self.second is None else _vectorized_program(self.second)


_NUMPY_NAMES = {"PairMax": np.maximum, "PairMin": np.minimum}  # how lambdify prints our min/max to numpy


def _source(expr: sympy.Expr) -> str:
    """The numpy code lambdify writes for `expr`, a function `_lambdifygenerated(x, y)`. Printing
    is the slow part of lambdify (0.3 s for a gradient of 40 nested min/max); it runs in the
    worker, within the build's time limit."""
    return inspect.getsource(sympy.lambdify((X, Y), expr, modules=[_NUMPY_NAMES, "numpy"]))


def _vectorized(source: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The function `_source` wrote, as a numpy function of (x, y) arrays: broadcast shape,
    float, silent on NaN/inf/overflow. (Executing code printed by sympy from the validated
    expression, in our own worker, is what lambdify itself does; it takes milliseconds.)"""
    namespace = {**vars(np), **_NUMPY_NAMES}
    exec(source, namespace)  # noqa: S102 - sympy's own printing of a validated expression
    compiled = namespace["_lambdifygenerated"]

    def evaluate(x, y):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        with np.errstate(all="ignore"):
            result = np.asarray(compiled(x, y), dtype=float)
        shape = np.broadcast_shapes(x.shape, y.shape)
        if result.shape != shape:  # a constant, e.g. d/dy of x**2
            result = np.array(np.broadcast_to(result, shape))
        return result[()] if result.ndim == 0 else result

    return evaluate


def _vectorized_program(program: _SecondDerivatives) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, ...]]:
    """`_vectorized` for the outputs of a straight-line program (lambdify prints its steps as
    assignments, as it does common subexpressions)."""
    steps, outputs = list(program.steps), list(program.outputs)
    compiled = sympy.lambdify((X, Y), outputs, modules=[{"PairMax": np.maximum, "PairMin": np.minimum}, "numpy"],
                              cse=lambda _: (steps, outputs))

    def evaluate(x, y):
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        shape = np.broadcast_shapes(x.shape, y.shape)
        with np.errstate(all="ignore"):
            results = [np.asarray(result, dtype=float) for result in compiled(x, y)]
        results = [r if r.shape == shape else np.array(np.broadcast_to(r, shape)) for r in results]
        return tuple(r[()] if r.ndim == 0 else r for r in results)

    return evaluate


def _compilable(expr: sympy.Expr, what: str) -> sympy.Expr:
    # sign' and Heaviside' are Dirac deltas: zero wherever the function is differentiable.
    expr = expr.replace(sympy.DiracDelta, lambda *args: sympy.S.Zero)
    # Integers beyond float precision would make numpy work on Python objects: print them as floats.
    big = {n: sympy.Float(n, 17) for n in expr.atoms(sympy.Rational) if max(abs(n.p), n.q) > 2**53}
    expr = expr.xreplace(big)
    unknown = {type(f).__name__ for f in expr.atoms(sympy.Function) if not isinstance(f, _COMPILABLE)}
    if unknown or expr.has(sympy.Derivative, sympy.I, sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise ExpressionError(f"cannot compute {what} of the expression: {_code(_shorten(str(expr)))}")
    return expr


def _derive(expression: str) -> tuple[sympy.Expr, sympy.Expr, sympy.Expr]:
    """f and its partial derivatives, checked compilable (raises ExpressionError)."""
    expr = parse_expression(expression)
    try:
        return (_compilable(expr, "the value"), _compilable(sympy.diff(expr, X), "df/dx"),
                _compilable(sympy.diff(expr, Y), "df/dy"))
    except (RecursionError, MemoryError) as exc:
        raise ExpressionError(f"the expression is too complex to differentiate ({type(exc).__name__})") from None


class _SecondDerivatives(NamedTuple):
    """f_xx, f_xy, f_yy as a straight-line program: `steps` assigns symbols in order (each
    expression uses x, y and the symbols assigned before it), `outputs` uses them all."""

    steps: tuple[tuple[sympy.Symbol, sympy.Expr], ...]
    outputs: tuple[sympy.Expr, sympy.Expr, sympy.Expr]


def _second_derivatives(dx: sympy.Expr, dy: sympy.Expr) -> _SecondDerivatives:
    """The gradient differentiated once more (raises ExpressionError if it cannot be compiled).

    By forward-mode differentiation of a program: the gradient's common subexpressions
    (sympy.cse) are steps, each differentiated once, and products of k factors are cut into k − 1
    steps of two (the product rule on k factors writes k² of them). So the program grows linearly
    with the gradient: differentiating the gradient's tree instead took 0.45 s and wrote 18,000
    nodes per entry for sin nested 30 deep, and evaluating it was 100x slower.

    The steps sign(u) and Heaviside(u, ½) (from abs, min and max) are constants where they are
    differentiable, and differentiated as such: each is one step, never expanded.
    """
    names = sympy.numbered_symbols("_h", real=True)  # real: d|s|/ds is sign(s), as for x and y
    steps: list[tuple[sympy.Symbol, sympy.Expr]] = []
    partials: dict[sympy.Symbol, tuple[sympy.Expr, sympy.Expr]] = {}  # symbol -> (d/dx, d/dy)
    constants: dict[sympy.Expr, sympy.Symbol] = {}  # sign(u) or Heaviside(u, ½) -> its step

    def named(expr: sympy.Expr) -> sympy.Expr:
        if expr.is_number or expr.is_Symbol:
            return expr
        symbol = next(names)
        steps.append((symbol, expr))
        return symbol

    def constant(step: sympy.Expr) -> sympy.Symbol:
        if step not in constants:
            constants[step] = named(step)
        return constants[step]

    def derivative(expr: sympy.Expr, along: int) -> sympy.Expr:
        total = sympy.diff(expr, (X, Y)[along])
        for symbol in expr.free_symbols & partials.keys():
            inner = partials[symbol][along]
            if inner != 0:
                total += sympy.diff(expr, symbol) * inner
        return total

    def define(symbol: sympy.Symbol, expr: sympy.Expr) -> sympy.Symbol:
        steps.append((symbol, expr))
        partials[symbol] = (named(derivative(expr, 0)), named(derivative(expr, 1)))
        return symbol

    def pairwise(product: sympy.Expr) -> sympy.Expr:  # a·b·c·d as ((a·b)·c)·d
        coefficient, factors = product.as_coeff_mul()
        running = factors[0]
        for factor in factors[1:-1]:
            running = define(next(names), running * factor)
        return coefficient * running * factors[-1]

    def binary(expr: sympy.Expr) -> sympy.Expr:
        expr = expr.replace(lambda e: isinstance(e, (sympy.sign, sympy.Heaviside)), constant)
        return expr.replace(lambda e: e.is_Mul and len(e.as_coeff_mul()[1]) > 2, pairwise)

    try:
        shared, (gx, gy) = sympy.cse([dx, dy], symbols=names)
        for symbol, expr in shared:
            define(symbol, binary(expr))
        gx, gy = binary(gx), binary(gy)
        outputs = (derivative(gx, 0), derivative(gx, 1), derivative(gy, 1))
        return _SecondDerivatives(
            tuple((symbol, _compilable(expr, "the second derivatives")) for symbol, expr in steps),
            tuple(_compilable(expr, what) for expr, what in zip(outputs, ("d²f/dx²", "d²f/dxdy", "d²f/dy²"))))
    except (RecursionError, MemoryError) as exc:
        raise ExpressionError(f"the expression is too complex to differentiate twice ({type(exc).__name__})") from None


def _derive_and_send(expression: str, connection) -> None:
    """In a worker process: `_derive`'s result, or its ExpressionError, sent back (pickled);
    then its second derivatives, or None if they cannot be compiled."""
    try:
        value, dx, dy = _derive(expression)
        sources = tuple(_source(e) for e in (value, dx, dy))
    except ExpressionError as error:
        connection.send(error)
        return
    except (RecursionError, MemoryError) as error:
        connection.send(ExpressionError(f"the expression is too complex to compile ({type(error).__name__})"))
        return
    connection.send((value, dx, dy, sources))
    try:
        connection.send(_second_derivatives(dx, dy))
    except ExpressionError:
        connection.send(None)


# A fork of this process, sympy loaded: starting one takes milliseconds. (A forkserver or a
# spawned process would re-import the entry script, Streamlit's, and take a second or more.)
_WORKERS = multiprocessing.get_context("fork")


def _derive_within_time_limit(expression: str):
    """`_derive` in a worker process killed after BUILD_SECONDS: some short expressions take sympy
    minutes to differentiate (40 nested abs() took 3 s, and every level more doubles it), and a
    thread could not be stopped. Parsing runs there too: building a nested expression makes
    sympy query its assumptions, which can be slow as well. Returns (value, dx, dy, sources, second):
    `second` is the second derivatives (`_SecondDerivatives`) if the worker sent them before the same
    deadline, else None."""
    receive, send = _WORKERS.Pipe(duplex=False)
    worker = _WORKERS.Process(target=_derive_and_send, args=(expression, send), daemon=True)
    deadline = time.monotonic() + BUILD_SECONDS
    worker.start()
    send.close()
    second = None
    try:
        if not receive.poll(BUILD_SECONDS):
            raise ExpressionError(f"the expression takes too long to differentiate (over {BUILD_SECONDS:g} s); "
                                  "please simplify it")
        result = receive.recv()
        if not isinstance(result, ExpressionError):
            try:  # the Hessian, if it comes in time (it is not needed to accept the expression)
                if receive.poll(max(deadline - time.monotonic(), 0.0)):
                    second = receive.recv()
            except EOFError:
                second = None
    except EOFError:  # the worker died (e.g. out of memory)
        raise ExpressionError("the expression is too complex to differentiate") from None
    finally:
        worker.kill()
        worker.join()
        receive.close()
    if isinstance(result, ExpressionError):
        raise result
    return (*result, second)


@functools.lru_cache(maxsize=256)
def _build(expression: str) -> _Compiled | ExpressionError:
    """The compiled function, or why it was refused: refusals are cached too, so that an
    expression that takes the full time limit costs it once, not on every rerun."""
    try:
        value, dx, dy, sources, second = _derive_within_time_limit(expression)
    except ExpressionError as error:
        return error
    return _Compiled(value, sympy.latex(value), *(_vectorized(source) for source in sources), second)


def _compile(expression: str) -> _Compiled:
    """`expression` compiled to numpy, with its exact gradient; raises ExpressionError."""
    result = _build(expression)
    if isinstance(result, ExpressionError):
        raise result
    return result


# ---------------------------------------------------------------------------------------
# The test function
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class CustomFunction(TestFunction):
    """f(x, y) typed by the user, e.g. "(1 - x)^2 + 100*(y - x^2)^2".

    Gradients are exact (symbolic derivatives), and so are Hessians where sympy derives them within
    the time limit (`exact_hessian`); minima are estimated numerically over the domain.
    """

    name: ClassVar[str] = "custom"
    title: ClassVar[str] = "Your function"
    default_domain: ClassVar[Domain] = ((-3.0, 3.0), (-3.0, 3.0))
    minima_are_estimated: ClassVar[bool] = True

    expression: str = DEFAULT_EXPRESSION

    def __post_init__(self) -> None:
        # Not TestFunction.__post_init__: that one requires every parameter to be a number.
        domain = self.default_domain if self.domain is None else self.domain
        object.__setattr__(self, "domain", _checked_domain(domain))
        _compile(self.expression)  # raises ExpressionError; cached, so later calls are free

    @property
    def _compiled(self) -> _Compiled:
        return _compile(self.expression)

    @property
    def formula(self) -> str:  # type: ignore[override]
        return self._compiled.latex

    @property
    def sympy_expression(self) -> sympy.Expr:
        return self._compiled.expr

    def value(self, x, y):
        return self._compiled.value(x, y)

    def partials(self, x, y):
        compiled = self._compiled
        return compiled.dx(x, y), compiled.dy(x, y)

    def second_partials(self, x, y):
        """Exact (symbolic) second derivatives where they were derived in time, else central
        differences of the exact gradient (see the module's docstring and `exact_hessian`)."""
        second = self._compiled.second_partials
        if second is None:
            return super().second_partials(x, y)
        return second(x, y)

    @property
    def exact_hessian(self) -> bool:
        """Whether `hessian` is symbolic (True) or central differences of the gradient (False)."""
        return self._compiled.second is not None

    @property
    def minima(self) -> tuple[Minimum, ...]:
        return _estimate_minima(self.expression, self.domain)

    @property
    def undefined(self) -> Undefined:
        """Where f is undefined (NaN or infinite) on the grid of the domain, e.g. x < 0 for log(x)."""
        return _undefined(self.expression, self.domain)

    @property
    def log_scale(self) -> bool:  # type: ignore[override]
        """Colour the contour on a log scale when f's range on the grid needs it (`needs_log_scale`)."""
        return _log_scale(self.expression, self.domain)


class Undefined(NamedTuple):
    """Where a function is undefined on the grid of its domain."""

    share: float  # of the grid points, 0 (defined everywhere) to 1 (nowhere)
    example: tuple[float, float] | None  # a point where it is undefined, amid that region, rounded


@functools.lru_cache(maxsize=64)
def _undefined(expression: str, domain: Domain) -> Undefined:
    function = CustomFunction(expression=expression, domain=domain)
    xs, ys, z = function.grid()
    bad = ~np.isfinite(z)
    if not bad.any():
        return Undefined(0.0, None)
    # The grid point deepest inside the undefined region (of several, the one nearest their middle),
    # rounded to a power of ten under a twentieth of the domain if f is still undefined there.
    rows, cols = np.nonzero(_deepest(bad))
    points = np.stack([xs[cols], ys[rows]], axis=1)
    middle = points[np.argmin(np.linalg.norm(points - points.mean(axis=0), axis=1))]
    (x0, x1), (y0, y1) = domain
    step = 10.0 ** math.floor(math.log10(max(x1 - x0, y1 - y0) / 20))
    rounded = np.clip(np.round(middle / step) * step, (x0, y0), (x1, y1)) + 0.0  # + 0.0: no -0
    example = rounded if not np.isfinite(function(rounded)) else middle
    return Undefined(float(bad.mean()), (float(example[0]), float(example[1])))


def _deepest(mask: np.ndarray) -> np.ndarray:
    """The cells of `mask` farthest (in grid steps) from the cells outside it and the grid's edge."""
    while True:
        padded = np.pad(mask, 1)  # beyond the edge counts as outside
        inner = mask & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
        if not inner.any():
            return mask
        mask = inner


def needs_log_scale(values: np.ndarray) -> bool:
    """Whether linear colours would crowd most of the plot into the lowest few colours: the range
    of the finite values (99.5th percentile − min) exceeds LOG_SCALE_RATIO × (median − min)."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return False
    low, median, high = float(finite.min()), *np.percentile(finite, [50, 99.5])
    return bool(median > low and high - low > LOG_SCALE_RATIO * (median - low))


@functools.lru_cache(maxsize=64)
def _log_scale(expression: str, domain: Domain) -> bool:
    return needs_log_scale(CustomFunction(expression=expression, domain=domain).grid()[2])


# ---------------------------------------------------------------------------------------
# Numerical minima
# ---------------------------------------------------------------------------------------
GRID = 61  # grid points per axis for the search of candidate minima
NEWTON_ITERATIONS = 100


@functools.lru_cache(maxsize=64)
def _estimate_minima(expression: str, domain: Domain) -> tuple[Minimum, ...]:
    """Local minima of f inside the (closed) domain, the lowest marked global.

    Candidates are the grid points lower than all their grid neighbours; each is refined by a
    damped Newton method (exact gradient, central-difference Hessian of it) and kept if it
    converges inside the domain with a small gradient, a positive semi-definite Hessian and no
    lower value on a small ring around it. Boundary grid points that are lowest only because f
    keeps decreasing outside the domain run out of the domain and are dropped. Minima whose values
    tie (within 1e-9 of the value range) are all global, e.g. both wells of (x^2 - 1)^2 + y^2.
    """
    compiled = _compile(expression)
    (x0, x1), (y0, y1) = domain
    size = max(x1 - x0, y1 - y0)
    xs, ys = np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID)
    values = compiled.value(xs[None, :], ys[:, None])
    finite = np.isfinite(values)
    if not finite.any():
        return ()
    value_range = float(np.ptp(values[finite]))

    # Grid points strictly lower than every (existing) neighbour.
    padded = np.pad(np.where(finite, values, np.nan), 1, constant_values=np.inf)
    lower = finite.copy()
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                neighbour = padded[1 + di: 1 + di + GRID, 1 + dj: 1 + dj + GRID]
                lower &= values < neighbour  # NaN neighbours make the comparison False
    rows, cols = np.nonzero(lower)
    if not len(rows):
        return ()
    points = _newton(compiled, np.stack([xs[cols], ys[rows]], axis=1), size)

    def f(p):
        return compiled.value(p[:, 0], p[:, 1])

    def grad(p):
        return np.stack(np.broadcast_arrays(compiled.dx(p[:, 0], p[:, 1]), compiled.dy(p[:, 0], p[:, 1])), axis=1)

    slack = 1e-9 * size
    inside = (np.all(np.isfinite(points), axis=1)
              & (points[:, 0] >= x0 - slack) & (points[:, 0] <= x1 + slack)
              & (points[:, 1] >= y0 - slack) & (points[:, 1] <= y1 + slack))
    points = points[inside]
    if not len(points):
        return ()
    fp = f(points)
    gradient_tolerance = 1e-6 * max(1.0, value_range / size)
    small = np.linalg.norm(grad(points), axis=1) <= gradient_tolerance
    eigenvalues = np.linalg.eigvalsh(_hessian(compiled, grad, points, size))
    curvature_tolerance = 1e-6 * max(1.0, value_range / size**2)
    convex = np.all(np.isfinite(eigenvalues), axis=1) & (eigenvalues.min(axis=1, initial=np.inf) >= -curvature_tolerance)
    ring = 1e-4 * size
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    no_lower = np.ones(len(points), dtype=bool)
    for a in angles:
        around = f(points + ring * np.array([np.cos(a), np.sin(a)]))
        no_lower &= ~(around < fp - 1e-12 * np.abs(fp))
    keep = np.isfinite(fp) & small & convex & no_lower

    # Merge duplicates (lowest first), then mark the lowest (and ties) global.
    found: list[tuple[float, np.ndarray]] = []
    for i in np.argsort(fp, kind="stable"):
        if keep[i] and all(np.linalg.norm(points[i] - p) >= 1e-6 * size for _, p in found):
            found.append((float(fp[i]), points[i]))
    if not found:
        return ()
    best = found[0][0]
    tie = 1e-9 * max(value_range, abs(best), 1e-300)
    minima = [Minimum((float(p[0]), float(p[1])), v, v <= best + tie) for v, p in found]
    return tuple(sorted(minima, key=lambda m: (m.value, m.point)))


def _hessian(compiled: _Compiled, grad, points: np.ndarray, size: float) -> np.ndarray:
    """Hessians (N, 2, 2): the symbolic ones where sympy derived them in time, else central
    differences of the exact gradient (step 1e-6 of the domain's size)."""
    if compiled.second_partials is None:
        return central_difference_hessian(grad, points, 1e-6 * size)
    with np.errstate(all="ignore"):
        fxx, fxy, fyy = compiled.second_partials(points[:, 0], points[:, 1])
    return np.stack([np.stack([fxx, fxy], axis=-1), np.stack([fxy, fyy], axis=-1)], axis=-2)


def _newton(compiled: _Compiled, points: np.ndarray, size: float) -> np.ndarray:
    """Damped Newton descent from every point at once (gradient steps where the Hessian is not
    positive definite), with a backtracking (Armijo) line search on f."""

    def f(p):
        return compiled.value(p[:, 0], p[:, 1])

    def grad(p):
        return np.stack(np.broadcast_arrays(compiled.dx(p[:, 0], p[:, 1]), compiled.dy(p[:, 0], p[:, 1])), axis=1)

    p = points.astype(float).copy()
    active = np.ones(len(p), dtype=bool)
    for _ in range(NEWTON_ITERATIONS):
        if not active.any():
            break
        q = p[active]
        g = grad(q)
        hessian = _hessian(compiled, grad, q, size)
        ok = np.all(np.isfinite(hessian), axis=(1, 2)) & np.all(np.isfinite(g), axis=1)
        hessian[~ok] = np.eye(2)
        eigenvalues = np.linalg.eigvalsh(hessian)
        definite = ok & (eigenvalues[:, 0] > 1e-12 * np.maximum(np.abs(eigenvalues[:, 1]), 1e-300))
        direction = -np.where(ok[:, None], g, 0.0)
        hessian[~definite] = np.eye(2)
        newton = -np.linalg.solve(hessian, np.where(ok[:, None], g, 0.0)[..., None])[..., 0]
        direction = np.where(definite[:, None], newton, direction)
        f0 = f(q)
        slope = np.sum(g * direction, axis=1)
        step = np.ones(len(q))
        accepted = np.zeros(len(q), dtype=bool)
        new_q = q.copy()
        for _ in range(60):
            trial = q + step[:, None] * direction
            ft = f(trial)
            good = ~accepted & np.isfinite(ft) & (ft <= f0 + 1e-4 * step * slope)
            new_q[good] = trial[good]
            accepted |= good
            if accepted.all():
                break
            step = np.where(accepted, step, step / 2)
        moved = np.linalg.norm(new_q - q, axis=1)
        done = ~ok | ~accepted | (moved <= 1e-13 * size)
        p[active] = new_q
        indices = np.flatnonzero(active)
        active[indices[done]] = False
    return p
