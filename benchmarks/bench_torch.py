"""For scale: torch.optim with autograd on bench_core's grid (needs torch, not a requirement).

    pip install torch==2.13.0 && python benchmarks/bench_torch.py [--repeats 3]

The article's four optimizers with their settings and step counts, from the 201x201 grid of
starts over the two-gaussian bowl, every start at once as one (N, 2) float64 tensor: per
step zero_grad, the bowl's loss summed over the starts, backward, step. Final points only
(no bookkeeping). Prints the median total seconds: the issue gives "about 1.1 s" for this on
its machine, which relates its other figures to this machine's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from app.presets import ARTICLE_SETTINGS  # noqa: E402
from bench_core import FUNCTION, GRID, grid_starts  # noqa: E402


def torch_optimizer(torch, name: str, settings: dict, params):
    if name in ("sgd", "momentum"):
        return torch.optim.SGD(params, lr=settings["lr"], momentum=settings.get("momentum", 0.0))
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=settings["lr"], alpha=settings["alpha"], eps=settings["eps"])
    # the article's Adam has no bias correction; torch's has: the same work per step
    return torch.optim.Adam(params, lr=settings["lr"], betas=settings["betas"], eps=settings["eps"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("torch is not installed: pip install torch==2.13.0 (not a requirement of this project)")
        return 0
    torch.set_default_dtype(torch.float64)
    a, b, c, d = FUNCTION.a, FUNCTION.b, FUNCTION.c, FUNCTION.d
    starts = torch.tensor(grid_starts(FUNCTION, GRID))

    def loss(p):
        x, y = p[:, 0], p[:, 1]
        return (x * x + y * y - a * torch.exp(-((x - 1) ** 2 + y * y) / c)
                - b * torch.exp(-((x + 1) ** 2 + y * y) / d)).sum()

    totals = []
    for _ in range(max(args.repeats, 1)):
        start = time.perf_counter()
        for name, (settings, steps) in ARTICLE_SETTINGS.items():
            params = starts.clone().requires_grad_(True)
            optimizer = torch_optimizer(torch, name, settings, [params])
            for _ in range(steps):
                optimizer.zero_grad()
                loss(params).backward()
                optimizer.step()
        totals.append(time.perf_counter() - start)
    print(f"torch.optim with autograd, {GRID}x{GRID} starts, the article's four: median "
          f"{statistics.median(totals):.2f} s of {len(totals)} ({torch.get_num_threads()} threads)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
