"""Two-dimensional test functions with analytic gradients.

Every function is a frozen dataclass whose fields are its parameters. Points are arrays of
shape (..., 2) whose last axis is (x, y), so the same call evaluates one point, a batch of
starts (N, 2), a contour grid (H, W, 2) or a whole trajectory (T+1, N, 2):

    >>> f = get_function("rosenbrock", b=2.0)
    >>> f(np.array([1.0, 1.0]))
    0.0
    >>> f.gradient(np.zeros((3, 2))).shape
    (3, 2)

A subclass implements `value(x, y)` and `partials(x, y)` on coordinate arrays, its default
`default_domain` and its known `minima`; and `second_partials(x, y)` for an analytic Hessian
(without it, `hessian` takes central differences of the gradient):

    >>> get_function("booth").hessian(np.zeros((3, 2))).shape
    (3, 2, 2)
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np

from .checks import check_range


Domain = tuple[tuple[float, float], tuple[float, float]]


class Minimum(NamedTuple):
    """A known minimum: its point (x, y), its value and whether it is the global one."""

    point: tuple[float, float]
    value: float
    is_global: bool


@dataclass(frozen=True, kw_only=True)
class TestFunction:
    """Base class: a scalar function of (x, y) with its analytic gradient.

    `domain` overrides the function's default plotting domain ((xmin, xmax), (ymin, ymax)).
    """

    __test__ = False  # not a pytest test class

    name: ClassVar[str]
    title: ClassVar[str]
    formula: ClassVar[str]  # LaTeX, for the page header
    default_domain: ClassVar[Domain]
    log_scale: ClassVar[bool] = False  # colour the contour on a log scale of f - f_min

    domain: Domain | None = None

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            if field.name == "domain":
                continue
            value = getattr(self, field.name)
            if not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"{self.name}: parameter {field.name} must be a finite number, got {value!r}")
            if abs(value) > MAX_MAGNITUDE:  # Rosenbrock's minimum (a, a²) overflowed with a = 1e200
                raise ValueError(f"{self.name}: parameter {field.name} must be between −{MAX_MAGNITUDE:,.0f} and "
                                 f"{MAX_MAGNITUDE:,.0f}, got {value:g}")
        self.check()
        domain = self.default_domain if self.domain is None else self.domain
        object.__setattr__(self, "domain", _checked_domain(domain))

    def check(self) -> None:
        """Raise ValueError naming a parameter and its accepted range where the function (or
        what is listed about it, e.g. its minima) would be wrong; every parameter is already a
        finite number within ±MAX_MAGNITUDE."""

    # -- to implement -------------------------------------------------------------------
    def value(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def partials(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def second_partials(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(f_xx, f_xy, f_yy) on coordinate arrays, broadcasting like `partials`.

        Every built-in function writes its own, analytically. This default, for a subclass that
        does not, takes central differences of the gradient: f_xx ≈ (f_x(x + h) − f_x(x − h)) / 2h
        and so on, with h = HESSIAN_STEP × the larger side of the domain, and f_xy the mean of
        ∂f_x/∂y and ∂f_y/∂x (so the Hessian is symmetric). Its error is O(h²) from the third
        derivatives plus O(ε|∇f| / h) from rounding: about 1e-8 relative for a smooth function
        whose features are not much smaller than a hundred-thousandth of its domain."""
        (x0, x1), (y0, y1) = self.domain
        x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        hessian = central_difference_hessian(self.gradient, np.stack([x, y], axis=-1),
                                             HESSIAN_STEP * max(x1 - x0, y1 - y0))
        return hessian[..., 0, 0], hessian[..., 0, 1], hessian[..., 1, 1]

    @property
    def minima(self) -> tuple[Minimum, ...]:
        return ()

    # -- public API ---------------------------------------------------------------------
    def __call__(self, points) -> np.ndarray:
        points = np.asarray(points, dtype=float)
        return self.value(points[..., 0], points[..., 1])

    def gradient(self, points) -> np.ndarray:
        points = np.asarray(points, dtype=float)
        dx, dy = self.partials(points[..., 0], points[..., 1])
        return np.stack(np.broadcast_arrays(dx, dy), axis=-1)

    def hessian(self, points) -> np.ndarray:
        """The symmetric 2×2 Hessian at points (..., 2): shape (..., 2, 2), [[f_xx, f_xy], [f_xy, f_yy]]
        (from `second_partials`: analytic for the built-in functions, symbolic for typed ones)."""
        points = np.asarray(points, dtype=float)
        x = points[..., 0]
        fxx, fxy, fyy = np.broadcast_arrays(*self.second_partials(x, points[..., 1]), x)[:3]
        return np.stack([np.stack([fxx, fxy], axis=-1), np.stack([fxy, fyy], axis=-1)], axis=-2)

    @property
    def params(self) -> dict[str, float]:
        """The function's parameters (not the domain) as a plain dict."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "domain"}

    @property
    def global_minima(self) -> tuple[Minimum, ...]:
        return tuple(m for m in self.minima if m.is_global)

    @property
    def f_min(self) -> float | None:
        """The global minimum value where known, else None."""
        values = [m.value for m in self.global_minima]
        return min(values) if values else None

    def grid(self, resolution: int = 200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Coordinates and values on a regular grid over the domain: xs (W,), ys (H,), f (H, W)."""
        (x0, x1), (y0, y1) = self.domain
        xs = np.linspace(x0, x1, resolution)
        ys = np.linspace(y0, y1, resolution)
        with np.errstate(all="ignore"):
            values = self.value(xs[None, :], ys[:, None])
        return xs, ys, np.broadcast_to(values, (resolution, resolution))


MAX_MAGNITUDE = 1e6  # of a parameter or a domain bound: what follows from them (minima, sizes) stays finite
HESSIAN_STEP = 1e-5  # the default `second_partials`' difference step, as a share of the domain's larger side


def central_difference_hessian(gradient, points: np.ndarray, h: float) -> np.ndarray:
    """Hessians (..., 2, 2) of the function whose `gradient` maps (..., 2) points to (..., 2),
    by central differences of it with step h: column j is (∇f(p + h e_j) − ∇f(p − h e_j)) / 2h,
    then symmetrized (f_xy the mean of ∂f_x/∂y and ∂f_y/∂x)."""
    points = np.asarray(points, dtype=float)
    columns = [(gradient(points + h * e) - gradient(points - h * e)) / (2 * h) for e in np.eye(2)]
    hessian = np.stack(columns, axis=-1)
    return 0.5 * (hessian + np.swapaxes(hessian, -1, -2))


def _checked_domain(domain) -> Domain:
    try:
        (x0, x1), (y0, y1) = domain
        x0, x1, y0, y1 = (float(v) for v in (x0, x1, y0, y1))
    except (TypeError, ValueError):
        raise ValueError(f"domain must be ((xmin, xmax), (ymin, ymax)), got {domain!r}") from None
    if not all(math.isfinite(v) for v in (x0, x1, y0, y1)):
        raise ValueError(f"domain bounds must be finite, got {domain!r}")
    if max(abs(x0), abs(x1), abs(y0), abs(y1)) > MAX_MAGNITUDE:  # its width overflowed at ±1e308
        raise ValueError(f"domain bounds must be between −{MAX_MAGNITUDE:,.0f} and {MAX_MAGNITUDE:,.0f}, got {domain!r}")
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"domain needs xmin < xmax and ymin < ymax, got {domain!r}")
    return ((x0, x1), (y0, y1))


def _newton_minimum(f: TestFunction, start, iterations: int = 50) -> tuple[float, float]:
    """Refine a stationary point by Newton's method on central-difference Hessians."""
    p = np.array(start, dtype=float)
    h = 1e-6
    for _ in range(iterations):
        g = f.gradient(p)
        hessian = np.stack(
            [(f.gradient(p + h * e) - f.gradient(p - h * e)) / (2 * h) for e in np.eye(2)], axis=1
        )
        step = np.linalg.solve(hessian, g)
        p = p - step
        if np.max(np.abs(step)) < 1e-15:
            break
    return float(p[0]), float(p[1])


# ---------------------------------------------------------------------------------------
# The article's three functions
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class TwoGaussians(TestFunction):
    """The article's bowl: a quadratic with two Gaussian wells.

    f(x, y) = x² + y² − a·exp(−((x−1)² + y²)/c) − b·exp(−((x+1)² + y²)/d)
    """

    name: ClassVar[str] = "two_gaussians"
    title: ClassVar[str] = "Two-Gaussian bowl"
    formula: ClassVar[str] = r"x^2 + y^2 - a\,e^{-\frac{(x-1)^2+y^2}{c}} - b\,e^{-\frac{(x+1)^2+y^2}{d}}"
    default_domain: ClassVar[Domain] = ((-2.0, 2.0), (-2.0, 2.0))

    a: float = 2.0
    b: float = 3.0
    c: float = 0.2
    d: float = 0.2

    def check(self) -> None:
        for depth in ("a", "b"):  # a negative depth makes a well a bump
            check_range(self.name, depth, getattr(self, depth), 0.0)
        for width in ("c", "d"):
            check_range(self.name, width, getattr(self, width), 0.0, low_open=True)

    def value(self, x, y):
        y2 = y * y
        return (
            x * x + y2
            - self.a * np.exp(-((x - 1) ** 2 + y2) / self.c)
            - self.b * np.exp(-((x + 1) ** 2 + y2) / self.d)
        )

    def partials(self, x, y):
        # right, left: the wells' exp terms times 2a/c, 2b/d (written for few passes over memory)
        y2, x_right, x_left = y * y, x - 1, x + 1
        right = (2 * self.a / self.c) * np.exp((x_right * x_right + y2) * (-1 / self.c))
        left = (2 * self.b / self.d) * np.exp((x_left * x_left + y2) * (-1 / self.d))
        return 2 * x + right * x_right + left * x_left, (2 + right + left) * y

    def second_partials(self, x, y):
        # right, left as in `partials`; d(right)/dx = −2(x−1)/c · right, d(right)/dy = −2y/c · right
        y2, x_right, x_left = y * y, x - 1, x + 1
        right = (2 * self.a / self.c) * np.exp((x_right * x_right + y2) * (-1 / self.c))
        left = (2 * self.b / self.d) * np.exp((x_left * x_left + y2) * (-1 / self.d))
        fxx = 2 + right * (1 - 2 * x_right * x_right / self.c) + left * (1 - 2 * x_left * x_left / self.d)
        fxy = -2 * y * (right * x_right / self.c + left * x_left / self.d)
        fyy = 2 + right * (1 - 2 * y2 / self.c) + left * (1 - 2 * y2 / self.d)
        return fxx, fxy, fyy

    @property
    def minima(self):
        return _two_gaussian_minima(self.a, self.b, self.c, self.d)

    def _solve_minima(self):
        # Stationary points lie on y = 0; refine the wells' centres by Newton's method and
        # keep those that are minima, the lowest being global.
        found = {}
        for guess in (-1.0, 1.0):
            x, y = _newton_minimum(self, (guess, 0.0))
            if self._is_minimum(x, y):
                found[round(x, 9)] = (x, y)
        points = sorted(found.values())
        values = [float(self(np.array(p))) for p in points]
        best = min(values) if values else None
        return tuple(Minimum(p, v, v == best) for p, v in zip(points, values))

    def _is_minimum(self, x, y) -> bool:
        p = np.array([x, y])
        if np.linalg.norm(self.gradient(p)) > 1e-8:
            return False
        return bool(np.all(np.linalg.eigvalsh(self.hessian(p)) > 0))


@functools.lru_cache(maxsize=128)
def _two_gaussian_minima(a: float, b: float, c: float, d: float) -> tuple[Minimum, ...]:
    """Solved once per parameter set (a pure function of plain numbers)."""
    return TwoGaussians(a=a, b=b, c=c, d=d)._solve_minima()


@dataclass(frozen=True, kw_only=True)
class Rastrigin(TestFunction):
    """Rastrigin's function, generalized with a frequency ω.

    f(x, y) = 2A + (x² − A·cos(ωx)) + (y² − A·cos(ωy))

    Standard: A = 10, ω = 2π on [−5.12, 5.12]². The article's picture: A = 20, ω = 1 on
    [−20, 20]². Global minimum 0 at the origin.
    """

    name: ClassVar[str] = "rastrigin"
    title: ClassVar[str] = "Rastrigin"
    formula: ClassVar[str] = r"2A + \sum_{i} \left(x_i^2 - A\cos(\omega x_i)\right)"
    default_domain: ClassVar[Domain] = ((-5.12, 5.12), (-5.12, 5.12))

    A: float = 10.0
    omega: float = 2 * math.pi

    def check(self) -> None:
        check_range(self.name, "A", self.A, 0.0)  # A < 0 turns the listed global minimum into a maximum
        check_range(self.name, "omega", self.omega, 0.0)

    def value(self, x, y):
        return 2 * self.A + (x * x - self.A * np.cos(self.omega * x)) + (y * y - self.A * np.cos(self.omega * y))

    def partials(self, x, y):
        k = self.A * self.omega
        return 2 * x + k * np.sin(self.omega * x), 2 * y + k * np.sin(self.omega * y)

    def second_partials(self, x, y):
        k = self.A * self.omega * self.omega
        return 2 + k * np.cos(self.omega * x), 0.0, 2 + k * np.cos(self.omega * y)

    @property
    def minima(self):
        # Only the global minimum is listed: the local ones form a grid (one per cosine well).
        return (Minimum((0.0, 0.0), 0.0, True),)


@dataclass(frozen=True, kw_only=True)
class Rosenbrock(TestFunction):
    """Rosenbrock's banana valley.

    f(x, y) = (a − x)² + b·(y − x²)²

    Standard: a = 1, b = 100. The article's picture: b = 2 on x ∈ [−1.5, 1.5], y ∈ [−1, 3].
    Global minimum 0 at (a, a²).
    """

    name: ClassVar[str] = "rosenbrock"
    title: ClassVar[str] = "Rosenbrock"
    formula: ClassVar[str] = r"(a - x)^2 + b\,(y - x^2)^2"
    default_domain: ClassVar[Domain] = ((-2.0, 2.0), (-1.0, 3.0))
    log_scale: ClassVar[bool] = True

    a: float = 1.0
    b: float = 100.0

    def check(self) -> None:
        check_range(self.name, "b", self.b, 0.0, low_open=True)  # b ≤ 0: no single minimum, or none

    def value(self, x, y):
        return (self.a - x) ** 2 + self.b * (y - x * x) ** 2

    def partials(self, x, y):
        valley = y - x * x
        return -2 * (self.a - x) - 4 * self.b * x * valley, 2 * self.b * valley

    def second_partials(self, x, y):
        return 2 + 12 * self.b * x * x - 4 * self.b * y, -4 * self.b * x, 2.0 * self.b

    @property
    def minima(self):
        return (Minimum((self.a, self.a * self.a), 0.0, True),)


# ---------------------------------------------------------------------------------------
# Classic test functions
# Formulas, domains and minima as in S. Surjanovic & D. Bingham, "Virtual Library of
# Simulation Experiments" (https://www.sfu.ca/~ssurjano/optimization.html) and Wikipedia,
# "Test functions for optimization"; the minima below were refined by Newton's method to
# float64 precision where no closed form is given.
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class Himmelblau(TestFunction):
    """Himmelblau's function: four global minima of value 0, one local maximum.

    f(x, y) = (x² + y − 11)² + (x + y² − 7)²

    Reference: D. M. Himmelblau, Applied Nonlinear Programming (1972).
    """

    name: ClassVar[str] = "himmelblau"
    title: ClassVar[str] = "Himmelblau"
    formula: ClassVar[str] = r"(x^2 + y - 11)^2 + (x + y^2 - 7)^2"
    default_domain: ClassVar[Domain] = ((-5.0, 5.0), (-5.0, 5.0))

    def value(self, x, y):
        return (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2

    def partials(self, x, y):
        first, second = x * x + y - 11, x + y * y - 7
        return 4 * x * first + 2 * second, 2 * first + 4 * y * second

    def second_partials(self, x, y):
        first, second = x * x + y - 11, x + y * y - 7
        return 4 * first + 8 * x * x + 2, 4 * (x + y), 2 + 4 * second + 8 * y * y

    @property
    def minima(self):
        return (
            Minimum((3.0, 2.0), 0.0, True),
            Minimum((-2.805118086952745, 3.131312518250573), 0.0, True),
            Minimum((-3.779310253377747, -3.283185991286169), 0.0, True),
            Minimum((3.5844283403304917, -1.8481265269644036), 0.0, True),
        )


@dataclass(frozen=True, kw_only=True)
class Beale(TestFunction):
    """Beale's function: a flat plateau and steep walls, minimum 0 at (3, 0.5).

    f(x, y) = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²

    Reference: E. M. L. Beale, On an iterative method for finding a local minimum of a
    function of more than one variable (1958).
    """

    name: ClassVar[str] = "beale"
    title: ClassVar[str] = "Beale"
    formula: ClassVar[str] = r"(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2"
    default_domain: ClassVar[Domain] = ((-4.5, 4.5), (-4.5, 4.5))
    log_scale: ClassVar[bool] = True

    def _terms(self, x, y):
        return 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3

    def value(self, x, y):
        first, second, third = self._terms(x, y)
        return first**2 + second**2 + third**2

    def partials(self, x, y):
        first, second, third = self._terms(x, y)
        dx = 2 * (first * (y - 1) + second * (y**2 - 1) + third * (y**3 - 1))
        dy = 2 * x * (first + 2 * y * second + 3 * y * y * third)
        return dx, dy

    def second_partials(self, x, y):
        # term k = c_k − x + x·y^k: d/dx = y^k − 1, d/dy = k·x·y^(k−1), d²/dxdy = k·y^(k−1),
        # d²/dy² = k(k−1)·x·y^(k−2), d²/dx² = 0
        first, second, third = self._terms(x, y)
        y2 = y * y
        ux, vx, wx = y - 1, y2 - 1, y2 * y - 1
        uy, vy, wy = x, 2 * x * y, 3 * x * y2
        fxx = 2 * (ux * ux + vx * vx + wx * wx)
        fxy = 2 * (ux * uy + first + vx * vy + 2 * y * second + wx * wy + 3 * y2 * third)
        fyy = 2 * (uy * uy + vy * vy + 2 * x * second + wy * wy + 6 * x * y * third)
        return fxx, fxy, fyy

    @property
    def minima(self):
        return (Minimum((3.0, 0.5), 0.0, True),)


@dataclass(frozen=True, kw_only=True)
class Ackley(TestFunction):
    """Ackley's function: a funnel covered in ripples, minimum 0 at the origin.

    f(x, y) = −20·exp(−0.2·√(½(x² + y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20

    Its gradient is undefined at the origin (a cone tip); we return 0 there. Reference:
    D. H. Ackley, A connectionist machine for genetic hillclimbing (1987).
    """

    name: ClassVar[str] = "ackley"
    title: ClassVar[str] = "Ackley"
    formula: ClassVar[str] = (
        r"-20\,e^{-0.2\sqrt{\frac{1}{2}(x^2+y^2)}} - e^{\frac{1}{2}(\cos 2\pi x + \cos 2\pi y)} + e + 20"
    )
    default_domain: ClassVar[Domain] = ((-5.0, 5.0), (-5.0, 5.0))

    def value(self, x, y):
        radius = math.sqrt(0.5) * np.hypot(x, y)
        ripples = np.exp(0.5 * (np.cos(2 * math.pi * x) + np.cos(2 * math.pi * y)))
        return -20 * np.exp(-0.2 * radius) - ripples + math.e + 20

    def partials(self, x, y):
        radius = np.asarray(math.sqrt(0.5) * np.hypot(x, y))
        # d/dx of the funnel is 2x·exp(−0.2r)/r, bounded but undefined at r = 0: use 0 there.
        funnel = np.divide(2 * np.exp(-0.2 * radius), radius, out=np.zeros_like(radius), where=radius > 0)
        ripples = math.pi * np.exp(0.5 * (np.cos(2 * math.pi * x) + np.cos(2 * math.pi * y)))
        return funnel * x + ripples * np.sin(2 * math.pi * x), funnel * y + ripples * np.sin(2 * math.pi * y)

    def second_partials(self, x, y):
        # The funnel F(ρ), ρ = √(x² + y²), has the Hessian F''·n nᵀ + (F'/ρ)(I − n nᵀ), n = (x, y)/ρ;
        # F'/ρ = 2·exp(−0.2r)/r as in `partials` and F'' = −0.4·exp(−0.2r). Like the gradient, it
        # is undefined at the cone's tip, the origin (there F'/ρ → ∞): only the ripples count there.
        radius = np.asarray(math.sqrt(0.5) * np.hypot(x, y))
        rho = math.sqrt(2) * radius
        decay = np.exp(-0.2 * radius)
        tip = radius > 0
        funnel = np.divide(2 * decay, radius, out=np.zeros_like(radius), where=tip)  # F'/ρ
        bend = np.where(tip, -0.4 * decay, 0.0) - funnel  # F'' − F'/ρ
        nx = np.divide(x, rho, out=np.zeros_like(rho), where=tip)
        ny = np.divide(y, rho, out=np.zeros_like(rho), where=tip)
        # The ripples −exp(½(cos 2πx + cos 2πy)) =: −E: ∂²/∂x² = π²E(2cos 2πx − sin² 2πx), ∂²/∂x∂y = −π²E·sin 2πx·sin 2πy
        sx, sy = np.sin(2 * math.pi * x), np.sin(2 * math.pi * y)
        cx, cy = np.cos(2 * math.pi * x), np.cos(2 * math.pi * y)
        ripples = math.pi**2 * np.exp(0.5 * (cx + cy))
        fxx = funnel + bend * nx * nx + ripples * (2 * cx - sx * sx)
        fxy = bend * nx * ny - ripples * sx * sy
        fyy = funnel + bend * ny * ny + ripples * (2 * cy - sy * sy)
        return fxx, fxy, fyy

    @property
    def minima(self):
        # Only the global minimum is listed: the ripples make a grid of local ones.
        return (Minimum((0.0, 0.0), 0.0, True),)


@dataclass(frozen=True, kw_only=True)
class Booth(TestFunction):
    """Booth's function: a tilted quadratic bowl, minimum 0 at (1, 3).

    f(x, y) = (x + 2y − 7)² + (2x + y − 5)²

    Reference: Surjanovic & Bingham, Virtual Library of Simulation Experiments.
    """

    name: ClassVar[str] = "booth"
    title: ClassVar[str] = "Booth"
    formula: ClassVar[str] = r"(x + 2y - 7)^2 + (2x + y - 5)^2"
    default_domain: ClassVar[Domain] = ((-10.0, 10.0), (-10.0, 10.0))

    def value(self, x, y):
        return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2

    def partials(self, x, y):
        first, second = x + 2 * y - 7, 2 * x + y - 5
        return 2 * first + 4 * second, 4 * first + 2 * second

    def second_partials(self, x, y):
        return 10.0, 8.0, 10.0

    @property
    def minima(self):
        return (Minimum((1.0, 3.0), 0.0, True),)


@dataclass(frozen=True, kw_only=True)
class Matyas(TestFunction):
    """Matyas' function: a narrow, nearly flat diagonal valley, minimum 0 at the origin.

    f(x, y) = 0.26(x² + y²) − 0.48xy

    Reference: J. Matyas, Random optimization (1965).
    """

    name: ClassVar[str] = "matyas"
    title: ClassVar[str] = "Matyas"
    formula: ClassVar[str] = r"0.26\,(x^2 + y^2) - 0.48\,xy"
    default_domain: ClassVar[Domain] = ((-10.0, 10.0), (-10.0, 10.0))

    def value(self, x, y):
        return 0.26 * (x * x + y * y) - 0.48 * x * y

    def partials(self, x, y):
        return 0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x

    def second_partials(self, x, y):
        return 0.52, -0.48, 0.52

    @property
    def minima(self):
        return (Minimum((0.0, 0.0), 0.0, True),)


@dataclass(frozen=True, kw_only=True)
class ThreeHumpCamel(TestFunction):
    """The three-hump camel: a global minimum 0 at the origin and two shallow local ones.

    f(x, y) = 2x² − 1.05x⁴ + x⁶/6 + xy + y²

    Reference: Surjanovic & Bingham, Virtual Library of Simulation Experiments.
    """

    name: ClassVar[str] = "three_hump_camel"
    title: ClassVar[str] = "Three-hump camel"
    formula: ClassVar[str] = r"2x^2 - 1.05\,x^4 + \frac{x^6}{6} + xy + y^2"
    default_domain: ClassVar[Domain] = ((-5.0, 5.0), (-5.0, 5.0))
    log_scale: ClassVar[bool] = True

    def value(self, x, y):
        x2 = x * x
        return x2 * (2 - 1.05 * x2 + x2 * x2 / 6) + x * y + y * y

    def partials(self, x, y):
        x2 = x * x
        return x * (4 - 4.2 * x2 + x2 * x2) + y, x + 2 * y

    def second_partials(self, x, y):
        x2 = x * x
        return 4 - 12.6 * x2 + 5 * x2 * x2, 1.0, 2.0

    @property
    def minima(self):
        # Stationary points lie on y = −x/2 where x(x⁴ − 4.2x² + 3.5) = 0; the outer roots
        # x² = 2.1 + √0.91 are the local minima (the inner ones are saddles).
        x = math.sqrt(2.1 + math.sqrt(0.91))
        local = float(self.value(x, -x / 2))
        return (
            Minimum((0.0, 0.0), 0.0, True),
            Minimum((x, -x / 2), local, False),
            Minimum((-x, x / 2), local, False),
        )


@dataclass(frozen=True, kw_only=True)
class SixHumpCamel(TestFunction):
    """The six-hump camel: two global minima, four local ones.

    f(x, y) = (4 − 2.1x² + x⁴/3)x² + xy + (−4 + 4y²)y²

    Reference: L. C. W. Dixon & G. P. Szegő, The global optimization problem (1978).
    """

    name: ClassVar[str] = "six_hump_camel"
    title: ClassVar[str] = "Six-hump camel"
    formula: ClassVar[str] = r"\left(4 - 2.1\,x^2 + \frac{x^4}{3}\right)x^2 + xy + (4y^2 - 4)\,y^2"
    default_domain: ClassVar[Domain] = ((-3.0, 3.0), (-2.0, 2.0))
    log_scale: ClassVar[bool] = True

    def value(self, x, y):
        x2, y2 = x * x, y * y
        return (4 - 2.1 * x2 + x2 * x2 / 3) * x2 + x * y + (4 * y2 - 4) * y2

    def partials(self, x, y):
        x2, y2 = x * x, y * y
        return x * (8 - 8.4 * x2 + 2 * x2 * x2) + y, x + y * (16 * y2 - 8)

    def second_partials(self, x, y):
        x2 = x * x
        return 8 - 25.2 * x2 + 10 * x2 * x2, 1.0, 48 * y * y - 8

    @property
    def minima(self):
        # f(−x, −y) = f(x, y): the minima come in opposite pairs (refined by Newton's method).
        pairs = (
            ((0.08984201310031807, -0.7126564030207396), -1.0316284534898774, True),
            ((-1.7036067149699807, 0.7960835686726251), -0.21546382438371725, False),
            ((1.6071047529201972, 0.5686514548841314), 2.104250310311258, False),
        )
        return tuple(
            Minimum((sign * x, sign * y), value, is_global) for (x, y), value, is_global in pairs for sign in (1, -1)
        )


@dataclass(frozen=True, kw_only=True)
class StyblinskiTang(TestFunction):
    """The Styblinski–Tang function in 2-D: four minima, one per corner well.

    f(x, y) = ½ Σ (t⁴ − 16t² + 5t) over t = x, y

    Each coordinate's term has minima at the roots t ≈ −2.9035 and t ≈ 2.7468 of
    2t³ − 16t + 2.5; the global minimum, −78.33233, takes the deeper one twice.
    Reference: M. A. Styblinski & T.-S. Tang, Experiments in nonconvex optimization (1990).
    """

    name: ClassVar[str] = "styblinski_tang"
    title: ClassVar[str] = "Styblinski–Tang"
    formula: ClassVar[str] = r"\frac{1}{2}\sum_{i} \left(x_i^4 - 16x_i^2 + 5x_i\right)"
    default_domain: ClassVar[Domain] = ((-5.0, 5.0), (-5.0, 5.0))

    DEEP_ROOT: ClassVar[float] = -2.903534027771177
    SHALLOW_ROOT: ClassVar[float] = 2.746802770990837

    @staticmethod
    def _term(t):
        return 0.5 * (t**4 - 16 * t * t + 5 * t)

    def value(self, x, y):
        return self._term(x) + self._term(y)

    def partials(self, x, y):
        return 2 * x**3 - 16 * x + 2.5, 2 * y**3 - 16 * y + 2.5

    def second_partials(self, x, y):
        return 6 * x * x - 16, 0.0, 6 * y * y - 16

    @property
    def minima(self):
        roots = (self.DEEP_ROOT, self.SHALLOW_ROOT)
        return tuple(
            Minimum((x, y), float(self.value(x, y)), x == y == self.DEEP_ROOT) for x in roots for y in roots
        )


@dataclass(frozen=True, kw_only=True)
class GoldsteinPrice(TestFunction):
    """The Goldstein–Price function: global minimum 3 at (0, −1), three local minima.

    f(x, y) = [1 + (x+y+1)²(19 − 14x + 3x² − 14y + 6xy + 3y²)]
              · [30 + (2x−3y)²(18 − 32x + 12x² + 48y − 36xy + 27y²)]

    With u = x + y and t = 2x − 3y the two factors are P(u) = 1 + (u+1)²(3u² − 14u + 19)
    and Q(t) = 30 + t²(3t² − 16t + 18), so f = P(u)·Q(t). P' = 12(u+1)(u−1)(u−2) and
    Q' = 12t(t−1)(t−3): the minima are at u ∈ {−1, 2} (P = 1, 28) and t ∈ {0, 3}
    (Q = 30, 3), at x = (3u + t)/5, y = (2u − t)/5.
    Reference: A. A. Goldstein & J. F. Price, On descent from local minima (1971).
    """

    name: ClassVar[str] = "goldstein_price"
    title: ClassVar[str] = "Goldstein–Price"
    formula: ClassVar[str] = (
        r"\left[1 + (x+y+1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)\right]"
        r"\left[30 + (2x-3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)\right]"
    )
    default_domain: ClassVar[Domain] = ((-2.0, 2.0), (-2.0, 2.0))
    log_scale: ClassVar[bool] = True

    @staticmethod
    def _factors(x, y):
        """P(u), P'(u), Q(t), Q'(t) at u = x + y, t = 2x − 3y."""
        u, t = x + y, 2 * x - 3 * y
        p = 1 + (u + 1) ** 2 * (3 * u * u - 14 * u + 19)
        q = 30 + t * t * (3 * t * t - 16 * t + 18)
        return p, 12 * (u + 1) * (u - 1) * (u - 2), q, 12 * t * (t - 1) * (t - 3)

    def value(self, x, y):
        p, _, q, _ = self._factors(x, y)
        return p * q

    def partials(self, x, y):
        p, dp, q, dq = self._factors(x, y)
        return dp * q + 2 * p * dq, dp * q - 3 * p * dq

    def second_partials(self, x, y):
        # f = P(u)·Q(t) with ∇u = (1, 1), ∇t = (2, −3):
        # H = P''Q ∇u∇uᵀ + P'Q' (∇u∇tᵀ + ∇t∇uᵀ) + PQ'' ∇t∇tᵀ,
        # P'' = 12(3u² − 4u − 1), Q'' = 12(3t² − 8t + 3)
        p, dp, q, dq = self._factors(x, y)
        u, t = x + y, 2 * x - 3 * y
        ddp_q = 12 * (3 * u * u - 4 * u - 1) * q
        dp_dq = dp * dq
        p_ddq = 12 * p * (3 * t * t - 8 * t + 3)
        return ddp_q + 4 * dp_dq + 4 * p_ddq, ddp_q - dp_dq - 6 * p_ddq, ddp_q - 6 * dp_dq + 9 * p_ddq

    @property
    def minima(self):
        return (
            Minimum((0.0, -1.0), 3.0, True),
            Minimum((-0.6, -0.4), 30.0, False),
            Minimum((1.8, 0.2), 84.0, False),
            Minimum((1.2, 0.8), 840.0, False),
        )


@dataclass(frozen=True, kw_only=True)
class Levi13(TestFunction):
    """Lévi function N.13: a rippled bowl, minimum 0 at (1, 1).

    f(x, y) = sin²(3πx) + (x − 1)²(1 + sin²(3πy)) + (y − 1)²(1 + sin²(2πy))

    Reference: Surjanovic & Bingham, Virtual Library of Simulation Experiments.
    """

    name: ClassVar[str] = "levi13"
    title: ClassVar[str] = "Lévi N.13"
    formula: ClassVar[str] = (
        r"\sin^2(3\pi x) + (x-1)^2\left(1 + \sin^2(3\pi y)\right) + (y-1)^2\left(1 + \sin^2(2\pi y)\right)"
    )
    default_domain: ClassVar[Domain] = ((-10.0, 10.0), (-10.0, 10.0))

    def value(self, x, y):
        pi = math.pi
        return (
            np.sin(3 * pi * x) ** 2
            + (x - 1) ** 2 * (1 + np.sin(3 * pi * y) ** 2)
            + (y - 1) ** 2 * (1 + np.sin(2 * pi * y) ** 2)
        )

    def partials(self, x, y):
        pi = math.pi  # d/dt sin²(kt) = k·sin(2kt)
        dx = 3 * pi * np.sin(6 * pi * x) + 2 * (x - 1) * (1 + np.sin(3 * pi * y) ** 2)
        dy = (
            3 * pi * (x - 1) ** 2 * np.sin(6 * pi * y)
            + 2 * (y - 1) * (1 + np.sin(2 * pi * y) ** 2)
            + 2 * pi * (y - 1) ** 2 * np.sin(4 * pi * y)
        )
        return dx, dy

    def second_partials(self, x, y):
        pi = math.pi  # d²/dt² sin²(kt) = 2k²·cos(2kt)
        fxx = 18 * pi * pi * np.cos(6 * pi * x) + 2 * (1 + np.sin(3 * pi * y) ** 2)
        fxy = 6 * pi * (x - 1) * np.sin(6 * pi * y)
        fyy = (
            18 * pi * pi * (x - 1) ** 2 * np.cos(6 * pi * y)
            + 2 * (1 + np.sin(2 * pi * y) ** 2)
            + 8 * pi * (y - 1) * np.sin(4 * pi * y)
            + 8 * pi * pi * (y - 1) ** 2 * np.cos(4 * pi * y)
        )
        return fxx, fxy, fyy

    @property
    def minima(self):
        # Only the global minimum is listed: the ripples make a grid of local ones.
        return (Minimum((1.0, 1.0), 0.0, True),)


@dataclass(frozen=True, kw_only=True)
class McCormick(TestFunction):
    """McCormick's function: a sine ridge on a tilted parabolic valley.

    f(x, y) = sin(x + y) + (x − y)² − 1.5x + 2.5y + 1

    With u = x + y, v = x − y: f = sin u + u/2 + (v − 1)², so minima have v = 1 and
    cos u = −½, sin u = −√3/2: u = −2π/3 (global, −√3/2 − π/3) and u = 4π/3 (local).
    Reference: G. P. McCormick, Computability of global solutions to factorable nonconvex
    programs (1976).
    """

    name: ClassVar[str] = "mccormick"
    title: ClassVar[str] = "McCormick"
    formula: ClassVar[str] = r"\sin(x + y) + (x - y)^2 - 1.5x + 2.5y + 1"
    default_domain: ClassVar[Domain] = ((-1.5, 4.0), (-3.0, 4.0))

    def value(self, x, y):
        return np.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1

    def partials(self, x, y):
        ridge, valley = np.cos(x + y), 2 * (x - y)
        return ridge + valley - 1.5, ridge - valley + 2.5

    def second_partials(self, x, y):
        ridge = np.sin(x + y)
        return 2 - ridge, -2 - ridge, 2 - ridge

    @property
    def minima(self):
        def at(u: float) -> tuple[float, float]:
            return ((u + 1) / 2, (u - 1) / 2)

        return (
            Minimum(at(-2 * math.pi / 3), -math.sqrt(3) / 2 - math.pi / 3, True),
            Minimum(at(4 * math.pi / 3), 2 * math.pi / 3 - math.sqrt(3) / 2, False),
        )


@dataclass(frozen=True, kw_only=True)
class Saddle(TestFunction):
    """A pure saddle, to watch optimizers escape it: no minimum at all.

    f(x, y) = x² − y²
    """

    name: ClassVar[str] = "saddle"
    title: ClassVar[str] = "Saddle"
    formula: ClassVar[str] = r"x^2 - y^2"
    default_domain: ClassVar[Domain] = ((-2.0, 2.0), (-2.0, 2.0))

    def value(self, x, y):
        return x * x - y * y

    def partials(self, x, y):
        return 2 * x, -2 * y

    def second_partials(self, x, y):
        return 2.0, 0.0, -2.0
