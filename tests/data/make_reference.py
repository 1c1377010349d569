"""Make reference_trajectories.npz: optimizer paths computed by torch.optim.

Run once by hand from the repository root (torch is not a project requirement):

    python tests/data/make_reference.py

Every path is computed in float64 by torch.optim's own code on a 2-element tensor whose
gradient is set from our analytic `core.get_function(...).gradient`, so that a comparison with
`core.run` tests only the optimizer. Each case runs `STEPS` steps from each of its function's
`STARTS`, one torch optimizer per start.

The file holds:
  points (cases, STEPS + 1, starts, 2) float64: torch's trajectories,
  starts (cases, starts, 2), and one JSON string `cases`: a list of
  {"optimizer", "hyperparameters", "function", "function_params", "steps", "note"}, where
  the names and hyperparameters are ours (core.get_optimizer(optimizer, **hyperparameters)).

The cases avoid chaotic paths (see tests/test_optimizers.py): learning rates are chosen so
that every path descends smoothly or settles into a minimum without bouncing between basins.
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import core  # noqa: E402

OUT = Path(__file__).with_name("reference_trajectories.npz")
STEPS = 300

# Functions (name, parameters) with two fixed starts each.
FUNCTIONS = {
    "rosenbrock": ({"a": 1.0, "b": 100.0}, [(-1.2, 1.0), (0.3, -0.5)]),
    "rosenbrock_article": ({"a": 1.0, "b": 2.0}, [(-1.0, 2.5), (1.4, -0.6)]),
    "two_gaussians": ({}, [(0.5, 1.0), (-1.5, -1.2)]),
    "rastrigin_article": ({"A": 20.0, "omega": 1.0}, [(-12.0, 15.0), (7.0, -3.0)]),
}


def function_of(key: str):
    params, starts = FUNCTIONS[key]
    return key.removesuffix("_article"), params, starts


# Our name -> torch's class and the flags that select our algorithm.
TORCH = {
    "sgd": (torch.optim.SGD, {}),
    "momentum": (torch.optim.SGD, {}),
    "nesterov": (torch.optim.SGD, {"nesterov": True}),
    "rmsprop": (torch.optim.RMSprop, {}),
    "adam": (torch.optim.Adam, {}),
    "amsgrad": (torch.optim.Adam, {"amsgrad": True}),
    "adamw": (torch.optim.AdamW, {}),
    "nadam": (torch.optim.NAdam, {}),
    "radam": (torch.optim.RAdam, {}),
    "adamax": (torch.optim.Adamax, {}),
    "adagrad": (torch.optim.Adagrad, {}),
    "adadelta": (torch.optim.Adadelta, {}),
    "rprop": (torch.optim.Rprop, {}),
    "asgd": (torch.optim.ASGD, {}),
    "adafactor": (torch.optim.Adafactor, {}),
}
# Our defaults that differ from torch's on purpose: torch's SGD has momentum 0.
OWN_DEFAULTS = {("momentum", "momentum"), ("nesterov", "momentum")}


def torch_optimizer(name: str, param: torch.Tensor, hyper: dict) -> torch.optim.Optimizer:
    """torch's optimizer for our `name` with all of our hyperparameters (ours are torch's
    names), on torch's single-tensor code path."""
    full = core.get_optimizer(name, **hyper).hyperparameters
    if name == "adam" and not full.pop("bias_correction"):
        raise ValueError("torch's Adam always corrects the bias")
    if "betas" in full:
        full["betas"] = tuple(float(b) for b in full["betas"])
    cls, flags = TORCH[name]
    return cls([param], **full, **flags, foreach=False)


def check_defaults() -> None:
    """Our defaults are torch's, except OWN_DEFAULTS."""
    for name, (cls, _) in TORCH.items():
        signature = inspect.signature(cls.__init__).parameters
        for key, value in core.get_optimizer(name).hyperparameters.items():
            if key == "bias_correction" or (name, key) in OWN_DEFAULTS:
                continue
            expected = signature[key].default
            if tuple(np.atleast_1d(value)) != tuple(np.atleast_1d(expected)):
                raise AssertionError(f"{name}.{key}: ours {value!r}, torch {expected!r}")


def torch_trajectory(name: str, hyper: dict, function, start, steps: int) -> np.ndarray:
    param = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = torch_optimizer(name, param, hyper)
    points = np.empty((steps + 1, 2))
    points[0] = param.detach().numpy()
    for t in range(1, steps + 1):
        grad = function.gradient(param.detach().numpy())
        param.grad = torch.tensor(grad, dtype=torch.float64)
        optimizer.step()
        points[t] = param.detach().numpy()
    return points


# (optimizer, hyperparameters, function key, note). The first case of each optimizer on a
# function uses its defaults (with a learning rate that suits the function where the default
# does not); the others each change at least one more hyperparameter.
CASES = [
    # SGD: the article's lr on its functions; lr small enough on Rosenbrock b = 100.
    ("sgd", {}, "rosenbrock", "defaults"),
    ("sgd", {"lr": 0.02}, "two_gaussians", "the article's SGD"),
    ("sgd", {"lr": 0.02, "weight_decay": 0.1}, "rosenbrock_article", ""),
    ("sgd", {"lr": 0.002, "weight_decay": 0.5}, "rastrigin_article", ""),
    # Momentum
    ("momentum", {}, "rosenbrock", "defaults"),
    ("momentum", {"lr": 0.01, "momentum": 0.8}, "two_gaussians", "the article's Momentum"),
    ("momentum", {"lr": 0.01, "momentum": 0.8}, "rosenbrock_article", "the article's Momentum"),
    ("momentum", {"lr": 0.01, "momentum": 0.8}, "rastrigin_article", "the article's Momentum"),
    ("momentum", {"lr": 0.005, "momentum": 0.7, "dampening": 0.3, "weight_decay": 0.05}, "two_gaussians", ""),
    ("momentum", {"lr": 0.0005, "momentum": 0.5, "dampening": 0.1}, "rosenbrock", ""),
    # Nesterov
    ("nesterov", {}, "rosenbrock", "defaults"),
    ("nesterov", {"lr": 0.01, "momentum": 0.8}, "two_gaussians", ""),
    ("nesterov", {"lr": 0.01, "momentum": 0.6, "weight_decay": 0.1}, "rosenbrock_article", ""),
    ("nesterov", {"lr": 0.005, "momentum": 0.5}, "rastrigin_article", ""),
    # RMSprop
    ("rmsprop", {"lr": 0.001}, "rosenbrock", "defaults"),
    ("rmsprop", {"lr": 0.01, "alpha": 0.99, "eps": 1e-6}, "two_gaussians", "the article's RMSProp"),
    ("rmsprop", {"lr": 0.01, "alpha": 0.99, "eps": 1e-6}, "rosenbrock_article", "the article's RMSProp"),
    ("rmsprop", {"lr": 0.1, "alpha": 0.99, "eps": 1e-6}, "rastrigin_article", "the article's RMSProp"),
    ("rmsprop", {"lr": 0.002, "centered": True}, "two_gaussians", ""),
    ("rmsprop", {"lr": 0.001, "momentum": 0.5, "weight_decay": 0.1}, "rosenbrock_article", ""),
    ("rmsprop", {"lr": 0.001, "alpha": 0.95, "centered": True, "momentum": 0.3}, "rosenbrock_article", ""),
    # Adam
    ("adam", {}, "rosenbrock", "defaults"),
    ("adam", {"lr": 0.01}, "two_gaussians", ""),
    ("adam", {"lr": 0.01, "betas": [0.8, 0.99], "weight_decay": 0.1}, "rosenbrock_article", ""),
    ("adam", {"lr": 0.1, "eps": 1e-6}, "rastrigin_article", ""),
    # AMSGrad
    ("amsgrad", {}, "rosenbrock", "defaults"),
    ("amsgrad", {"lr": 0.01}, "two_gaussians", ""),
    ("amsgrad", {"lr": 0.01, "betas": [0.5, 0.9], "weight_decay": 0.1}, "rosenbrock_article", ""),
    ("amsgrad", {"lr": 0.1, "betas": [0.9, 0.99]}, "rastrigin_article", ""),
    # AdamW
    ("adamw", {}, "rosenbrock", "defaults"),
    ("adamw", {"lr": 0.01, "weight_decay": 0.5}, "two_gaussians", ""),
    ("adamw", {"lr": 0.01, "betas": [0.7, 0.99]}, "rosenbrock_article", ""),
    ("adamw", {"lr": 0.1, "eps": 1e-6, "weight_decay": 0.05}, "rastrigin_article", ""),
    # NAdam
    ("nadam", {}, "rosenbrock", "defaults"),
    ("nadam", {"lr": 0.01, "weight_decay": 0.1}, "two_gaussians", ""),
    ("nadam", {"lr": 0.01, "momentum_decay": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True},
     "rosenbrock_article", ""),
    ("nadam", {"lr": 0.05, "betas": [0.8, 0.99]}, "rastrigin_article", ""),
    # RAdam
    ("radam", {}, "rosenbrock", "defaults"),
    ("radam", {"lr": 0.01, "weight_decay": 0.1}, "two_gaussians", ""),
    ("radam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}, "rosenbrock_article", ""),
    ("radam", {"lr": 0.05, "betas": [0.9, 0.99]}, "rastrigin_article", ""),
    # Adamax
    ("adamax", {}, "rosenbrock", "defaults"),
    ("adamax", {"lr": 0.01, "weight_decay": 0.1}, "two_gaussians", ""),
    ("adamax", {"lr": 0.01, "betas": [0.3, 0.999]}, "rosenbrock_article", ""),
    ("adamax", {"lr": 0.05}, "rastrigin_article", ""),
    # Adagrad
    ("adagrad", {}, "rosenbrock", "defaults"),
    ("adagrad", {"lr": 0.05, "lr_decay": 0.01}, "two_gaussians", ""),
    ("adagrad", {"lr": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.5}, "rosenbrock_article", ""),
    ("adagrad", {"lr": 0.5, "eps": 1e-6}, "rastrigin_article", ""),
    # Adadelta
    ("adadelta", {}, "two_gaussians", "defaults"),
    ("adadelta", {}, "rosenbrock_article", "defaults"),
    ("adadelta", {"lr": 0.3}, "rosenbrock", ""),
    ("adadelta", {"lr": 1.0, "rho": 0.95, "eps": 1e-5}, "two_gaussians", ""),
    ("adadelta", {"lr": 0.5, "weight_decay": 0.1}, "rosenbrock_article", ""),
    ("adadelta", {"lr": 2.0, "rho": 0.5}, "rastrigin_article", ""),
    # Rprop: it uses only the gradient's sign, so it matches torch bit for bit.
    ("rprop", {}, "rosenbrock", "defaults"),
    ("rprop", {"etas": (0.3, 1.5)}, "two_gaussians", ""),
    ("rprop", {"lr": 0.001, "step_sizes": (1e-4, 0.1)}, "rosenbrock_article", ""),
    ("rprop", {"lr": 0.1, "etas": (0.6, 1.1), "step_sizes": (1e-6, 1.0)}, "rastrigin_article", ""),
    # ASGD: t0 = 20 and 100 start the averaging (which leaves the path itself unchanged).
    ("asgd", {"lr": 0.001}, "rosenbrock", "defaults"),
    ("asgd", {"lr": 0.02}, "two_gaussians", "defaults"),
    ("asgd", {"lr": 0.01, "lambd": 0.01, "alpha": 0.5, "t0": 20, "weight_decay": 0.1}, "rosenbrock_article", ""),
    ("asgd", {"lr": 0.005, "lambd": 0.1}, "rastrigin_article", ""),
    ("asgd", {"lr": 0.0005, "lambd": 1.0, "alpha": 1.0, "t0": 100}, "rosenbrock", ""),
    # Adafactor: lr = 2 makes the relative step 1/√t. Left out for being chaotic: beta2_decay
    # -0.5 with d = 2 on the article's Rosenbrock and on the two Gaussians.
    ("adafactor", {}, "rosenbrock", "defaults"),
    ("adafactor", {}, "rosenbrock_article", "defaults"),
    ("adafactor", {"lr": 2.0}, "two_gaussians", ""),
    ("adafactor", {"lr": 0.02, "eps": (1e-20, 0.1), "d": 1.5}, "two_gaussians", ""),
    ("adafactor", {"d": 1.2, "beta2_decay": -0.6}, "rosenbrock_article", ""),
    ("adafactor", {"eps": (1e-3, 1e-2), "weight_decay": 0.1}, "rastrigin_article", ""),
    ("adafactor", {"lr": 0.02, "beta2_decay": -0.3, "d": 3.0}, "rastrigin_article", ""),
]


def main() -> None:
    check_defaults()
    table, all_points, all_starts = [], [], []
    for name, hyper, key, note in CASES:
        function_name, function_params, starts = function_of(key)
        function = core.get_function(function_name, **function_params)
        core.get_optimizer(name, **hyper)  # our names must be valid
        paths = [torch_trajectory(name, hyper, function, start, STEPS) for start in starts]
        all_points.append(np.stack(paths, axis=1))
        all_starts.append(np.array(starts, dtype=float))
        table.append({
            "optimizer": name, "hyperparameters": hyper, "function": function_name,
            "function_params": function_params, "steps": STEPS, "note": note,
        })
    np.savez_compressed(
        OUT, points=np.stack(all_points), starts=np.stack(all_starts),
        cases=np.array(json.dumps(table)), torch_version=np.array(torch.__version__),
    )
    print(f"wrote {len(table)} cases to {OUT} ({OUT.stat().st_size / 1024:.0f} kB)")


if __name__ == "__main__":
    main()
