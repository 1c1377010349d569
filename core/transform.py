"""Rotate and stretch any landscape, exactly.

`transform(f, rotation=θ, scale=(sx, sy))` is the function g whose picture is f's, stretched by
sx along x and sy along y, then rotated by θ degrees counter-clockwise:

    g(p) = f(M⁻¹ p),   M = R(θ) · diag(sx, sy),   R(θ) = [[cos θ, −sin θ], [sin θ, cos θ]]

Its derivatives are f's by the chain rule, at the mapped point q = M⁻¹ p (no differences):

    ∇g(p) = M⁻ᵀ ∇f(q),   H_g(p) = M⁻ᵀ H_f(q) M⁻¹

and its minima are M × f's, with the same values (so f_min is f's). It is a TestFunction like any
other, for `core.run`, `core.analysis` and `core.inside`:

    >>> g = transform(get_function("rosenbrock"), rotation=90)
    >>> g.minima[0].point
    (-1.0, 1.0)

What the optimizers make of it (tests/test_transform.py checks each to rounding): the path on g
from M s is M × the path on f from s
* for gradient descent, momentum and Nesterov when M is a rotation; for M = sR with the
  learning rate on g s² times f's; never for an uneven stretch with a single learning rate;
* for Newton's method (undamped) for any M, where the Hessians are positive definite and its
  step floor is not reached; damped and saddle-free, for rotations, given domains of the same
  diagonal (its floor uses the diagonal, and the bounding box of a rotated domain is larger);
* for Adam, RMSprop and Lion, which act per coordinate, under quarter turns only (not 30°), and
  for M = s·I with the learning rate on g s times f's (and ε on g 1/s times f's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .checks import check_range
from .functions import Domain, Minimum, TestFunction, _checked_domain

MAX_ROTATION = 360.0  # degrees, either way
SCALE_RANGE = (1e-3, 1e3)  # of each stretch factor: M and M⁻¹ stay within a factor 1000

Matrix = tuple[tuple[float, float], tuple[float, float]]


def transform(function: TestFunction, rotation: float = 0.0, scale=(1.0, 1.0), *,
              domain: Domain | None = None) -> Transformed:
    """g(p) = function(M⁻¹ p), M = R(rotation in degrees, counter-clockwise) · diag(*scale).

    Its domain is the bounding box of M × the function's domain, unless `domain` is given.
    Raises ValueError naming the argument and its accepted range."""
    return Transformed(function=function, rotation=rotation, scale=scale, domain=domain)


@dataclass(frozen=True, kw_only=True)
class Transformed(TestFunction):
    """g(p) = f(M⁻¹ p) with M = R(θ) · diag(sx, sy): f stretched by (sx, sy), then rotated by θ.

    Fields: the inner function f (any TestFunction, itself possibly Transformed), the rotation θ
    in degrees (counter-clockwise) and the scale (sx, sy). Every method maps the point to
    q = M⁻¹ p and calls f's own method there (see the module's docstring for the formulas).
    """

    function: TestFunction
    rotation: float = 0.0
    scale: tuple[float, float] = (1.0, 1.0)

    def __post_init__(self) -> None:
        # Not TestFunction.__post_init__: that one requires every parameter to be a number.
        if not isinstance(self.function, TestFunction):
            raise ValueError(f"transform: function must be a TestFunction, got {self.function!r}")
        check_range("transform", "rotation (degrees)", self.rotation, -MAX_ROTATION, MAX_ROTATION, high_open=False)
        try:
            sx, sy = self.scale
        except (TypeError, ValueError):
            raise ValueError(f"transform: scale must be a pair (sx, sy), got {self.scale!r}") from None
        for axis, factor in (("x", sx), ("y", sy)):
            check_range("transform", f"scale along {axis}", factor, *SCALE_RANGE, high_open=False)
        object.__setattr__(self, "rotation", float(self.rotation))
        object.__setattr__(self, "scale", (float(sx), float(sy)))
        object.__setattr__(self, "domain", _checked_domain(self.default_domain if self.domain is None else self.domain))

    # -- the map ------------------------------------------------------------------------
    @property
    def matrix(self) -> Matrix:
        """M = R(θ) · diag(sx, sy)."""
        (c, s), (sx, sy) = _cos_sin(self.rotation), self.scale
        return (c * sx, -s * sy), (s * sx, c * sy)

    @property
    def inverse(self) -> Matrix:
        """M⁻¹ = diag(1/sx, 1/sy) · R(θ)ᵀ."""
        (c, s), (sx, sy) = _cos_sin(self.rotation), self.scale
        return (c / sx, s / sx), (-s / sy, c / sy)

    # -- the function -------------------------------------------------------------------
    def value(self, x, y):
        return self.function.value(*_apply(self.inverse, x, y))

    def partials(self, x, y):
        """∇g(p) = M⁻ᵀ ∇f(M⁻¹ p)."""
        inverse = self.inverse
        fu, fv = self.function.partials(*_apply(inverse, x, y))
        return _apply(_transposed(inverse), fu, fv)

    def second_partials(self, x, y):
        """H_g(p) = M⁻ᵀ H_f(q) M⁻¹ at q = M⁻¹ p; with M⁻¹ = [[a, b], [c, d]] (u = ax + by,
        v = cx + dy):  g_xx = a² f_uu + 2ac f_uv + c² f_vv,  g_xy = ab f_uu + (ad + bc) f_uv + cd f_vv,
        g_yy = b² f_uu + 2bd f_uv + d² f_vv."""
        inverse = self.inverse
        (a, b), (c, d) = inverse
        fuu, fuv, fvv = self.function.second_partials(*_apply(inverse, x, y))
        return (a * a * fuu + 2 * a * c * fuv + c * c * fvv,
                a * b * fuu + (a * d + b * c) * fuv + c * d * fvv,
                b * b * fuu + 2 * b * d * fuv + d * d * fvv)

    @property
    def minima(self) -> tuple[Minimum, ...]:
        """f's minima at M × their points, with their values and globality."""
        matrix = self.matrix
        return tuple(Minimum(tuple(float(v) for v in _apply(matrix, *m.point)), m.value, m.is_global)
                     for m in self.function.minima)

    @property
    def default_domain(self) -> Domain:  # type: ignore[override]
        """The bounding box of M × f's domain: the whole transformed domain is in the picture."""
        (x0, x1), (y0, y1) = self.function.domain
        xs, ys = _apply(self.matrix, np.array([x0, x1, x0, x1]), np.array([y0, y0, y1, y1]))
        return (float(xs.min()), float(xs.max())), (float(ys.min()), float(ys.max()))

    # -- what it is ---------------------------------------------------------------------
    @property
    def name(self) -> str:  # type: ignore[override]
        (sx, sy) = self.scale
        return f"transformed({self.function.name}, rotation={self.rotation:g}, scale=({sx:g}, {sy:g}))"

    @property
    def title(self) -> str:  # type: ignore[override]
        """f's title and what was done to it, in order: e.g. "Rosenbrock, stretched ×2 along x,
        then rotated 30°"."""
        done = [words for words in (self._stretch_words(), self._rotation_words()) if words]
        return ", ".join([self.function.title] + done[:1] + [f"then {words}" for words in done[1:]])

    @property
    def formula(self) -> str:  # type: ignore[override]
        sx, sy = self.scale
        return (rf"f\!\left(M^{{-1}}\binom{{x}}{{y}}\right),\quad M = R({self.rotation:g}^\circ)\,"
                rf"\mathrm{{diag}}({sx:g}, {sy:g}),\quad f(x, y) = {self.function.formula}")

    @property
    def log_scale(self) -> bool:  # type: ignore[override]
        return self.function.log_scale

    @property
    def minima_are_estimated(self) -> bool:
        """As f's (a typed function's minima are estimated numerically)."""
        return bool(getattr(self.function, "minima_are_estimated", False))

    def _rotation_words(self) -> str:
        return f"rotated {self.rotation:g}°" if self.rotation else ""

    def _stretch_words(self) -> str:
        sx, sy = self.scale
        if sx == sy:
            return "" if sx == 1 else f"scaled ×{sx:g}"
        along = [f"×{factor:g} along {axis}" for axis, factor in (("x", sx), ("y", sy)) if factor != 1]
        return "stretched " + " and ".join(along)


def _cos_sin(degrees: float) -> tuple[float, float]:
    """cos θ and sin θ, exact for quarter turns (so that a rotation by 90° only swaps coordinates)."""
    quarter, rest = divmod(degrees, 90.0)
    if rest == 0:
        return ((1.0, 0.0), (0.0, 1.0), (-1.0, 0.0), (0.0, -1.0))[int(quarter) % 4]
    radians = math.radians(degrees)
    return math.cos(radians), math.sin(radians)


def _apply(matrix: Matrix, x, y):
    """matrix × (x, y) on coordinate arrays (or numbers)."""
    (m00, m01), (m10, m11) = matrix
    return m00 * x + m01 * y, m10 * x + m11 * y


def _transposed(matrix: Matrix) -> Matrix:
    (m00, m01), (m10, m11) = matrix
    return (m00, m10), (m01, m11)


__all__ = ["Transformed", "transform"]
