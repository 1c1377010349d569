"""Optimizers, test functions and a vectorized run engine for 2-D optimization paths.

    >>> import core
    >>> f = core.get_function("two_gaussians")
    >>> adam = core.get_optimizer("adam", lr=0.01, betas=(0.7, 0.999), eps=1e-6, bias_correction=False)
    >>> result = core.run(f, adam, starts=[0.5, 1.0], steps=100)
    >>> result.points.shape
    (101, 1, 2)

core never imports streamlit.
"""

from .explain import Term, explain_step
from .engine import DIVERGED, GLOBAL, LOCAL, NOT_CONVERGED, OUTCOME_NAMES, UNDEFINED, RunResult, run
from .functions import Minimum, TestFunction
from .optimizers import Optimizer
from .registry import FUNCTION_CLASSES, FUNCTIONS, OPTIMIZER_CLASSES, OPTIMIZERS, get_function, get_optimizer
from .schedulers import SCHEDULERS, get_scheduler
from .stability import Stability, stability
from .transform import Transformed, transform

__all__ = [
    "DIVERGED", "FUNCTIONS", "FUNCTION_CLASSES", "GLOBAL", "LOCAL", "Minimum", "NOT_CONVERGED", "OPTIMIZERS",
    "OPTIMIZER_CLASSES", "OUTCOME_NAMES", "Optimizer", "RunResult", "SCHEDULERS", "Stability", "TestFunction",
    "Term", "Transformed", "UNDEFINED", "explain_step", "get_function", "get_optimizer", "get_scheduler", "run", "stability", "transform",
]
