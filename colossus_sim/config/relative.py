"""Relative values: ``+20%`` or ``-10%`` of the value a path already has.

One grammar for the two places a what-if is written: a ``--set PATH=+20%`` (``scenario.py``)
and a child scenario's value over its parent's (``racks: +20%`` under ``extends:``,
``config/extends.py``). A relative value is a sign, a finite number and ``%``; it scales a
number (not a bool), and an integer stays an integer (rounded). Cost: string work only.
"""

from __future__ import annotations

import math
from typing import Any, TypeGuard


def is_relative_text(text: Any) -> bool:
    """Whether ``text`` is written as a relative value (well formed or not): ``+…%``/``-…%``."""
    return isinstance(text, str) and text.strip().endswith("%") and text.strip()[:1] in "+-"


def relative_pct(text: str) -> float:
    """The percent of a relative value (``"+20%"`` → 20.0); ValueError if it is not one."""
    raw = text.strip()
    if not is_relative_text(raw):
        raise ValueError(f"not a relative value: {text!r}")
    pct = float(raw[:-1])  # ValueError for "+x%"
    if not math.isfinite(pct):
        raise ValueError(f"not a finite change: {text!r}")
    return pct


def scalable(current: Any) -> TypeGuard[int | float]:
    """A relative change needs a number to change (a bool is not one)."""
    return isinstance(current, int | float) and not isinstance(current, bool)


def scaled(current: int | float, pct: float) -> int | float:
    """``current`` changed by ``pct`` percent: an int stays an int (rounded); OverflowError if
    the result is not finite."""
    value = current * (1.0 + pct / 100.0)
    if not math.isfinite(value):
        raise OverflowError(f"{current!r} {pct:+g}% is not finite")
    return round(value) if isinstance(current, int) else value
