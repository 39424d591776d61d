"""Overlap that costs something: the SMs overlapped collectives hold, the NVLink they share."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from colossus_sim.config.load import load_validation_cases
from colossus_sim.perf.fidelity import case_breakdown, case_setup
from colossus_sim.perf.overlap import (
    exposed_after_idle_s,
    exposed_s,
    shared_nvlink_exposed_s,
    sm_share,
)
from colossus_sim.perf.plan_grid import PlanGrid, RunSetup
from colossus_sim.perf.step_time import StepArrays, step_arrays

seconds = st.floats(0.0, 10.0)
shares = st.floats(0.0, 0.9)


def _end_of_pair_s(comm_s: float, compute_s: float, share: float) -> float:
    """When a collective and compute started together are both done, integrating the
    compute's progress: at ``1 − share`` of full speed while the collective runs, full after."""
    done_while_comm = (1.0 - share) * comm_s
    if done_while_comm >= compute_s:  # the compute finishes first, inside the collective
        return comm_s
    return comm_s + (compute_s - done_while_comm)


@given(comm=seconds, compute=seconds, share=shares)
def test_exposure_is_the_pair_s_end_less_the_compute(comm: float, compute: float, share: float):
    exposed = float(exposed_s(np.array([comm]), np.array([compute]), share)[0])
    assert exposed == pytest.approx(_end_of_pair_s(comm, compute, share) - compute, abs=1e-12)
    # Never worse than not overlapping, never better than free overlap.
    assert max(comm - compute, 0.0) - 1e-12 <= exposed <= comm + 1e-12


@given(comm=seconds, compute=seconds, low=shares, high=shares)
def test_more_sms_for_communication_never_shortens_the_pair(
    comm: float, compute: float, low: float, high: float
) -> None:
    low, high = sorted((low, high))
    c, w = np.array([comm]), np.array([compute])
    assert exposed_s(c, w, low)[0] <= exposed_s(c, w, high)[0] + 1e-12


def test_a_collective_on_24_of_132_sms_takes_18_percent_of_them() -> None:
    # The share an NCCL collective's 24 thread blocks take on H100, the size of the 18.9%
    # average slowdown Lee et al. measured for compute overlapped with communication.
    assert sm_share(24, 132) == pytest.approx(0.182, abs=5e-4)


@given(nvlink=seconds, compute=seconds, share=shares)
def test_one_overlapped_collective_never_waits_for_nvlink(
    nvlink: float, compute: float, share: float
) -> None:
    # Alone on the port, a collective's NVLink time is at most its own time, which its
    # exposure already fits beside the compute.
    c, w = np.array([nvlink]), np.array([compute])
    alone = exposed_s(c, w, share)
    (shared,) = shared_nvlink_exposed_s([c], [alone], w)
    assert shared[0] == pytest.approx(alone[0], abs=1e-12)


def test_two_collectives_that_overflow_the_compute_expose_the_overflow_by_nvlink_time() -> None:
    # 3 s and 1 s of NVLink traffic beside 2 s of compute, free SMs: each fits alone (exposure
    # 1 s and 0 s) but the port is busy 4 s, so the microbatch takes 4 s: 2 s exposed, split
    # 3:1 by their NVLink time.
    compute = np.array([2.0])
    nvlink = [np.array([3.0]), np.array([1.0])]
    alone = [exposed_s(n, compute, 0.0) for n in nvlink]
    shared = shared_nvlink_exposed_s(nvlink, alone, compute)
    assert float(sum(shared)[0]) == pytest.approx(2.0)
    assert [float(s[0]) for s in shared] == pytest.approx([1.0 + 0.75, 0.0 + 0.25])


def _arrays(case_name: str, **software: bool) -> tuple[StepArrays, RunSetup]:
    case = next(c for c in load_validation_cases() if c.name == case_name)
    setup = case_setup(case)
    setup = replace(setup, software=setup.software.model_copy(update=software))
    return step_arrays(setup, PlanGrid.of(case_breakdown(case).plan)), setup


@pytest.mark.parametrize(
    ("case", "flag", "part", "sms"),
    [
        ("mbridge-llama31-405b-gb200", "tp_overlap", "tp_comm_s", "tp_overlap_sms"),
        ("mbridge-llama3-70b-gb300", "dp_overlap", "dp_sync_s", "collective_sms"),
    ],
)
def test_fully_hidden_communication_costs_its_sm_share_of_its_time(
    case: str, flag: str, part: str, sms: str
) -> None:
    # The 405B's tensor-parallel and the 70B's ZeRO-3 traffic fit behind their compute: each
    # costs exactly the share of SMs its kernels hold, times how long it runs.
    hidden, setup = _arrays(case, **{flag: True})
    serial, _ = _arrays(case, **{flag: False})
    share = sm_share(getattr(setup.gpu, sms), setup.gpu.sm_count)
    assert share > 0
    assert getattr(hidden, part)[0] == pytest.approx(share * getattr(serial, part)[0], rel=1e-9)


@given(comm=seconds, idle=seconds, compute=seconds, share=shares)
def test_a_collective_uses_the_bubble_before_it_slows_compute(
    comm: float, idle: float, compute: float, share: float
) -> None:
    # Idle time costs compute nothing: a collective that fits in the bubble is free, one
    # without a bubble costs what exposed_s says, and the bubble never makes it cost more.
    c, b, w = np.array([comm]), np.array([idle]), np.array([compute])
    with_idle = float(exposed_after_idle_s(c, b, w, share)[0])
    if comm <= idle:
        assert with_idle == 0.0
    assert float(exposed_after_idle_s(c, np.zeros(1), w, share)[0]) == pytest.approx(
        float(exposed_s(c, w, share)[0])
    )
    assert with_idle <= float(exposed_s(c, w, share)[0]) + 1e-12
