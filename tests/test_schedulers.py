"""Tests of core.schedulers and core.run(..., scheduler=...).

* Every scheduler's lr (and cycled momentum or betas[0]) per step equals torch's, and
  core.run's paths under it equal torch's (tests/data/scheduler_reference.npz, made by
  tests/data/make_scheduler_reference.py); a wrong schedule would not.
* Validation: every argument's invalid values raise ValueError naming it and its range;
  unknown names and arguments too; cycling the momentum of an optimizer without one.
* A constant schedule runs bitwise like no schedule, on the numpy and the compiled path.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

import core
from core import engine, schedulers

REFERENCE = Path(__file__).parent / "data" / "scheduler_reference.npz"

with np.load(REFERENCE) as _data:
    CASES = json.loads(str(_data["cases"]))
    POINTS, LRS, MOMENTA = _data["points"], _data["lrs"], _data["momenta"]
IDS = [f"{c['scheduler']}-{c['optimizer']}-{c['function']}-{i}" for i, c in enumerate(CASES)]


def _case(index):
    case = CASES[index]
    function = core.get_function(case["function"], **case["function_params"])
    optimizer = core.get_optimizer(case["optimizer"], **case["hyperparameters"])
    scheduler = core.get_scheduler(case["scheduler"], **case["arguments"])
    return case, function, optimizer, scheduler


def _values(hyperparameters):
    """lrs and cycled momenta (NaN where not cycled) from a list of per-step overrides."""
    lrs = np.array([h["lr"] for h in hyperparameters])
    momenta = np.array([h["betas"][0] if "betas" in h else h.get("momentum", np.nan) for h in hyperparameters])
    return lrs, momenta


# ---------------------------------------------------------------------------------------
# Against torch.optim.lr_scheduler
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
def test_path_matches_torch(index):
    case, function, optimizer, scheduler = _case(index)
    result = core.run(function, optimizer, case["start"], case["steps"], scheduler=scheduler)
    np.testing.assert_allclose(result.points[:, 0], POINTS[index], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
def test_values_match_torch(index):
    case, _, optimizer, scheduler = _case(index)
    lrs, momenta = _values(scheduler.hyperparameters(optimizer, case["steps"]))
    np.testing.assert_allclose(lrs, LRS[index], rtol=1e-12, atol=0)
    np.testing.assert_allclose(momenta, MOMENTA[index], rtol=1e-12, atol=0)  # NaN where NaN


@pytest.mark.parametrize("index", range(len(CASES)), ids=IDS)
def test_a_wrong_schedule_would_fail(index):
    """Without the schedule, or with it one step late, the comparisons above fail."""
    case, function, optimizer, scheduler = _case(index)
    plain = core.run(function, optimizer, case["start"], case["steps"]).points[:, 0]
    assert np.max(np.abs(plain - POINTS[index])) > 1e-6
    lrs, _ = _values(scheduler.hyperparameters(optimizer, case["steps"]))
    assert not np.allclose(lrs[:-1], LRS[index][1:], rtol=1e-12, atol=0)


def test_reference_covers_every_scheduler_and_its_modes():
    def cases(**match):
        return [c for c in CASES if all(c[k] == v for k, v in match.items() if k != "arguments")
                and all(c["arguments"].get(k) == v for k, v in match.get("arguments", {}).items())]

    for name in core.SCHEDULERS:
        assert len({c["optimizer"] for c in cases(scheduler=name)}) >= 2, name
    for name in ("one_cycle_lr", "cyclic_lr"):  # momentum cycled through `momentum` and through betas[0]
        cycled = [c for c in cases(scheduler=name) if c["arguments"].get("cycle_momentum", True)]
        assert {"momentum", "adam"} <= {c["optimizer"] for c in cycled}, name
    for mode in ("triangular2", "exp_range"):
        assert cases(scheduler="cyclic_lr", arguments={"mode": mode}), mode
    assert [c for c in cases(scheduler="cyclic_lr") if "mode" not in c["arguments"]]
    assert cases(scheduler="one_cycle_lr", arguments={"three_phase": True, "anneal_strategy": "linear"})
    assert cases(scheduler="cosine_annealing_warm_restarts", arguments={"T_mult": 2})
    assert (LRS == 0).any(), "no case reaches lr 0"


@pytest.mark.parametrize("index", [IDS.index(i) for i in IDS if i.startswith(("one_cycle_lr-momentum", "cyclic_lr-adam"))])
def test_compiled_path_follows_the_schedule(index):
    """Many copies of a reference start, on the compiled path, end where torch's path does."""
    case, function, optimizer, scheduler = _case(index)
    assert engine.compiled_update(optimizer, wait=True) is not None
    starts = np.tile(case["start"], (engine.COMPILED_MIN_STARTS, 1))
    for record in (True, False):
        result = core.run(function, optimizer, starts, case["steps"], record=record, scheduler=scheduler)
        np.testing.assert_allclose(result.final, np.tile(POINTS[index][-1], (len(starts), 1)), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------
# The engine without a schedule, or with a constant one
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("many", [False, True], ids=["numpy", "compiled"])
def test_a_constant_schedule_runs_bitwise_like_none(many):
    function = core.get_function("rosenbrock", b=2.0)
    optimizer = core.get_optimizer("adam", lr=0.02)
    starts = np.random.default_rng(0).uniform(-2, 2, (engine.COMPILED_MIN_STARTS if many else 3, 2))
    if many:
        assert engine.compiled_update(optimizer, wait=True) is not None
    constant = core.get_scheduler("step_lr", step_size=1000)
    for record in (True, False):
        plain = core.run(function, optimizer, starts, 100, record=record)
        scheduled = core.run(function, optimizer, starts, 100, record=record, scheduler=constant)
        assert_same = np.testing.assert_array_equal
        assert_same(scheduled.final, plain.final)
        assert_same(scheduled.outcome, plain.outcome)
        if record:
            assert_same(scheduled.points, plain.points)
        assert_same(core.run(function, optimizer, starts, 100, record=record, scheduler=None).final, plain.final)


def test_steps_share_one_optimizer_while_values_repeat():
    optimizer = core.get_optimizer("momentum", lr=0.01)
    steps = core.get_scheduler("step_lr", step_size=50, gamma=0.5).optimizers(optimizer, 200)
    assert len(steps) == 200 and len({id(o) for o in steps}) == 4
    assert [o.lr for o in steps[49:51]] == [0.01, 0.005]
    assert optimizer.lr == 0.01  # unchanged


def test_a_schedule_keeps_the_other_betas():
    optimizer = core.get_optimizer("adam", betas=(0.9, 0.99))
    first = core.get_scheduler("cyclic_lr", base_lr=0.001, max_lr=0.01).hyperparameters(optimizer, 1)[0]
    assert first == {"lr": 0.001, "betas": (0.9, 0.99)}  # max_momentum, then the optimizer's beta2


def test_zero_steps():
    function = core.get_function("booth")
    scheduler = core.get_scheduler("one_cycle_lr", max_lr=0.1, total_steps=10)
    result = core.run(function, core.get_optimizer("momentum"), [0.0, 0.0], 0, scheduler=scheduler)
    assert result.points.shape == (1, 1, 2)


# ---------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------
VALID = {
    "step_lr": {"step_size": 10}, "multi_step_lr": {"milestones": [10, 20]}, "exponential_lr": {"gamma": 0.9},
    "cosine_annealing_lr": {"T_max": 10}, "cosine_annealing_warm_restarts": {"T_0": 10},
    "one_cycle_lr": {"max_lr": 0.1, "total_steps": 100}, "linear_lr": {},
    "cyclic_lr": {"base_lr": 0.001, "max_lr": 0.01}, "polynomial_lr": {},
}
INTEGER = "must be an integer in [1, inf)"
POSITIVE = "accepted range (0.0, inf)"
NON_NEGATIVE = "accepted range [0.0, inf)"
MOMENTUM = "accepted range [0.0, 1.0)"
FLAG = "must be True or False"
# (scheduler, argument, invalid value, text the error must contain)
INVALID = [
    ("step_lr", "step_size", 0, INTEGER), ("step_lr", "step_size", 2.5, INTEGER),
    ("step_lr", "step_size", True, INTEGER), ("step_lr", "gamma", 0.0, POSITIVE),
    ("step_lr", "gamma", float("inf"), POSITIVE),
    ("multi_step_lr", "milestones", [20, 10], "increasing integers in [1, inf)"),
    ("multi_step_lr", "milestones", [0, 5], "increasing integers in [1, inf)"),
    ("multi_step_lr", "milestones", [5, 5], "increasing integers in [1, inf)"),
    ("multi_step_lr", "milestones", 10, "increasing integers in [1, inf)"),
    ("multi_step_lr", "gamma", -0.1, POSITIVE),
    ("exponential_lr", "gamma", 0, POSITIVE), ("exponential_lr", "gamma", "0.9", "number in (0.0, inf)"),
    ("cosine_annealing_lr", "T_max", 0, INTEGER), ("cosine_annealing_lr", "eta_min", -1e-3, NON_NEGATIVE),
    ("cosine_annealing_warm_restarts", "T_0", 0, INTEGER), ("cosine_annealing_warm_restarts", "T_mult", 0, INTEGER),
    ("cosine_annealing_warm_restarts", "T_mult", 1.5, INTEGER),
    ("cosine_annealing_warm_restarts", "eta_min", float("nan"), NON_NEGATIVE),
    ("one_cycle_lr", "max_lr", 0.0, POSITIVE), ("one_cycle_lr", "total_steps", 0, INTEGER),
    ("one_cycle_lr", "pct_start", 1.5, "accepted range [0.0, 1.0]"),
    ("one_cycle_lr", "pct_start", 0.01, "· total_steps must not be 1"),
    ("one_cycle_lr", "anneal_strategy", "cosine", "must be one of 'cos', 'linear'"),
    ("one_cycle_lr", "cycle_momentum", "yes", FLAG), ("one_cycle_lr", "base_momentum", 1.0, MOMENTUM),
    ("one_cycle_lr", "max_momentum", -0.1, MOMENTUM), ("one_cycle_lr", "div_factor", 0.0, POSITIVE),
    ("one_cycle_lr", "final_div_factor", -1.0, POSITIVE), ("one_cycle_lr", "three_phase", 1, FLAG),
    ("linear_lr", "start_factor", 0.0, "accepted range (0.0, 1.0]"),
    ("linear_lr", "start_factor", 1.5, "accepted range (0.0, 1.0]"),
    ("linear_lr", "end_factor", 1.5, "accepted range [0.0, 1.0]"),
    ("linear_lr", "end_factor", -0.5, "accepted range [0.0, 1.0]"), ("linear_lr", "total_iters", 0, INTEGER),
    ("cyclic_lr", "base_lr", 0.0, POSITIVE), ("cyclic_lr", "max_lr", -1.0, POSITIVE),
    ("cyclic_lr", "step_size_up", 0, INTEGER), ("cyclic_lr", "step_size_down", 0, INTEGER),
    ("cyclic_lr", "mode", "triangle", "must be one of 'triangular', 'triangular2', 'exp_range'"),
    ("cyclic_lr", "gamma", 0.0, POSITIVE), ("cyclic_lr", "cycle_momentum", None, FLAG),
    ("cyclic_lr", "base_momentum", 1.0, MOMENTUM), ("cyclic_lr", "max_momentum", 2.0, MOMENTUM),
    ("polynomial_lr", "total_iters", 0, INTEGER), ("polynomial_lr", "power", -1.0, NON_NEGATIVE),
]


@pytest.mark.parametrize("name, argument, value, accepted", INVALID,
                         ids=[f"{n}-{a}={v!r}" for n, a, v, _ in INVALID])
def test_invalid_argument_raises_naming_it_and_its_range(name, argument, value, accepted):
    with pytest.raises(ValueError, match=re.escape(argument) + ".*" + re.escape(accepted)):
        core.get_scheduler(name, **{**VALID[name], argument: value})
    core.get_scheduler(name, **VALID[name])  # the rest is valid


def test_every_argument_is_checked():
    checked = {(name, argument) for name, argument, _, _ in INVALID}
    for name, cls in core.SCHEDULERS.items():
        for field in dataclasses.fields(cls):
            assert (name, field.name) in checked, f"{name}.{field.name} has no invalid case"


def test_unknown_and_missing_names_are_rejected():
    with pytest.raises(ValueError, match="unknown scheduler 'cosine'; choose one of step_lr, .*polynomial_lr"):
        core.get_scheduler("cosine")
    with pytest.raises(ValueError, match="unknown argument.*last_epoch; accepted: T_max, eta_min"):
        core.get_scheduler("cosine_annealing_lr", T_max=10, last_epoch=3)
    with pytest.raises(ValueError, match="cyclic_lr: missing argument.*base_lr, max_lr"):
        core.get_scheduler("cyclic_lr")


@pytest.mark.parametrize("optimizer", ["sgd", "adagrad", "rprop"])
@pytest.mark.parametrize("name", ["one_cycle_lr", "cyclic_lr"])
def test_cycling_a_momentum_the_optimizer_lacks_raises(name, optimizer):
    scheduler = core.get_scheduler(name, **VALID[name])
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        core.run(core.get_function("booth"), core.get_optimizer(optimizer), [0.0, 0.0], 5, scheduler=scheduler)
    off = dataclasses.replace(scheduler, cycle_momentum=False)
    core.run(core.get_function("booth"), core.get_optimizer(optimizer), [0.0, 0.0], 5, scheduler=off)


def test_one_cycle_refuses_more_steps_than_total_steps():
    scheduler = core.get_scheduler("one_cycle_lr", max_lr=0.1, total_steps=100)
    optimizer = core.get_optimizer("adam")
    assert len(scheduler.hyperparameters(optimizer, 100)) == 100
    with pytest.raises(ValueError, match="total_steps is 100"):
        core.run(core.get_function("booth"), optimizer, [0.0, 0.0], 101, scheduler=scheduler)


def test_docstrings_name_the_torch_class():
    for cls in core.SCHEDULERS.values():
        assert f"torch.optim.lr_scheduler.{cls.torch_name}" in " ".join(cls.__doc__.split()), cls.name
        assert cls is getattr(schedulers, cls.torch_name)
