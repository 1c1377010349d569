"""Make scheduler_reference.npz: optimizer paths under torch.optim.lr_scheduler's schedules.

Run once by hand from the repository root (torch is not a project requirement):

    python tests/data/make_scheduler_reference.py

Each case runs torch's optimizer (made as in make_reference.py: float64, foreach=False, the
gradient set from our analytic `core.get_function(...).gradient`) with torch's scheduler,
calling `scheduler.step()` after every `optimizer.step()`, for STEPS steps from one start.

The file holds:
  points (cases, STEPS + 1, 2): torch's trajectories,
  lrs (cases, STEPS): the lr of each optimizer step, as torch's param group held it,
  momenta (cases, STEPS): its momentum or betas[0] where the scheduler cycles it, else NaN,
  and one JSON string `cases`: a list of {"scheduler", "arguments", "optimizer",
  "hyperparameters", "function", "function_params", "start", "steps", "note"}, with our
  names (core.get_scheduler(scheduler, **arguments), core.get_optimizer(...)).

Every scheduler has at least two optimizers; the paths are smooth (small learning rates on
the two Gaussians and on Rosenbrock b = 100), so an ulp at the start stays an ulp.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch.optim import lr_scheduler

from make_reference import torch_optimizer  # also puts the repository on sys.path, float64 default

import core  # noqa: E402

torch.set_default_dtype(torch.float64)

OUT = Path(__file__).with_name("scheduler_reference.npz")
STEPS = 200

FUNCTIONS = {  # key -> (name, parameters, start)
    "two_gaussians": ("two_gaussians", {}, (0.5, 1.0)),
    "rosenbrock": ("rosenbrock", {"a": 1.0, "b": 100.0}, (-1.2, 1.0)),
}

# (scheduler, arguments, optimizer, hyperparameters, function key, note)
CASES = [
    ("step_lr", {"step_size": 50, "gamma": 0.5}, "momentum", {"lr": 0.01, "momentum": 0.8}, "two_gaussians", ""),
    ("step_lr", {"step_size": 30}, "adam", {"lr": 0.02}, "rosenbrock", "default gamma"),
    ("multi_step_lr", {"milestones": [30, 80, 150], "gamma": 0.3}, "nesterov", {"lr": 0.01, "momentum": 0.8},
     "two_gaussians", ""),
    ("multi_step_lr", {"milestones": [60, 120]}, "rmsprop", {"lr": 0.002}, "rosenbrock", ""),
    ("exponential_lr", {"gamma": 0.99}, "sgd", {"lr": 0.05}, "two_gaussians", ""),
    ("exponential_lr", {"gamma": 0.995}, "adamw", {"lr": 0.01, "weight_decay": 0.1}, "rosenbrock", ""),
    ("cosine_annealing_lr", {"T_max": 60, "eta_min": 1e-4}, "momentum", {"lr": 0.01, "momentum": 0.8},
     "two_gaussians", "past T_max the lr rises again"),
    ("cosine_annealing_lr", {"T_max": 50}, "adam", {"lr": 0.02}, "rosenbrock", "lr 0 at step 51"),
    ("cosine_annealing_lr", {"T_max": 70}, "adagrad", {"lr": 0.1}, "two_gaussians", ""),
    ("cosine_annealing_warm_restarts", {"T_0": 20, "T_mult": 2, "eta_min": 1e-4}, "momentum",
     {"lr": 0.001, "momentum": 0.9}, "rosenbrock", ""),
    ("cosine_annealing_warm_restarts", {"T_0": 20, "T_mult": 2}, "adam", {"lr": 0.02}, "two_gaussians", ""),
    ("cosine_annealing_warm_restarts", {"T_0": 35}, "nadam", {"lr": 0.01}, "rosenbrock", ""),
    ("one_cycle_lr", {"max_lr": 0.02, "total_steps": 200}, "momentum", {"lr": 0.01}, "two_gaussians",
     "cycles momentum"),
    ("one_cycle_lr", {"max_lr": 0.002, "total_steps": 200}, "momentum", {"momentum": 0.5, "dampening": 0.1},
     "rosenbrock", "cycles momentum"),
    ("one_cycle_lr", {"max_lr": 0.03, "total_steps": 220, "anneal_strategy": "linear", "three_phase": True},
     "adam", {}, "rosenbrock", "cycles betas[0]"),
    ("one_cycle_lr", {"max_lr": 0.05, "total_steps": 250, "pct_start": 0.25, "cycle_momentum": False,
                      "div_factor": 10.0, "final_div_factor": 100.0}, "adagrad", {}, "two_gaussians", ""),
    ("linear_lr", {"start_factor": 0.25, "total_iters": 50}, "sgd", {"lr": 0.05}, "two_gaussians", ""),
    ("linear_lr", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 150}, "radam", {"lr": 0.01},
     "two_gaussians", ""),
    ("linear_lr", {"start_factor": 0.5, "end_factor": 0.0, "total_iters": 120}, "momentum",
     {"lr": 0.01, "momentum": 0.8}, "two_gaussians", "lr 0 from step 121"),
    ("cyclic_lr", {"base_lr": 0.001, "max_lr": 0.01, "step_size_up": 25}, "momentum", {"lr": 0.005},
     "two_gaussians", "triangular, cycles momentum"),
    ("cyclic_lr", {"base_lr": 0.001, "max_lr": 0.03, "step_size_up": 20, "step_size_down": 30,
                   "mode": "triangular2"}, "adam", {}, "rosenbrock", "cycles betas[0]"),
    ("cyclic_lr", {"base_lr": 0.002, "max_lr": 0.02, "step_size_up": 15, "mode": "exp_range", "gamma": 0.99},
     "nesterov", {"momentum": 0.5}, "two_gaussians", "cycles momentum"),
    ("cyclic_lr", {"base_lr": 1e-4, "max_lr": 1e-3, "step_size_up": 40, "mode": "exp_range", "gamma": 0.995,
                   "cycle_momentum": False, "base_momentum": 0.7}, "momentum", {}, "rosenbrock", ""),
    ("polynomial_lr", {"total_iters": 150, "power": 2.0}, "momentum", {"lr": 0.001, "momentum": 0.9},
     "rosenbrock", "lr 0 from step 151"),
    ("polynomial_lr", {}, "adam", {"lr": 0.05}, "two_gaussians", "defaults: lr 0 from step 6"),
    ("polynomial_lr", {"total_iters": 100, "power": 0.5}, "adam", {"lr": 0.02}, "two_gaussians", ""),
]

TORCH_SCHEDULERS = {name: getattr(lr_scheduler, cls.torch_name) for name, cls in core.SCHEDULERS.items()}


def torch_run(scheduler: str, arguments: dict, optimizer: str, hyper: dict, function, start, steps: int):
    """torch's points (steps + 1, 2), lrs (steps,) and momenta (steps,)."""
    param = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = torch_optimizer(optimizer, param, hyper)
    schedule = TORCH_SCHEDULERS[scheduler](opt, **arguments)
    group = opt.param_groups[0]
    points, lrs, momenta = np.empty((steps + 1, 2)), np.empty(steps), np.full(steps, np.nan)
    points[0] = param.detach().numpy()
    for t in range(1, steps + 1):
        lrs[t - 1] = group["lr"]
        if arguments.get("cycle_momentum", scheduler in ("one_cycle_lr", "cyclic_lr")):
            momenta[t - 1] = group["betas"][0] if "betas" in group else group["momentum"]
        param.grad = torch.tensor(function.gradient(param.detach().numpy()), dtype=torch.float64)
        opt.step()
        schedule.step()
        points[t] = param.detach().numpy()
    return points, lrs, momenta


def main() -> None:
    table, all_points, all_lrs, all_momenta = [], [], [], []
    assert {case[0] for case in CASES} == set(core.SCHEDULERS), "every scheduler needs cases"
    for scheduler, arguments, optimizer, hyper, key, note in CASES:
        function_name, function_params, start = FUNCTIONS[key]
        function = core.get_function(function_name, **function_params)
        core.get_scheduler(scheduler, **arguments), core.get_optimizer(optimizer, **hyper)  # our names are valid
        points, lrs, momenta = torch_run(scheduler, arguments, optimizer, hyper, function, start, STEPS)
        assert np.isfinite(points).all(), (scheduler, optimizer)
        all_points.append(points), all_lrs.append(lrs), all_momenta.append(momenta)
        table.append({
            "scheduler": scheduler, "arguments": arguments, "optimizer": optimizer, "hyperparameters": hyper,
            "function": function_name, "function_params": function_params, "start": start, "steps": STEPS,
            "note": note,
        })
    np.savez_compressed(
        OUT, points=np.stack(all_points), lrs=np.stack(all_lrs), momenta=np.stack(all_momenta),
        cases=np.array(json.dumps(table)), torch_version=np.array(torch.__version__),
    )
    print(f"wrote {len(table)} cases to {OUT} ({OUT.stat().st_size / 1024:.0f} kB)")


if __name__ == "__main__":
    main()
