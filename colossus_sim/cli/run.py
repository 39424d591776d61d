"""``colossus-sim run``: one scenario simulated (its report, JSON, files and figures), or the
same scenario over N seeds (``--replicas``: each job's P10/P50/P90 band).

The seed and every output path are checked before anything runs (exit 2 naming the option);
``--out`` is published as a unit (``api.write_run``); in a terminal the run's progress shows on
stderr while it simulates (``cli/progress.py``). Cost: one simulation, ~1–5 s for the
library's scenarios; ``--replicas N`` costs N of them on a process pool; ``--plot`` imports
matplotlib (~0.5 s) only when given.
"""

from __future__ import annotations

from pathlib import Path

import typer

from colossus_sim import api
from colossus_sim.cli.options import (
    RunJson,
    RunOut,
    RunOverrides,
    RunPlot,
    RunReplicas,
    ScenarioArg,
    Seed,
)
from colossus_sim.cli.progress import run_progress
from colossus_sim.cli.render import cluster_lines, print_json, run_table, stopped, wrote
from colossus_sim.cli.render_sweep import replicas_table
from colossus_sim.cli.sweeps import seed_options
from colossus_sim.cli.tables import err, out, print_table, terminal_width


def run(
    scenario: ScenarioArg = None,
    set_: RunOverrides = None,
    seed: Seed = None,
    json_out: RunJson = False,
    out_dir: RunOut = None,
    replicas: RunReplicas = None,
    plot: RunPlot = None,
) -> None:
    """Run a scenario: the jobs share the cluster over time, with failures and checkpoints.
    In a terminal, how far it has got shows on stderr while it runs."""
    _check_options(seed, out_dir, replicas, plot)
    if replicas is not None:
        with seed_options():
            _run_replicas(scenario, set_ or [], seed, replicas, json_out, out_dir)
        return
    with run_progress(err) as report:
        result = api.simulate(scenario, overrides=set_ or [], seed=seed, progress=report)
    if out_dir is not None:
        with api.reported("--out", out_dir):
            written = api.write_run(result, out_dir)
        for path in written:
            wrote(path)
    if plot is not None:
        _run_plots(result, plot)
    if json_out:
        print_json(result.summary())
        return
    print_table(run_table(result, terminal_width()))
    for line in cluster_lines(result):
        out.print(line, markup=False)


def _check_options(
    seed: int | None, out_dir: Path | None, replicas: int | None, plot: Path | None
) -> None:
    """Every option that could only fail after the run, checked before it: the seed, and each
    output path (exit 2 naming the option)."""
    if seed is not None:
        api.check_seed(seed, "--seed")
        if replicas is not None:
            api.check_seed_run(seed, replicas, "--replicas")
    if replicas is not None and plot is not None:
        raise api.ScenarioError.at("--plot", "draws one run's figures: not with --replicas")
    api.check_outputs(
        api.Output("--out", out_dir, "result"),
        api.Output("--plot", plot, "prefix"),
        *(api.Output("--plot", target) for target in _plot_targets(plot)),
    )


def _plot_targets(prefix: Path | None) -> list[Path]:
    """PREFIX_allocation.png, PREFIX_power.png, PREFIX_gantt.png and PREFIX_grid.png (a .png
    suffix dropped)."""
    if prefix is None:
        return []
    stem = prefix.with_suffix("") if prefix.suffix == ".png" else prefix
    return [stem.with_name(f"{stem.name}_{name}.png") for name in api.RUN_PLOTS]


def _run_plots(result: api.RunResult, prefix: Path) -> None:
    # in api.RUN_PLOTS' order
    draws = (api.plot_allocation, api.plot_power, api.plot_gantt, api.plot_grid)
    for target, draw in zip(_plot_targets(prefix), draws, strict=True):
        with api.reported("--plot", target):
            draw(result, target)
        wrote(target)


def _run_replicas(
    scenario: str | None,
    overrides: list[str],
    seed: int | None,
    replicas: int,
    json_out: bool,
    out_dir: Path | None,
) -> None:
    """``run --replicas N``: the scenario over N seeds, each job's P10/P50/P90 band. Ctrl-C,
    SIGTERM or a dead worker process says so and exits 130 or 1 (nothing is written)."""
    from concurrent.futures.process import BrokenProcessPool

    base = [*overrides, f"seed={seed}"] if seed is not None else overrides
    try:
        with api.terminate_as_interrupt():
            result = api.run_sweep(scenario, overrides=base, replicas=replicas, progress=True)
    except (KeyboardInterrupt, BrokenProcessPool) as exc:
        what, code = stopped(exc)
        err.print(f"{what}: the replicas stopped; nothing written", markup=False, soft_wrap=True)
        raise typer.Exit(code) from None
    summary = api.replica_summary(result.frame, name=result.scenario)
    if out_dir is not None:
        with api.reported("--out", out_dir):
            written = api.write_replicas(summary, result.frame, out_dir)
        for path in written:
            wrote(path)
    if json_out:
        print_json(summary.model_dump(mode="json"))
        return
    print_table(replicas_table(summary))
