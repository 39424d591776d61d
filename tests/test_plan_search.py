"""The planner's pruned search: its bound never exceeds a step, and it returns the plan an
exhaustive search over every candidate returns (same plan, same tie order)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_step_time import _setup

from colossus_sim.config.load import job_names, load_job
from colossus_sim.config.workload import ParallelPlan, PlanFields, Recompute
from colossus_sim.errors import ScenarioError
from colossus_sim.perf import planner
from colossus_sim.perf.compute import microbatch_compute
from colossus_sim.perf.memory import memory_per_gpu
from colossus_sim.perf.plan_grid import RunSetup
from colossus_sim.perf.planner import candidate_grid, candidate_layouts, plan_job
from colossus_sim.perf.step_time import step_arrays, step_breakdown


def _exhaustive(setup: RunSetup, fixed: PlanFields, require_fit: bool = True) -> ParallelPlan:
    """The search without a bound: every candidate's memory, every fitting one's step, the
    first of the fastest."""
    grid = candidate_grid(setup, fixed)
    fits = memory_per_gpu(setup, grid).total <= setup.hbm_capacity_bytes
    if not require_fit:
        fits[:] = True
    feasible = grid.select(fits)
    return feasible.plan(int(np.argmin(step_arrays(setup, feasible).step_s)))


@pytest.mark.parametrize("job", job_names())
def test_a_layouts_bound_is_below_the_step_of_each_of_its_candidates(job: str) -> None:
    """Recompute only adds work and every part beyond compute is ≥ 0, so the bound of a
    layout under its cheapest recompute is at most each of its candidates' steps."""
    setup = _setup(job, load_job(job).default_racks)
    layouts = candidate_layouts(setup, PlanFields())
    grid = layouts.grid()
    bound = microbatch_compute(setup, layouts.layouts).step_lower_bound_s(layouts.layouts)
    per_candidate = np.repeat(bound, len(layouts.recomputes))
    step = step_arrays(setup, grid).step_s
    assert np.all(per_candidate <= step * (1.0 + 1e-12))
    # Not a vacuous bound: the compute is most of the fastest plan's step.
    assert per_candidate[np.argmin(step)] > 0.5 * step.min()


def test_the_layouts_multiply_out_to_the_candidate_grid_in_order() -> None:
    setup = _setup("grok5_10t", 1700)
    layouts = candidate_layouts(setup, PlanFields())
    grid = layouts.grid()
    rows = np.asarray([0, 5, len(grid) - 1], dtype=np.int64)
    picked = layouts.rows(rows)
    for name in ("tp", "pp", "dp", "ep", "cp", "vp", "mb", "rc"):
        assert getattr(picked, name).tolist() == getattr(grid, name)[rows].tolist()
    assert len(grid) == len(layouts.layouts) * 3


@pytest.mark.parametrize("job", job_names())
@pytest.mark.parametrize("share", [1.0, 0.5])
def test_the_pruned_search_finds_the_exhaustive_searchs_plan(job: str, share: float) -> None:
    spec = load_job(job)
    setup = _setup(job, max(1, int(spec.default_racks * share)))
    assert plan_job(setup).best.plan == _exhaustive(setup, PlanFields())


@pytest.mark.parametrize("job", job_names())
def test_the_searchs_breakdown_is_the_plans_own(job: str) -> None:
    """The search builds its answer's breakdown from the batch arrays that evaluated it: the
    same numbers, to the bit, as evaluating that plan alone (a grid of one)."""
    setup = _setup(job, load_job(job).default_racks)
    best = plan_job(setup).best
    assert best == step_breakdown(setup, best.plan)


@settings(max_examples=25, deadline=None)
@given(
    job=st.sampled_from(job_names()),
    share=st.sampled_from([1.0, 0.5]),
    keep=st.sets(st.sampled_from(sorted(PlanFields.model_fields))),
)
def test_fixing_fields_of_the_fastest_plan_finds_it_again(
    job: str, share: float, keep: set[str]
) -> None:
    """What ``sim/planning.Planner._known`` answers without a search: fixing any of the
    fastest plan's fields keeps it the fastest (first among equals) of the narrower grid,
    breakdown and all."""
    setup = _setup(job, max(1, int(load_job(job).default_racks * share)))
    best = plan_job(setup).best
    fixed = PlanFields(**{k: v for k, v in best.plan.model_dump().items() if k in keep})
    assert plan_job(setup, fixed).best == best


@pytest.mark.parametrize("first", [1, 7, 64])
def test_the_first_batchs_size_does_not_change_the_answer(
    first: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small first batches make the search run many partitioned batches, each pruned by the
    best plan so far: the answer is still the exhaustive search's."""
    monkeypatch.setattr(planner, "_FIRST_LAYOUTS", first)
    setup = _setup("grok44_1t_a", 400)
    assert len(candidate_layouts(setup, PlanFields()).layouts) > 64
    assert plan_job(setup).best.plan == _exhaustive(setup, PlanFields())


@settings(max_examples=30, deadline=None)
@given(
    job=st.sampled_from(job_names()),
    racks=st.integers(1, 4000),
    gpu=st.sampled_from(["gb200", "gb300"]),
    fixed=st.sampled_from(
        [PlanFields(), PlanFields(tp=4), PlanFields(recompute=Recompute.FULL), PlanFields(pp=8)]
    ),
)
def test_the_pruned_search_agrees_with_the_exhaustive_one_anywhere(
    job: str, racks: int, gpu: str, fixed: PlanFields
) -> None:
    setup = _setup(job, racks, gpu)
    try:
        got = plan_job(setup, fixed).best.plan
    except ScenarioError as exc:  # nothing fits, or no candidate: the full grid says the same
        grid = candidate_grid(setup, fixed)
        if len(grid):
            assert not np.any(memory_per_gpu(setup, grid).total <= setup.hbm_capacity_bytes)
        assert "does not fit" in str(exc) or "no parallel plan" in str(exc)
        return
    assert got == _exhaustive(setup, fixed)


def test_ranking_by_speed_alone_is_the_exhaustive_ranking() -> None:
    """``require_fit=False`` (a published run's known plan) ranks every candidate."""
    setup = _setup("grok5_10t", 40)
    got = plan_job(setup, require_fit=False).best.plan
    assert got == _exhaustive(setup, PlanFields(), require_fit=False)


def test_the_fitting_count_is_the_whole_grids() -> None:
    setup = _setup("grok44_1t_a", 400)
    search = plan_job(setup)
    grid = candidate_grid(setup, PlanFields())
    fits = memory_per_gpu(setup, grid).total <= setup.hbm_capacity_bytes
    assert search.candidates == len(grid)
    assert search.fitting == int(fits.sum()) > 0


@pytest.mark.parametrize("job", ["grok5_10t", "grok44_1t_a", "imagine_v2"])
def test_a_kept_layout_replanned_one_rack_smaller_is_the_exhaustive_choice(job: str) -> None:
    """What the simulation asks after a rack is lost: the same layout (every field but dp)
    on one rack fewer, a grid of a few candidates searched without the bound."""
    racks = load_job(job).default_racks
    kept = plan_job(_setup(job, racks)).best.plan.model_dump(exclude={"dp"})
    fixed = PlanFields(**kept)
    smaller = _setup(job, racks - 1)
    assert len(candidate_grid(smaller, fixed)) >= 1
    assert plan_job(smaller, fixed).best.plan == _exhaustive(smaller, fixed)
