"""Beyond one path: basins of attraction, success shares and learning-rate sweeps.

All of it is `run(..., record=False)` on many starts at once, so memory stays O(starts).

    >>> f = get_function("two_gaussians")
    >>> basins = basin_map(f, get_optimizer("adam", lr=0.01), steps=100, resolution=101)
    >>> basins.share("global minimum")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .engine import DIVERGED, GLOBAL, LOCAL, NOT_CONVERGED, UNDEFINED, RunResult, run
from .functions import TestFunction
from .optimizers import Optimizer
from .schedulers import Scheduler

OTHER_MINIMUM, NOT_CONVERGED_LABEL, DIVERGED_LABEL, UNDEFINED_LABEL = "other minimum", "not converged", "diverged", \
    "undefined"


def grid_starts(function: TestFunction, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A resolution x resolution grid over the domain: xs (W,), ys (H,), starts (H*W, 2),
    row-major with y varying slowest."""
    if not 2 <= int(resolution) <= 2001:
        raise ValueError(f"resolution must be in [2, 2001], got {resolution}")
    (x0, x1), (y0, y1) = function.domain
    xs, ys = np.linspace(x0, x1, int(resolution)), np.linspace(y0, y1, int(resolution))
    starts = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    return xs, ys, starts


def category_labels(function: TestFunction) -> tuple[str, ...]:
    """Where a run can end: each listed minimum, an unlisted minimum, nowhere, infinity, or
    where f is not a real number."""
    minima = tuple(
        f"{'global' if m.is_global else 'local'} minimum ({m.point[0]:.3g}, {m.point[1]:.3g})"
        for m in function.minima
    )
    return minima + (OTHER_MINIMUM, NOT_CONVERGED_LABEL, DIVERGED_LABEL, UNDEFINED_LABEL)


def categories(result: RunResult, minimum_count: int) -> np.ndarray:
    """Index into `category_labels` for each run."""
    category = np.where(result.minimum_index >= 0, result.minimum_index, minimum_count)
    category = np.where((result.minimum_index < 0) & (result.outcome == NOT_CONVERGED), minimum_count + 1, category)
    category = np.where(result.outcome == DIVERGED, minimum_count + 2, category)
    category = np.where(result.outcome == UNDEFINED, minimum_count + 3, category)
    return category


@dataclass(frozen=True)
class BasinMap:
    """Where one optimizer ends from every start of a grid."""

    xs: np.ndarray  # (W,)
    ys: np.ndarray  # (H,)
    category: np.ndarray  # (H, W) index into labels
    labels: tuple[str, ...]
    global_categories: tuple[int, ...]  # which categories are global minima
    steps_to_converge: np.ndarray  # (H, W), −1 where it did not converge

    def share(self, label: str) -> float:
        if label == "global minimum":
            return float(np.isin(self.category, self.global_categories).mean())
        return float((self.category == self.labels.index(label)).mean())

    def summary(self) -> dict:
        """Shares of global / other minimum / not converged / diverged / undefined and the
        median steps."""
        total = self.category.size
        is_global = np.isin(self.category, self.global_categories)
        minimum_count = len(self.labels) - 4
        other = (self.category < minimum_count + 1) & ~is_global
        converged_steps = self.steps_to_converge[self.steps_to_converge >= 0]
        return {
            "global minimum": is_global.sum() / total,
            "other minimum": other.sum() / total,
            "not converged": (self.category == minimum_count + 1).sum() / total,
            "diverged": (self.category == minimum_count + 2).sum() / total,
            "undefined": (self.category == minimum_count + 3).sum() / total,
            "median steps": float(np.median(converged_steps)) if converged_steps.size else None,
        }


def basin_map(function: TestFunction, optimizer: Optimizer, steps: int, resolution: int = 201, *,
              noise: float = 0.0, seed: int | None = None, on_progress: Callable[[float], None] | None = None,
              scheduler: Scheduler | None = None) -> BasinMap:
    """Where the optimizer (with its learning-rate `scheduler`, if any) ends from every start of
    a resolution² grid; `on_progress` gets the share done as it goes (see `core.run`'s on_chunk)."""
    xs, ys, starts = grid_starts(function, resolution)
    result = run(function, optimizer, starts, steps, record=False, noise=noise, seed=seed, on_chunk=on_progress,
                 scheduler=scheduler)
    shape = (len(ys), len(xs))
    minima = function.minima
    return BasinMap(
        xs=xs, ys=ys,
        category=categories(result, len(minima)).reshape(shape),
        labels=category_labels(function),
        global_categories=tuple(i for i, m in enumerate(minima) if m.is_global),
        steps_to_converge=result.steps_to_converge.reshape(shape),
    )


def sweep_starts(function: TestFunction, count: int = 2500, seed: int = 0) -> np.ndarray:
    """`count` seeded uniform random starts over the domain, the same for every optimizer."""
    (x0, x1), (y0, y1) = function.domain
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(x0, x1, count), rng.uniform(y0, y1, count)])


def lr_sweep(function: TestFunction, optimizer: Optimizer, steps: int, lrs, starts: np.ndarray, *,
             noise: float = 0.0, seed: int | None = None,
             on_progress: Callable[[float], None] | None = None,
             scheduler: Scheduler | None = None) -> dict[str, np.ndarray]:
    """For each lr: the share of starts reaching a global minimum, reaching any minimum, diverging,
    and the median final loss (over the runs that did not diverge and end where f is defined;
    NaN if none did).
    With a `scheduler`, each lr is the schedule's starting lr (as torch's schedulers take the
    optimizer's lr as their base). `on_progress` gets the share done as it goes."""
    lrs = np.asarray(lrs, dtype=float)
    global_share, minimum_share, diverged_share, median_loss = [], [], [], []
    for i, lr in enumerate(lrs):
        on_chunk = None if on_progress is None else (lambda done, i=i: on_progress((i + done) / len(lrs)))
        result = run(function, _with_lr(optimizer, lr), starts, steps, record=False, noise=noise, seed=seed,
                     on_chunk=on_chunk, scheduler=scheduler)
        global_share.append(float(np.mean(result.outcome == GLOBAL)))
        minimum_share.append(float(np.mean((result.outcome == GLOBAL) | (result.outcome == LOCAL))))
        diverged_share.append(float(np.mean(result.diverged)))
        finite = result.final_loss[~result.diverged & np.isfinite(result.final_loss)]
        median_loss.append(float(np.median(finite)) if finite.size else float("nan"))
    return {"lr": lrs, "global_share": np.array(global_share), "minimum_share": np.array(minimum_share),
            "diverged_share": np.array(diverged_share), "median_final_loss": np.array(median_loss)}


def _with_lr(optimizer: Optimizer, lr: float) -> Optimizer:
    return type(optimizer)(**{**optimizer.hyperparameters, "lr": float(lr)})


__all__ = ["BasinMap", "basin_map", "category_labels", "grid_starts", "lr_sweep", "sweep_starts", "OTHER_MINIMUM"]
