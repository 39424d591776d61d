"""``colossus-sim run``: one scenario simulated (its report, JSON, files and figures), or the
same scenario over N seeds (``--replicas``: each job's P10/P50/P90 band).

Cost: one simulation, ~1–3 s for the library's scenarios; ``--replicas N`` costs N of them on
a process pool; ``--plot`` imports matplotlib (~0.5 s) only when given.
"""

from __future__ import annotations

from pathlib import Path

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
from colossus_sim.cli.render import cluster_lines, out, print_json, run_table, wrote
from colossus_sim.cli.render_sweep import replicas_table
from colossus_sim.cli.sweeps import seed_options


def run(
    scenario: ScenarioArg = None,
    set_: RunOverrides = None,
    seed: Seed = None,
    json_out: RunJson = False,
    out_dir: RunOut = None,
    replicas: RunReplicas = None,
    plot: RunPlot = None,
) -> None:
    """Run a scenario: the jobs share the cluster over time, with failures and checkpoints."""
    if seed is not None:
        api.check_seed(seed, "--seed")
    if replicas is not None:
        if seed is not None:
            api.check_seed_run(seed, replicas, "--replicas")
        with seed_options():
            _run_replicas(scenario, set_ or [], seed, replicas, json_out, out_dir)
        return
    result = api.simulate(scenario, overrides=set_ or [], seed=seed)
    if out_dir is not None:
        for path in api.write_run(result, out_dir):
            wrote(path)
    if plot is not None:
        for path in _run_plots(result, plot):
            wrote(path)
    if json_out:
        print_json(result.summary())
        return
    out.print(run_table(result))
    for line in cluster_lines(result):
        out.print(line, markup=False)


def _run_plots(result: api.RunResult, prefix: Path) -> list[Path]:
    """PREFIX_allocation.png, PREFIX_power.png and PREFIX_gantt.png (a .png suffix dropped)."""
    stem = prefix.with_suffix("") if prefix.suffix == ".png" else prefix
    written = []
    for name, draw in (
        ("allocation", api.plot_allocation),
        ("power", api.plot_power),
        ("gantt", api.plot_gantt),
    ):
        target = stem.with_name(f"{stem.name}_{name}.png")
        draw(result, target)
        written.append(target)
    return written


def _run_replicas(
    scenario: str | None,
    overrides: list[str],
    seed: int | None,
    replicas: int,
    json_out: bool,
    out_dir: Path | None,
) -> None:
    """``run --replicas N``: the scenario over N seeds, each job's P10/P50/P90 band."""
    base = [*overrides, f"seed={seed}"] if seed is not None else overrides
    result = api.run_sweep(scenario, overrides=base, replicas=replicas, progress=True)
    summary = api.replica_summary(result.frame, name=result.scenario)
    if out_dir is not None:
        for path in api.write_replicas(summary, result.frame, out_dir):
            wrote(path)
    if json_out:
        print_json(summary.model_dump(mode="json"))
        return
    out.print(replicas_table(summary))
