"""The sweep figure: a response curve of one result column against one swept grid column, a
line per hue value (default: per job), median with a P10–P90 band over seeds or replicas, a
line style per value of any other grid path that varies (axis labels: ``_labels``).

Cost: O(hues × styles × x values) pandas filters of the sweep frame (one row per point × seed
× job); fine for the hundreds to thousands of rows a sweep holds.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from colossus_sim.plots._labels import _column_label, _value_text
from colossus_sim.plots._style import (
    LABEL_SIZE,
    SWEEP_FIGSIZE,
    TICK_SIZE,
    _done,
    _empty_note,
    _figure,
    _style,
    _thousands,
    _titled,
    job_colors,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.typing import LineStyleType

_FRACTION_COLUMNS = frozenset({"goodput", "mfu", "allocated_frac", "productive_frac", "min_clock"})
"""Sweep columns holding a fraction: plotted ×100 in %."""
_LINESTYLES: tuple[LineStyleType, ...] = ("-", "--", ":", "-.")
_MARKERS = ("o", "s", "^", "D", "v", "P")


@dataclass(frozen=True)
class _Curves:
    """What the curves of one sweep figure are drawn from."""

    data: pd.DataFrame
    """The rows with an ``x`` value."""
    x: str
    y: str
    hue: str
    x_order: list[Hashable]
    positions: dict[Hashable, float]
    """Where each ``x`` value sits on the axis (its value, or its index as a category)."""
    others: list[str]
    """Other grid paths that vary: a line style per combination of their values."""
    style_keys: list[tuple[Any, ...]]
    palette: dict[str, str]
    scale: float


def plot_sweep(
    frame: pd.DataFrame,
    x: str,
    y: str = "time_to_train_days",
    path: str | Path | None = None,
    hue: str = "job",
) -> Figure:
    """A sweep's response curve: ``y`` against the swept grid column ``x``, one line per
    ``hue`` value. Several rows per (hue, x) — seeds or replicas — give the median line and a
    P10–P90 band. ``hue="job"`` is the ``job`` column every frame has (``frames.py``). Any
    other grid column (a dotted path) that varies gets its own line style. ``x`` values may be
    numbers (a numeric axis) or strings such as ``"+20%"`` (categories, in the order they
    appear)."""
    import pandas as pd

    hue = _sweep_hue(frame, x, y, hue)
    fig = _figure(SWEEP_FIGSIZE)
    ax = fig.subplots()
    _style(ax)
    data = frame[frame[x].notna()]
    x_order: list[Hashable] = list(pd.unique(data[x]))
    numeric = _numeric(x_order)
    _sweep_labels(fig, ax, x, y, x_order, numeric, frame.attrs)
    if data.empty or not x_order:
        _empty_note(ax, "no sweep points")
        return _done(fig, path)

    positions = _x_axis(ax, x_order, numeric, frame.attrs.get("grid_given", {}).get(x, {}))
    others = [
        str(c)
        for c in frame.columns
        if "." in str(c) and c not in (x, hue) and data[c].nunique(dropna=False) > 1
    ]
    hues = list(pd.unique(data.loc[data[y].notna(), hue]))  # those with a point to draw
    curves = _Curves(
        data=data,
        x=x,
        y=y,
        hue=hue,
        x_order=x_order,
        positions=positions,
        others=others,
        style_keys=_style_keys(data, others),
        palette=job_colors([str(h) for h in hues]),
        scale=100.0 if y in _FRACTION_COLUMNS else 1.0,
    )
    spread, counts = _draw_curves(ax, curves, hues)
    low, high = (min(counts), max(counts)) if counts else (1, 1)
    runs = f"{low}" if low == high else f"{low}–{high}"
    _sweep_legends(fig, curves, hues, f"P10–P90 of {runs} runs" if spread else None)
    subtitle = f"median of {runs} runs per point" if high > 1 else "one run per point"
    ax.set_title(subtitle, fontsize=LABEL_SIZE, loc="left")
    return _done(fig, path)


def _style_keys(data: pd.DataFrame, others: list[str]) -> list[tuple[Any, ...]]:
    """Each combination of the other varying grid paths' values, in order of appearance."""
    if not others:
        return [()]
    return list(dict.fromkeys(data[others].itertuples(index=False, name=None)))


def _sweep_hue(frame: pd.DataFrame, x: str, y: str, hue: str) -> str:
    """The hue column; every column named must exist."""
    missing = [c for c in (x, y, hue) if c not in frame.columns]
    if missing:
        raise ValueError(
            "plot_sweep: no column "
            + ", ".join(repr(c) for c in missing)
            + "; the frame has "
            + ", ".join(repr(str(c)) for c in frame.columns)
        )
    return hue


def _sweep_labels(
    fig: Figure,
    ax: Axes,
    x: str,
    y: str,
    x_order: list[Hashable],
    numeric: list[float] | None,
    made_by: dict[Hashable, Any],
) -> None:
    """Axis labels with units and the figure's title (with the scenario and the overrides
    the points share, when the frame says)."""
    xlabel, ylabel = _column_label(x), _column_label(y)
    if numeric is None and x_order and all(str(v).strip().endswith("%") for v in x_order):
        xlabel = f"{xlabel.split(' (')[0]} (% change from the scenario's value)"
    ax.set_xlabel(xlabel, fontsize=LABEL_SIZE)
    ax.set_ylabel(ylabel, fontsize=LABEL_SIZE)
    title = f"{ylabel.split(' (')[0].capitalize()} vs {xlabel.split(' (')[0]}"
    scenario = made_by.get("scenario")
    _titled(fig, f"{title} — {scenario}" if scenario else title, made_by.get("version"))


def _x_axis(
    ax: Axes, x_order: list[Hashable], numeric: list[float] | None, given: dict[str, str]
) -> dict[Hashable, float]:
    """Ticks of the ``x`` axis (categories in order, or whole numbers; a value given as a
    relative change, ``given``, is ticked ``4,080`` over ``(+20%)``); each value's position."""
    positions = dict(
        zip(x_order, numeric if numeric is not None else range(len(x_order)), strict=True)
    )
    if numeric is None:
        ax.set_xticks(range(len(x_order)), [_value_text(v) for v in x_order])
        ax.set_xlim(-0.3, len(x_order) - 0.7)
    elif given and len(numeric) <= 12:
        ticks = sorted(zip(numeric, x_order, strict=True), key=lambda tick: tick[0])
        labels = []
        for _, value in ticks:
            plain = value.item() if hasattr(value, "item") else value  # not a numpy scalar
            key = repr(plain)  # as the sweep's texts (``sweep_grid.value_text``)
            labels.append(_value_text(plain) + (f"\n({given[key]})" if key in given else ""))
        ax.set_xticks([position for position, _ in ticks], labels)
    elif all(v.is_integer() for v in numeric):
        ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
        if len(numeric) <= 12:
            ax.set_xticks(sorted(numeric))
    return positions


def _draw_curves(ax: Axes, curves: _Curves, hues: list[Any]) -> tuple[bool, list[int]]:
    """A median line (and band, where runs differ) per hue value and line style; returns
    whether any band was drawn and the number of runs behind each point."""
    spread = False
    counts: list[int] = []
    data = curves.data
    for h in hues:
        for k, key in enumerate(curves.style_keys):
            mask = _equals(data[curves.hue], h)
            for column, value in zip(curves.others, key, strict=True):
                mask &= _equals(data[column], value)
            xs, mid, lo, hi = _points(data[mask], curves, counts)
            if not xs:
                continue
            spread |= _draw_curve(ax, xs, mid, lo, hi, curves.palette[str(h)], k)
    return spread, counts


def _points(
    sub: pd.DataFrame, curves: _Curves, counts: list[int]
) -> tuple[list[float], list[float], list[float], list[float]]:
    """(x, median, P10, P90) of ``y`` at each ``x`` value ``sub`` has; appends the number of
    runs behind each point to ``counts``."""
    import pandas as pd

    xs: list[float] = []
    mid: list[float] = []
    lo: list[float] = []
    hi: list[float] = []
    for value in curves.x_order:
        ys = pd.to_numeric(sub.loc[sub[curves.x] == value, curves.y], errors="coerce").dropna()
        if ys.empty:
            continue
        arr = ys.to_numpy(dtype=np.float64) * curves.scale
        xs.append(float(curves.positions[value]))
        mid.append(float(np.median(arr)))
        lo.append(float(np.quantile(arr, 0.1)))
        hi.append(float(np.quantile(arr, 0.9)))
        counts.append(arr.size)
    return xs, mid, lo, hi


def _draw_curve(
    ax: Axes,
    xs: list[float],
    mid: list[float],
    lo: list[float],
    hi: list[float],
    color: str,
    k: int,
) -> bool:
    """One median line in style ``k`` and its P10–P90 band; returns whether a band shows."""
    order = np.argsort(xs, kind="stable")
    xa = np.asarray(xs)[order]
    ax.plot(
        xa,
        np.asarray(mid)[order],
        color=color,
        linestyle=_LINESTYLES[k % len(_LINESTYLES)],
        marker=_MARKERS[k % len(_MARKERS)],
        markersize=5,
        linewidth=1.8,
    )
    if not any(b > a for a, b in zip(lo, hi, strict=True)):
        return False
    ax.fill_between(
        xa,
        np.asarray(lo)[order],
        np.asarray(hi)[order],
        color=color,
        alpha=0.18,
        linewidth=0.0,
    )
    return True


def _sweep_legends(fig: Figure, curves: _Curves, hues: list[Any], band: str | None) -> None:
    """The hue legend at the right; the line styles and the band (``band``: its label, if
    drawn) below."""
    handles: list[Any] = [
        Line2D([], [], color=curves.palette[str(h)], linewidth=2.2, label=_value_text(h))
        for h in hues
    ]
    fig.legend(
        handles=handles,
        loc="outside right upper",
        title="job" if curves.hue == "job" else _column_label(curves.hue),
        fontsize=TICK_SIZE,
        title_fontsize=LABEL_SIZE,
        frameon=False,
    )
    extra: list[Any] = []
    for k, key in enumerate(curves.style_keys if curves.others else []):
        text = ", ".join(
            f"{_column_label(c).split(' (')[0]} = {_value_text(v)}"
            for c, v in zip(curves.others, key, strict=True)
        )
        extra.append(
            Line2D(
                [],
                [],
                color="#444444",
                linestyle=_LINESTYLES[k % len(_LINESTYLES)],
                marker=_MARKERS[k % len(_MARKERS)],
                label=text,
            )
        )
    if band is not None:
        extra.append(Patch(facecolor="#444444", alpha=0.18, label=band))
    if extra:
        fig.legend(
            handles=extra,
            loc="outside lower center",
            ncols=min(len(extra), 3),
            fontsize=TICK_SIZE,
            frameon=False,
        )


def _numeric(values: Sequence[Any]) -> list[float] | None:
    """The values as floats if every one is a real number (or a string of one), else None."""
    out = []
    for v in values:
        if isinstance(v, bool):
            return None
        try:
            f = float(v)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(f):
            return None
        out.append(f)
    return out


def _equals(column: pd.Series[Any], value: Any) -> pd.Series[bool]:
    """``column == value``, with a missing value equal to a missing value."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return column.isna()
    equal: pd.Series[bool] = column == value
    return equal
