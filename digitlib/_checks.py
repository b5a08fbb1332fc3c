"""Argument checks shared by digitlib's functions; each raises a ValueError that names the argument."""

from __future__ import annotations

import math
from numbers import Integral, Real


def checked_int(value, name: str, low: int = 1, high: int | None = None) -> int:
    """``value`` as an int, if it is an integer (not a bool) from ``low`` to ``high`` inclusive."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low or (high is not None and value > high):
        if high is not None:
            kind = f"an int in {low}..{high}"
        else:
            kind = "a positive int" if low == 1 else f"an int of at least {low}"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return int(value)


def checked_number(
    value, name: str, low: float = 0, high: float = math.inf, *, include_low: bool = True, include_high: bool = False
) -> float:
    """``value`` as a float, if it is a real number (not a bool) in the interval from ``low`` to
    ``high``, whose ends are included as ``include_low`` and ``include_high`` say."""
    inside = (
        not isinstance(value, bool)
        and isinstance(value, Real)
        and (low <= value if include_low else low < value)
        and (value <= high if include_high else value < high)
    )
    if not inside:
        interval = f"{'[' if include_low else '('}{low:g}, {high:g}{']' if include_high else ')'}"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")
    return float(value)
