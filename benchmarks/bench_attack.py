"""Benchmark: another session's clicks while attackers send expressions that are slow to build.

    python benchmarks/bench_attack.py [--attackers 3] [--clicks 40] [--nesting 30]

Starts `streamlit run dashboard.py` on 127.0.0.1. Attackers are websocket clients
(benchmarks/bench_classroom.py's protocol) that open "Your function" over and over, each time
with a new expression that sympy takes seconds to differentiate (abs() nested `--nesting`
deep, a different constant each time, so that no refusal is served from the cache). Each build
is stopped after core.custom.BUILD_SECONDS. Meanwhile a victim session on the two-Gaussian page
clicks distinct points; its click-to-figure times are printed (median, p95), first alone, then
under attack, with how long each attack took to be refused. Exits 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_classroom import Stats, WsSession, attacker, click_points, quantile  # noqa: E402

from app.navigation import url_path  # noqa: E402
from tests.browser import streamlit_server  # noqa: E402

TARGET_P95 = 0.5  # seconds, a victim's click under attack


async def victim_clicks(server: str, clicks: int, seed: int) -> Stats:
    stats = Stats("victim")
    for attempt in range(2):  # a fresh server's first run is in its old pages/ mode: no plot yet
        session = WsSession(None, server, "two_gaussians", stats, click_timeout=30)
        try:
            await session.open()
            break
        except RuntimeError:
            await session.close()
            if attempt:
                raise
    for x, y in click_points("two_gaussians", clicks, random.Random(seed), 61):
        await session.click(x, y)
        await asyncio.sleep(0.1)
    await session.close()
    return stats


async def main_async(args) -> None:
    with streamlit_server() as server:
        alone = await victim_clicks(server, args.clicks, seed=1)
        stop, refused = asyncio.Event(), []
        attacks = [asyncio.create_task(attacker(server, args.nesting, 1000 * i, stop, refused))
                   for i in range(args.attackers)]
        await asyncio.sleep(2.0)  # the attacks under way
        attacked = await victim_clicks(server, args.clicks, seed=2)
        stop.set()
        await asyncio.gather(*attacks, return_exceptions=True)
    print(f"victim clicks, {args.attackers} attackers sending abs() nested {args.nesting} deep:")
    for name, stats in (("alone", alone), ("under attack", attacked)):
        latencies = stats.latencies
        p95 = quantile(latencies, 0.95)
        print(f"  {name:13s} n={len(latencies):3d} lost={stats.lost} median {statistics.median(latencies) * 1000:5.0f} ms"
              f"  p95 {p95 * 1000:5.0f} ms" + (f"  (target p95 <= {TARGET_P95 * 1000:.0f} ms: "
                                               f"{'OK' if p95 <= TARGET_P95 else 'OVER'})" if name != "alone" else ""))
    if refused:
        print(f"  attacks answered: {len(refused)}, median {statistics.median(refused):.2f} s, "
              f"max {max(refused):.2f} s")
    if alone.errors or attacked.errors:
        print("  errors:", (alone.errors + attacked.errors)[:5])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attackers", type=int, default=3)
    parser.add_argument("--clicks", type=int, default=40)
    parser.add_argument("--nesting", type=int, default=30)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
