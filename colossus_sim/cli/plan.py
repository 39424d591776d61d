"""``colossus-sim plan``, ``step`` and ``fabric``: what the jobs and the fabric look like
before any run — the seven jobs' plans, one job's step-time breakdown, the scale-out fabric.

Cost: ``plan`` searches seven jobs' plans (~0.5 s), ``step`` one; ``fabric`` builds the
fabric graph with networkx (~0.4 s for Colossus 2's thousands of switches).
"""

from __future__ import annotations

from colossus_sim import api
from colossus_sim.cli.options import (
    FabricOverrides,
    Gpu,
    GraphmlOut,
    PlanText,
    Racks,
    ScenarioArg,
    StepJson,
    TableJson,
    WorkloadArg,
)
from colossus_sim.cli.render import jobs_table, print_fabric, print_json, print_step, wrote
from colossus_sim.cli.tables import print_table, terminal_width


def plan(json_out: TableJson = False) -> None:
    """Plan each of the seven jobs on its default racks: step time, MFU, memory, days to train
    its token budget without failures."""
    steps = api.default_jobs()
    if json_out:
        print_json({"jobs": [s.model_dump(mode="json") for s in steps]})
        return
    print_table(jobs_table(steps, terminal_width()))


def step(
    workload: WorkloadArg,
    racks: Racks = None,
    gpu: Gpu = None,
    plan: PlanText = "auto",
    json_out: StepJson = False,
) -> None:
    """One job's step-time breakdown, its parallel plan and its HBM use."""
    result = api.job_step(workload, racks=racks, gpu=gpu, plan=plan)
    if json_out:
        payload = result.step.model_dump(mode="json")
        payload.update(
            job=result.job,
            gpu=result.gpu,
            racks=result.racks,
            planned_days=result.planned_days,
            total_params=result.total_params,
            active_params=result.active_params,
        )
        print_json(payload)
        return
    print_step(result)


def fabric(
    scenario: ScenarioArg = None,
    set_: FabricOverrides = None,
    graphml: GraphmlOut = None,
    json_out: TableJson = False,
) -> None:
    """The scale-out fabric: switches per tier, capacities, oversubscription, bisection."""
    api.check_outputs(api.Output("--graphml", graphml))
    summary, graph = api.fabric(scenario, overrides=set_ or [])
    if graphml is not None:
        with api.reported("--graphml", graphml):
            api.write_graphml(graph, graphml)
        wrote(graphml)
    if json_out:
        print_json(summary.model_dump(mode="json"))
        return
    print_fabric(summary)
