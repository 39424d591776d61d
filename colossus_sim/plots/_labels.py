"""Axis labels with units for a sweep's result columns and grid paths, and tick text for
swept values.

Pure string work from fixed tables; no matplotlib.
"""

from __future__ import annotations

from typing import Any

_COLUMN_LABELS = {
    "time_to_train_days": "time to train (days)",
    "goodput": "goodput (%)",
    "mfu": "MFU (%)",
    "step_s": "step time (s)",
    "step_s_at_min_clock": "step time at the lowest clock (s)",
    "tokens": "tokens trained (tokens)",
    "tokens_per_day": "tokens per day (tokens/day)",
    "failures": "failures (count)",
    "restarts": "restarts (count)",
    "checkpoints": "checkpoints (count)",
    "replans": "re-plans (count)",
    "racks": "racks (racks)",
    "gpus": "GPUs (GPUs)",
    "submit_days": "day the job is submitted (days)",
    "start_days": "start (day)",
    "wait_days": "days queued before the start (days)",
    "finish_days": "day the job finishes (days)",
    "energy_mwh": "facility energy (MWh)",
    "mean_power_mw": "mean facility power (MW)",
    "peak_power_mw": "peak facility power (MW)",
    "mwh_per_trillion_tokens": "energy per trillion tokens (MWh/T tokens)",
    "throttled_days": "days below full clock (days)",
    "min_clock": "lowest clock (% of full)",
    "power_swing_mw": "compute/communication swing (MW)",
    "checkpoint_interval_min": "checkpoint interval (min)",
}
_UNIT_SUFFIXES = (
    ("_days", "days"),
    ("_hours", "h"),
    ("_h", "h"),
    ("_minutes", "min"),
    ("_min", "min"),
    ("_s", "s"),
    ("_mwh", "MWh"),
    ("_mw", "MW"),
    ("_gb", "GB"),
    ("_tb_per_s", "TB/s"),
    ("_gb_per_s", "GB/s"),
    ("_frac", "%"),
    ("_pct", "%"),
)
_PARAMETER_LABELS = {
    "racks": "racks",
    "rate_multiplier": "failure-rate multiplier",
    "restart_minutes": "restart time",
    "facility_cap_mw": "facility power cap",
    "spare_racks": "spare racks",
    "priority": "priority",
    "horizon_days": "horizon",
    "submit_days": "submit day",
    "seed": "seed",
}
_PARAMETER_UNITS = {
    "racks": "racks",
    "rate_multiplier": "×",
    "priority": "rank",
    "seed": "seed",
}


def _column_label(column: str) -> str:
    """An axis label with its unit for a result column or a grid path."""
    if column in _COLUMN_LABELS:
        return _COLUMN_LABELS[column]
    parts = column.split(".")
    leaf = parts[-1]
    if leaf in _PARAMETER_LABELS:
        name = _PARAMETER_LABELS[leaf]
        where = " of ".join(p for p in parts[1:-1] if p) if len(parts) > 2 else ""
        if where:
            name = f"{name} of {where}"
        unit = _PARAMETER_UNITS.get(leaf)
        if unit is None:
            unit = next((u for suffix, u in _UNIT_SUFFIXES if leaf.endswith(suffix)), None)
        return f"{name} ({unit})" if unit else name
    for suffix, unit in _UNIT_SUFFIXES:
        if leaf.endswith(suffix):
            return f"{column[: len(column) - len(suffix)].replace('_', ' ')} ({unit})"
    return column


def _value_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:,.0f}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:,g}"
    return str(value)
