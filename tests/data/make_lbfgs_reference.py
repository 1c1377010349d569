"""Make lbfgs_reference.npz: L-BFGS paths computed by torch.optim.LBFGS.

Run once by hand from the repository root (torch is not a project requirement):

    python tests/data/make_lbfgs_reference.py

As tests/data/make_reference.py does for the other optimizers: float64, a fresh torch
optimizer per start, `torch.optim.LBFGS([param], max_iter=1, ...)` (max_eval: torch's default
for max_iter=1, i.e. 1, unless the case sets it), and one `step(closure)` per step, where the
closure returns our analytic f (core.get_function(...)) as a torch scalar and sets param.grad
from our analytic gradient. So a comparison with core tests only the optimizer.

Stability: an ulp of difference grows ~1e7-fold on some stretches of these paths (L-BFGS's
memory amplifies it while a path turns in Rosenbrock's valley) before they settle again. Each
path is therefore also computed from its start moved by 1e-15 (relative) in x and, separately,
in y; `stable` marks the steps where both moved paths stay within 1e-10 (relative) of it. The
tests compare only there (tests/test_lbfgs.py), and check that this is most of the steps.

The file holds:
  points (cases, STEPS + 1, 2, 2) float64: torch's paths, per step and start,
  evaluations (cases, STEPS, 2) int: torch's func_evals increase at each step,
  stable (cases, STEPS + 1, 2) bool: see above,
  starts (cases, 2, 2), and one JSON string `cases`: a list of {"hyperparameters",
  "function", "function_params", "note"} (ours: core.get_optimizer("lbfgs", **hyperparameters)).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import core  # noqa: E402

OUT = Path(__file__).with_name("lbfgs_reference.npz")
STEPS = 80
PERTURBATION = 1e-15  # relative, of one coordinate of the start
STABLE = 1e-10  # relative distance between the perturbed and unperturbed paths

# Functions: key -> (name, parameters, two fixed starts).
FUNCTIONS = {
    "rosenbrock": ("rosenbrock", {"a": 1.0, "b": 100.0}, [(-1.2, 1.0), (0.3, -0.5)]),
    "rosenbrock_far": ("rosenbrock", {"a": 1.0, "b": 100.0}, [(0.8, 2.4), (-1.5, 2.5)]),
    "two_gaussians": ("two_gaussians", {}, [(0.5, 1.0), (-1.5, -1.2)]),
    "himmelblau": ("himmelblau", {}, [(0.0, 0.0), (-1.0, 3.5)]),
    "rastrigin_article": ("rastrigin", {"A": 20.0, "omega": 1.0}, [(-12.0, 15.0), (7.0, -3.0)]),
}

WOLFE = {"line_search_fn": "strong_wolfe"}
# (hyperparameters, function key, note)
CASES = [
    ({}, "rosenbrock", "defaults"),
    (WOLFE, "rosenbrock", "max_eval 1: from (-1.2, 1) the first trial fails and it never moves"),
    ({**WOLFE, "max_eval": 25}, "rosenbrock", "the whole search"),
    ({"history_size": 3, "lr": 0.5}, "rosenbrock", "the memory wraps around"),
    ({**WOLFE, "max_eval": 10, "history_size": 2, "tolerance_change": 1e-5}, "rosenbrock", ""),
    ({**WOLFE, "max_eval": 10, "tolerance_change": 1e-2}, "rosenbrock_far", "not passed on to the line search"),
    ({}, "two_gaussians", "defaults"),
    (WOLFE, "two_gaussians", ""),
    ({**WOLFE, "max_eval": 25}, "two_gaussians", "zooms of up to 9 evaluations"),
    ({"history_size": 1, "lr": 0.3, "tolerance_grad": 1e-3}, "two_gaussians", "stops early"),
    ({**WOLFE, "max_eval": 25, "tolerance_grad": 1e-10, "tolerance_change": 0.0}, "two_gaussians",
     "zooms end on brackets shorter than 1e-9 / max|d|"),
    ({}, "himmelblau", "defaults"),
    ({**WOLFE, "max_eval": 25, "tolerance_grad": 1e-5, "tolerance_change": 1e-6}, "himmelblau", ""),
    ({"history_size": 3, "lr": 0.5, "tolerance_change": 1e-3}, "himmelblau", "stops at gᵀd > −1e-3"),
    ({}, "rastrigin_article", "defaults"),
    (WOLFE, "rastrigin_article", ""),
    ({**WOLFE, "max_eval": 4, "history_size": 5}, "rastrigin_article", "the search runs out"),
    ({"lr": 0.2, "history_size": 10}, "rastrigin_article", ""),
]


def function_of(key: str):
    name, params, starts = FUNCTIONS[key]
    return core.get_function(name, **params), starts


def torch_path(function, hyper: dict, start, steps: int):
    """Points (steps + 1, 2) and func_evals increases (steps,) of torch's LBFGS from `start`."""
    param = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([param], max_iter=1, **hyper)

    def closure():
        x = param.detach().numpy()
        param.grad = torch.tensor(function.gradient(x), dtype=torch.float64)
        return torch.tensor(float(function(x)), dtype=torch.float64)

    points, evaluations, total = np.empty((steps + 1, 2)), np.empty(steps, dtype=np.int64), 0
    points[0] = param.detach().numpy()
    for t in range(steps):
        optimizer.step(closure)
        points[t + 1] = param.detach().numpy()
        evaluations[t], total = optimizer.state[param]["func_evals"] - total, optimizer.state[param]["func_evals"]
    return points, evaluations


def check_defaults() -> None:
    """Our defaults are torch's (max_eval: torch's for max_iter=1)."""
    ours = core.get_optimizer("lbfgs").hyperparameters
    torch_defaults = torch.optim.LBFGS([torch.zeros(2, requires_grad=True)], max_iter=1).defaults
    for key, value in ours.items():
        if value != torch_defaults[key]:
            raise AssertionError(f"lbfgs.{key}: ours {value!r}, torch {torch_defaults[key]!r}")


def main() -> None:
    check_defaults()
    cases, starts, points, evaluations, stable = [], [], [], [], []
    for hyper, key, note in CASES:
        function, case_starts = function_of(key)
        core.get_optimizer("lbfgs", **hyper)  # ours accepts them
        paths = [torch_path(function, hyper, start, STEPS) for start in case_starts]
        steady = []
        for start, (path, _) in zip(case_starts, paths):
            moved = [torch_path(function, hyper, np.array(start) * (1 + PERTURBATION * np.eye(2)[i]), STEPS)[0]
                     for i in range(2)]
            scale = np.maximum(np.abs(path).max(axis=-1), 1.0)
            spread = np.max([np.abs(m - path).max(axis=-1) for m in moved], axis=0) / scale
            steady.append(spread <= STABLE)
        cases.append({"hyperparameters": hyper, "function": FUNCTIONS[key][0],
                      "function_params": FUNCTIONS[key][1], "note": note})
        starts.append(case_starts)
        points.append(np.stack([p for p, _ in paths], axis=1))
        evaluations.append(np.stack([e for _, e in paths], axis=1))
        stable.append(np.stack(steady, axis=1))
        print(f"{key:18} {json.dumps(hyper):80} stable {stable[-1].mean():.0%}, evaluations "
              f"{evaluations[-1].sum(axis=0)}, end {points[-1][-1].round(4).tolist()}")
    np.savez_compressed(OUT, cases=json.dumps(cases), starts=np.array(starts, dtype=float),
                        points=np.array(points), evaluations=np.array(evaluations), stable=np.array(stable))
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
