"""Checking arguments in the manner of torch.optim: a ValueError that names the argument and
the range it accepts. Used by the optimizers and the test functions alike."""

import math
import numbers


def check_range(owner: str, name: str, value, low: float, high: float = math.inf,
                low_open: bool = False, high_open: bool = True) -> None:
    """Raise ValueError naming `name` and the accepted range unless value is a finite real
    number with low <(=) value <(=) high."""
    accepted = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{owner}: {name} must be a number in {accepted}, got {value!r}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if not math.isfinite(value) or too_low or too_high:
        raise ValueError(f"{owner}: invalid {name} {value!r}; accepted range {accepted}")
