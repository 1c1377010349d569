"""Guided scenarios: one per claim of the 2018 article, then a few of our own.

A scenario is a page and the URL query that sets it up (the same query a share link holds,
so app.state reads it like any other), with the sentence it illustrates and what to watch
for. A link `?scenario=<key>` opens it; tests/test_scenarios.py runs every scenario and checks
that what it says happens does happen.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scenario:
    key: str
    function: str
    title: str
    says: str  # the article's sentence (quoted), or ours
    watch: str  # what to look at on the page
    query: dict[str, str] = field(default_factory=dict)
    from_article: bool = True


SCENARIOS: dict[str, Scenario] = {s.key: s for s in (
    Scenario(
        "different-minima", "two_gaussians", "Same start, different minima",
        "Starting from the same point, different algorithms will converge to different minima. Often, SGD and "
        "SGD with momentum will converge to the poorer minimum (the one on the right) while RMSProp and Adam "
        "will converge to the global minimum.",
        "SGD (black) and Momentum (blue) settle in the right-hand minimum; RMSprop and Adam cross to the "
        "deeper one on the left.",
        {"start": "1,2"}),
    Scenario(
        "only-adam", "two_gaussians", "Only Adam finds the global minimum",
        "Only Adam (in green) converges to the global minimum.",
        "From this start even RMSprop stays on the right: Adam's momentum and per-coordinate scaling carry "
        "it over the ridge.",
        {"start": "1,-1.4"}),
    Scenario(
        "momentum-spirals", "two_gaussians", "Momentum spirals",
        "With the wrong learning rate, SGD with momentum can overshoot minima and this often leads to a "
        "spiraling pattern around the minimum.",
        "Momentum at twice the article's rate (0.02) and μ = 0.9 overshoots and circles the minimum several "
        "times before it settles; SGD, with no velocity, walks straight in.",
        {"start": "-1,0.75", "opt": "sgd,momentum", "momentum.lr": "0.02", "momentum.momentum": "0.9",
         "momentum.steps": "300"}),
    Scenario(
        "adam-most-starts", "two_gaussians", "Adam wins from the most starts",
        "For this particular function, Adam is the algorithm that converges to the global minimum from the "
        "most initializations.",
        "Open “Basins & success rates” below and switch on “Show the basins”: each map colours every start by "
        "where the optimizer ends; Adam's map is the most global-minimum blue.",
        {"start": "1,2", "tab": "basins", "basins.on": "true"}),
    Scenario(
        "rastrigin-momentum", "rastrigin", "Momentum powers through Rastrigin's bumps",
        "SGD with momentum reaches the global optimum while all other algorithms get stuck in the same local "
        "minimum.",
        "Momentum's speed carries it over the sine bumps to the centre; SGD, RMSprop and Adam stop in one and "
        "the same dip near the start.",
        {"start": "15,15"}),
    Scenario(
        "rosenbrock-valley", "rosenbrock", "Rosenbrock's valley",
        "All algorithms find the global minimum but through very different paths.",
        "Every path first drops into the curved valley, then creeps along it to (1, 1): the adaptive ones "
        "(RMSprop, Adam) and the others take visibly different routes.",
        {"start": "-1,2.5"}),
    Scenario(
        "saddle", "saddle", "Escaping a saddle point", "",
        "Started a hair off the ridge (y = 0.01), where the gradient along y nearly vanishes, all four at lr "
        "0.01: SGD lingers for about 200 steps; Momentum and Adam, building up speed along y, leave in about 40; "
        "RMSprop, which divides each coordinate by its own gradient size, turns away within a few steps.",
        {"start": "1.5,0.01", "sgd.lr": "0.01", "momentum.lr": "0.01", "rmsprop.lr": "0.01", "adam.lr": "0.01"},
        from_article=False),
    Scenario(
        "lr-too-large", "two_gaussians", "A learning rate too large", "",
        "SGD at 5× the article's rate overshoots on every step: it ends bouncing from one side of the valley "
        "to the other (y = ±0.1), never settling in the minimum. Lower its learning rate in the sidebar (typed beside the slider) and watch it "
        "converge; the “Learning-rate sensitivity” tab shows where each optimizer starts to overshoot.",
        {"start": "1,2", "opt": "sgd", "sgd.lr": "0.1", "sgd.steps": "100"},
        from_article=False),
    Scenario(
        "gradient-noise", "two_gaussians", "Noisy gradients", "",
        "Gaussian noise (σ = 1) is added to every gradient, as a minibatch would: the paths jitter and never "
        "quite settle. With this seed Momentum, which ends in the poorer minimum without noise, is knocked over "
        "to the global one. Change the seed under “Gradient noise”: where the paths end changes from draw to "
        "draw.",
        {"start": "1,2", "noise": "1"},
        from_article=False),
)}
