"""The shared checkpoint storage: weighted max-min fair shares of one pool, what a write is
served at, and jobs of a run sharing it (a job alone has all of it; two that never rest halve
it; a bursty writer beside one that never rests gets its weighted part during its bursts)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from small_cluster import SMALL_CLUSTER

from colossus_sim import api
from colossus_sim.perf.checkpoint_storage import burst_bytes_per_s, fair_shares

jobs_st = st.lists(
    st.tuples(
        st.floats(min_value=1.0, max_value=1e5),  # weight (GPUs)
        st.one_of(st.just(math.inf), st.floats(min_value=0.0, max_value=1e13)),  # demand
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(capacity=st.floats(min_value=1e9, max_value=1e14), jobs=jobs_st)
def test_fair_shares_are_max_min_fair(capacity: float, jobs: list[tuple[float, float]]) -> None:
    weights = [w for w, _ in jobs]
    demands = [d for _, d in jobs]
    shares = fair_shares(capacity, weights, demands)
    assert math.fsum(shares) <= capacity * (1 + 1e-9)
    for share, demand in zip(shares, demands, strict=True):
        assert 0.0 <= share <= demand * (1 + 1e-9)
    short = [i for i, (s, d) in enumerate(zip(shares, demands, strict=True)) if s < d * (1 - 1e-9)]
    if not short:
        return  # everyone got what they asked for
    # Work-conserving: someone short means the pool is used up ...
    assert math.fsum(shares) == pytest.approx(capacity, rel=1e-9)
    # ... and nobody has more per weight than a job that is short of its demand.
    level = max(shares[i] / weights[i] for i in short)
    for i, share in enumerate(shares):
        assert share / weights[i] <= level * (1 + 1e-9)


def test_jobs_that_all_want_more_share_by_their_gpus() -> None:
    shares = fair_shares(10e12, [8_192, 25_600, 217_600], [math.inf] * 3)
    total = 8_192 + 25_600 + 217_600
    assert shares == pytest.approx([10e12 * g / total for g in (8_192, 25_600, 217_600)])


def test_a_burst_meets_the_others_load() -> None:
    """Processor sharing's mean field: three bursty writers each using 20% of a pool serve a
    burst at the 60% the other two leave; beside a writer that never rests (equal weight), a
    bursty one's burst gets half of what the resting ones leave."""
    cap = 1e12
    bursty = [0.2e12] * 3
    shares = fair_shares(cap, [1.0] * 3, bursty)
    assert shares == pytest.approx(bursty)
    assert burst_bytes_per_s(cap, [1.0] * 3, bursty, shares, 0) == pytest.approx(0.6e12)
    mixed = [0.2e12, math.inf]
    shares = fair_shares(cap, [1.0, 1.0], mixed)
    assert shares == pytest.approx([0.2e12, 0.8e12])
    assert burst_bytes_per_s(cap, [1.0, 1.0], mixed, shares, 0) == pytest.approx(0.5e12)
    assert burst_bytes_per_s(cap, [1.0, 1.0], mixed, shares, 1) == pytest.approx(0.8e12)


def sharing(tmp_path: Path, jobs: str, storage_tb_per_s: float = 2.0) -> Path:
    """``jobs`` on the small cluster's 40 GB300 racks, no failures, asynchronous checkpoints
    every 12 s (where they can be written that fast) to a 2 TB/s storage."""
    cluster = tmp_path / "small.yaml"
    cluster.write_text(SMALL_CLUSTER)
    path = tmp_path / "sharing.yaml"
    path.write_text(
        f"""\
name: sharing
title: jobs sharing the checkpoint storage
cluster: {cluster}
horizon_days: 1
seed: 5
jobs:
{jobs}
scheduler: {{policy: pack, spare_racks: {{gb200: 0, gb300: 0}}}}
failures: {{enabled: false}}
checkpoint: {{bytes_per_param: 14, host_copy_gb_per_s: 200, mode: async,
  storage_tb_per_s: {storage_tb_per_s}, max_interval_minutes: 60, restart_minutes: 5,
  interval_minutes: 0.2}}
provenance:
  cluster: {{assumption: test}}
  horizon_days: {{assumption: test}}
  seed: {{assumption: test}}
  jobs: {{assumption: test}}
  scheduler: {{assumption: test}}
  failures: {{assumption: test}}
  checkpoint: {{assumption: test}}
"""
    )
    return path


LARGE = "  a: {workload: grok45_15t_a, racks: 20}"
"""1.47T parameters × 14 B: a 20.6 TB checkpoint, 10.3 s at 2 TB/s."""


def test_jobs_share_the_storage(tmp_path: Path) -> None:
    """Alone, the job writes its 20.6 TB at all 2 TB/s, within its 12 s interval; beside a copy
    of itself each wants 1.7 TB/s of the 2, so each gets 1 TB/s, writes for 21 s and starts
    the next checkpoint as soon as one is durable: the storage never rests."""
    alone = api.simulate(sharing(tmp_path, LARGE))
    pair = api.simulate(sharing(tmp_path, LARGE + "\n" + LARGE.replace("a:", "b:")))
    (solo,) = alone.jobs
    state_tb = solo.checkpoint_tb_written / solo.checkpoints
    assert state_tb == pytest.approx(1.47e12 * 14 / 1e12, rel=0.01)  # its 1.47T parameters
    assert solo.checkpoint_interval_min == pytest.approx(0.2)
    assert solo.storage_write_frac == pytest.approx(
        state_tb / 2.0 / (12 + solo.checkpoint_blocking_s), rel=1e-9
    )
    for job in pair.jobs:
        assert job.checkpoint_interval_min * 60 == pytest.approx(state_tb / 1.0, rel=1e-9)
        assert job.storage_write_frac == pytest.approx(1.0, abs=0.01)
    assert alone.cluster.storage_busy_frac == pytest.approx(solo.storage_write_frac, rel=0.01)
    assert pair.cluster.storage_busy_frac == pytest.approx(1.0, abs=0.01)
    assert pair.cluster.storage_peak_tb_per_s == pytest.approx(2.0, rel=1e-9)


def test_a_bursty_writer_beside_one_that_never_rests(tmp_path: Path) -> None:
    """At 1.72 TB/s the large job's 20.6 TB every 12 s is just more than the storage has left
    beside a small job (Imagine V2, 0.42 TB every 12 s): the small one gets what it asks, the
    large one all the rest, writing without pause. During the small job's writes the two
    share the pool by their GPUs: a third of it to the small one's 10 racks."""
    small = "  b: {workload: imagine_v2, racks: 10, gpu: gb300}"
    result = api.simulate(sharing(tmp_path, LARGE + "\n" + small, storage_tb_per_s=1.72))
    a, b = result.jobs
    a_tb = a.checkpoint_tb_written / a.checkpoints
    b_tb = b.checkpoint_tb_written / b.checkpoints
    b_demand = b_tb / 12  # TB/s
    assert a.checkpoint_interval_min * 60 == pytest.approx(a_tb / (1.72 - b_demand), rel=1e-9)
    assert a.storage_write_frac == pytest.approx(1.0, abs=0.01)
    burst = 1.72 * 10 / (10 + 20)  # b's GPUs beside a's, 64 a rack each
    assert b.checkpoint_interval_min == pytest.approx(0.2)
    assert b.storage_write_frac == pytest.approx(
        b_tb / burst / (12 + b.checkpoint_blocking_s), rel=1e-9
    )


@settings(max_examples=150, deadline=None)
@given(
    capacity=st.floats(min_value=1e9, max_value=1e14),
    jobs=jobs_st.filter(lambda js: all(d != math.inf for _, d in js)),
    data=st.data(),
)
def test_one_division_serves_every_writer_as_its_own_would(
    capacity: float, jobs: list[tuple[float, float]], data: st.DataObject
) -> None:
    """The re-division after a start asks every running writer; one division of the pool
    answers them all, bit for bit what asking for each writer beside the others gives, in
    whatever order the writers came (the shares are a function of the set)."""
    from colossus_sim.sim.checkpoint_storage import SharedStorage

    order = data.draw(st.permutations(range(len(jobs))))
    storage = SharedStorage(capacity)
    members = {index: jobs[index] for index in order}
    divided = storage._divide(members)
    for index, (weight, demand) in enumerate(jobs):
        others = tuple(item for item in members.items() if item[0] != index)
        assert divided[index] == storage._serve(others, weight, demand), index
    reordered = fair_shares(capacity, [jobs[i][0] for i in order], [jobs[i][1] for i in order])
    assert reordered == [fair_shares(capacity, *zip(*jobs, strict=True))[i] for i in order]
