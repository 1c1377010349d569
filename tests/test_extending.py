"""A user adds an optimizer and a function from a notebook: subclass, define the update (or
the value and gradient) once, pass them to core.run. No file of core is edited."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, NamedTuple

import numpy as np
import pytest

import core


class Velocity(NamedTuple):
    velocity: np.ndarray


@dataclass(frozen=True, kw_only=True)
class Polyak(core.Optimizer):
    """v_t = μ v_{t−1} − γ g_t;  x_t = x_{t−1} + v_t (a user's own heavy ball)."""

    name: ClassVar[str] = "polyak"
    title: ClassVar[str] = "Polyak"
    lr: float = 0.1
    momentum: float = 0.5

    def init(self, params):
        return Velocity(np.zeros_like(params))

    def step(self, params, grad, state, t, loss=None):
        velocity = self.momentum * state.velocity - self.lr * grad
        return params + velocity, Velocity(velocity)


@dataclass(frozen=True, kw_only=True)
class Ellipse(core.TestFunction):
    """f = a x² + y², minimum 0 at the origin."""

    name: ClassVar[str] = "ellipse"
    title: ClassVar[str] = "Ellipse"
    formula: ClassVar[str] = r"a x^2 + y^2"
    default_domain: ClassVar = ((-2.0, 2.0), (-2.0, 2.0))
    a: float = 3.0

    def value(self, x, y):
        return self.a * x * x + y * y

    def partials(self, x, y):
        return 2 * self.a * x, 2 * y

    @property
    def minima(self):
        return (core.Minimum((0.0, 0.0), 0.0, True),)


def heavy_ball_by_hand(a, lr, momentum, start, steps):
    """The same iteration on each coordinate separately, as 2×2 linear maps."""
    path, x, v = [np.array(start, dtype=float)], np.array(start, dtype=float), np.zeros(2)
    curvature = np.array([2 * a, 2.0])
    for _ in range(steps):
        v = momentum * v - lr * curvature * x
        x = x + v
        path.append(x.copy())
    return np.array(path)


@pytest.mark.parametrize("record", [True, False])
def test_a_users_optimizer_and_function_run_like_the_built_in_ones(record):
    starts = np.array([[1.5, -1.0], [0.3, 0.2], [-2.0, 2.0]])
    result = core.run(Ellipse(), Polyak(lr=0.05, momentum=0.5), starts, 60, record=record)
    expected = np.array([heavy_ball_by_hand(3.0, 0.05, 0.5, s, 60) for s in starts]).transpose(1, 0, 2)
    np.testing.assert_allclose(result.final, expected[-1], rtol=1e-12, atol=1e-300)
    assert result.outcome_names == ["global minimum"] * 3
    if record:
        np.testing.assert_allclose(result.points, expected, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(result.losses, Ellipse()(expected), rtol=1e-12, atol=1e-300)


def test_a_users_optimizer_can_diverge_quietly():
    """Its runs are flagged and stopped at their last finite point, like a built-in one's."""
    result = core.run(Ellipse(), Polyak(lr=5.0, momentum=0.9), [[1.0, 1.0], [0.0, 0.0]], 2000, record=False)
    assert result.diverged.tolist() == [True, False]
    assert np.all(np.isfinite(result.final))


def test_the_readme_example_runs():
    """The README's "Add your own" code, run as written."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = re.search(r"## Add your own optimizer or function.*?```python\n(.*?)```", readme, re.S)
    assert block, "README has no 'Add your own' example"
    namespace: dict = {}
    exec(compile(block.group(1), "README.md", "exec", dont_inherit=True), namespace)  # noqa: S102 - our own README
    result = namespace["result"]
    assert result.outcome_names == ["global minimum"]
    assert np.allclose(result.final, 0.0, atol=0.02)
