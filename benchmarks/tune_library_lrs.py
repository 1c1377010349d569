"""Choose, per function and optimizer, a learning rate that works with torch.optim's other
defaults: the "library defaults" preset's lr. Writes app/library_lrs.json.

    python benchmarks/tune_library_lrs.py

For every lr of a half-decade grid from 1e-7 to 3, every optimizer runs LIBRARY_STEPS steps
from a 41×41 grid of starts over the function's domain (an ordinary click lands anywhere).
An lr from which more than MAX_DIVERGED of the starts diverge is chosen only if every lr does
(the one that diverges least; a default that blows up on a click looks broken); among the others the one that "works" best wins: the most
starts that end in a minimum, counting a global one twice (ties: the lower median final
f − f_min, then the smaller lr). Functions without a known minimum (the saddle) get the median
of the others.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import core  # noqa: E402
from app.presets import LIBRARY_LR_FILE, LIBRARY_STEPS  # noqa: E402
from core.analysis import lr_sweep  # noqa: E402

LRS = np.array([1e-7, 3e-7, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0])
GRID = 41
MAX_DIVERGED = 0.01


def grid_starts(function, resolution: int = GRID) -> np.ndarray:
    (x0, x1), (y0, y1) = function.domain
    xs, ys = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    return np.column_stack([xs.ravel(), ys.ravel()])


def best_lr(function, name: str) -> float:
    sweep = lr_sweep(function, core.get_optimizer(name), LIBRARY_STEPS, LRS, grid_starts(function))
    gap = np.where(np.isfinite(sweep["median_final_loss"]), sweep["median_final_loss"] - function.f_min, np.inf)
    # First key: how far an lr is over the divergence limit (0 for every safe one).
    excess = np.maximum(sweep["diverged_share"] - MAX_DIVERGED, 0.0)
    order = np.lexsort((LRS, gap, -(sweep["minimum_share"] + sweep["global_share"]), excess))
    return float(LRS[order[0]])


def main() -> None:
    table = {}
    for function_name in core.FUNCTIONS:
        if function_name == "custom":
            continue
        function = core.get_function(function_name)
        if function.f_min is None:
            continue
        started = time.perf_counter()
        table[function_name] = {name: best_lr(function, name) for name in core.OPTIMIZERS}
        print(f"{function_name:18s} {time.perf_counter() - started:5.1f} s  {table[function_name]}", flush=True)
    LIBRARY_LR_FILE.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"wrote {LIBRARY_LR_FILE}")


if __name__ == "__main__":
    main()
