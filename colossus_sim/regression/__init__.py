"""Regression checks: scenarios state expected figures (``expect:``); ``check`` runs them.

A scenario file may carry an ``expect:`` block: figure path → ``{value, rel_tol, abs_tol}``.
The paths (``jobs.grok5_10t.time_to_train_days``, ``cluster.productive_frac``) are checked
against the result schema when the scenario is loaded (``colossus_sim.figures``, re-exported
here), so a typo is bad input (exit 2, file:line, "did you mean"), never a silent pass. Only
numbers can be expected.

``check`` loads every scenario first (all bad input is reported before anything runs), runs
the ones with expectations (in a process pool where there is more than one; results keep the
input order), and compares. The engine is deterministic for a seed, so a figure moves only
when the model, the data or the scenario does; the tolerances say how much movement is
noise-like and accepted. ``update`` rewrites moved values in place, token by token.

Modules: ``outcome`` (what a check found), ``run`` (finding, running and comparing),
``update`` (``--update``'s in-place rewrite), ``report`` (drift table, summary, JUnit XML).
Importing the package imports all four (rich, ruamel.yaml and a process pool's machinery), as
the single module did.
"""

from colossus_sim.figures import (
    DICT_KEYS,
    ROOTS,
    Figure,
    FigurePathError,
    expect_issues,
    figure_paths,
    figure_value,
    parse_figure,
)
from colossus_sim.regression.outcome import CheckReport, FigureCheck, Move, ScenarioRun
from colossus_sim.regression.report import drift_table, junit_xml, summary_line, write_junit
from colossus_sim.regression.run import check, default_workers, scenario_files, scenarios_folder
from colossus_sim.regression.update import (
    SIGNIFICANT_DIGITS,
    rewrite_values,
    update_expectations,
)

__all__ = [
    "DICT_KEYS",
    "ROOTS",
    "SIGNIFICANT_DIGITS",
    "CheckReport",
    "Figure",
    "FigureCheck",
    "FigurePathError",
    "Move",
    "ScenarioRun",
    "check",
    "default_workers",
    "drift_table",
    "expect_issues",
    "figure_paths",
    "figure_value",
    "junit_xml",
    "parse_figure",
    "rewrite_values",
    "scenario_files",
    "scenarios_folder",
    "summary_line",
    "update_expectations",
    "write_junit",
]
