"""The named test functions and optimizers, and looking them up by name with checked arguments."""

import dataclasses

from . import functions, optimizers
from .custom import CustomFunction

FUNCTION_CLASSES: dict[str, type[functions.TestFunction]] = {cls.name: cls for cls in (
    functions.TwoGaussians, functions.Rastrigin, functions.Rosenbrock,  # the article's three first
    functions.Himmelblau, functions.Beale, functions.Ackley, functions.Booth, functions.Matyas,
    functions.ThreeHumpCamel, functions.SixHumpCamel, functions.StyblinskiTang, functions.GoldsteinPrice,
    functions.Levi13, functions.McCormick, functions.Saddle, CustomFunction,
)}
FUNCTIONS: tuple[str, ...] = tuple(FUNCTION_CLASSES)

OPTIMIZER_CLASSES: dict[str, type[optimizers.Optimizer]] = {cls.name: cls for cls in (
    optimizers.SGD, optimizers.Momentum, optimizers.Nesterov, optimizers.RMSprop, optimizers.Adam,
    optimizers.AMSGrad, optimizers.AdamW, optimizers.NAdam, optimizers.RAdam, optimizers.Adamax,
    optimizers.Adagrad, optimizers.Adadelta, optimizers.Lion, optimizers.AdaBelief, optimizers.Eve,
    optimizers.YellowFin, optimizers.Rprop, optimizers.ASGD, optimizers.Adafactor,
    optimizers.LBFGS, optimizers.Newton,
)}
OPTIMIZERS: tuple[str, ...] = tuple(OPTIMIZER_CLASSES)


def get_function(name: str, **params) -> functions.TestFunction:
    """The test function `name` with its parameters (and optionally `domain`) overridden;
    raises ValueError on bad input."""
    return _lookup(FUNCTION_CLASSES, "function", name, params, "parameter")(**params)


def get_optimizer(name: str, **hyperparameters) -> optimizers.Optimizer:
    """The optimizer `name` with the given hyperparameters; raises ValueError on bad input."""
    cls = _lookup(OPTIMIZER_CLASSES, "optimizer", name, hyperparameters, "hyperparameter")
    for key, value in hyperparameters.items():  # pairs (betas, etas, eps, ...) read from JSON are lists
        if isinstance(value, list):
            hyperparameters[key] = tuple(value)
    return cls(**hyperparameters)


def _lookup(classes: dict[str, type], kind: str, name: str, arguments: dict, argument_kind: str) -> type:
    """The class registered as `name`, after checking that it accepts every argument; raises
    ValueError naming the unknown name or arguments and what is accepted."""
    try:
        cls = classes[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown {kind} {name!r}; choose one of {', '.join(classes)}") from None
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(arguments) - known
    if unknown:
        raise ValueError(
            f"{name}: unknown {argument_kind}(s) {', '.join(sorted(unknown))}; accepted: {', '.join(sorted(known))}"
        )
    return cls
