"""Power as pure functions: GPU watts by phase and clock, a job's draw over its step, the site.

Notes
-----
A GPU draws ``P_idle`` when idle, ``P_comm`` while it waits on communication or a pipeline
bubble, and when compute-bound at relative clock ``f`` (DVFS):

    P_compute(f) = P_idle + (P_full − P_idle) · f^k       (k = dvfs_exponent, ≈3)

where ``P_full = compute_frac_of_tdp × TDP`` is what a GPU computing at full clock draws
while training: measured nodes stay well below their rating (Latif et al.), so charging
compute at TDP overstates the draw.

Of a step's parts (``perf/step_time.py``), ``compute_s`` is clock-bound and stretches to
``compute_s/f``; the HBM-bound parts (``memory_bound_s``, ``moe_dispatch_s``,
``optimizer_s``) keep their time and draw compute-phase power; the rest (exposed TP/CP/EP
communication, the pipeline bubble and sends, the data-parallel sync) draw ``P_comm``. So

    step(f)   = compute_s/f + busy_s + wait_s
    P_gpu(f)  = [(compute_s/f + busy_s)·P_compute(f) + wait_s·P_comm] / step(f)

A facility cap is met by lowering clocks (``solve_clocks``): every job's IT draw rises with
its clock, so the highest clocks on a fine grid whose total fits under the cap are found by
search over precomputed curves — O(jobs × grid) per re-balance, no iteration per GPU.

Under power smoothing (a what-if) no phase of a training GPU draws less than a floor
``P_floor`` (it burns power up to it): each phase's draw is ``max(P_phase, P_floor)``.

A job's swing between its phases is ``GPUs × (P_compute(f) − P_comm)`` (each at least
``P_floor``); the site draws
``IT × PUE`` where IT adds each GPU's host overhead (CPUs, NICs, switches, fans: its full
share on a rack that trains, ``host_idle_frac`` of it on a rack that does not) and the
scale-out fabric per GPU.

References
----------
Weste & Harris, CMOS VLSI Design §5 (P_dyn = α·C·V²·f); Llama 3 §3.3.4 (tens-of-MW swings at
16k GPUs); Choukse et al., arXiv 2508.14318 (compute vs communication phase power); Latif et
al., arXiv 2412.08602 (an H100 node peaks at 82% of its rating while training); Barroso &
Hölzle, IEEE Computer 40(12) 2007 (servers idle at about half their peak draw).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from colossus_sim.config.hardware import GpuSpec

WAIT_PARTS = ("tp_comm_s", "cp_comm_s", "ep_comm_s", "pp_bubble_s", "pp_p2p_s", "dp_sync_s")
CLOCKED_PARTS = ("compute_s",)


def compute_phase_w(gpu: GpuSpec, clock: float) -> float:
    """Watts of one compute-bound GPU at relative clock ``clock`` (1 = full clock, where it
    draws ``compute_frac_of_tdp`` of its TDP)."""
    p = gpu.power
    return float(p.idle_w + (gpu.full_compute_w - p.idle_w) * clock**p.dvfs_exponent)


@dataclass(frozen=True)
class StepPhases:
    """A step's seconds by how they respond to the clock and what they draw."""

    clocked_s: float
    busy_s: float
    wait_s: float

    @classmethod
    def of(cls, breakdown_s: dict[str, float]) -> StepPhases:
        clocked = sum(breakdown_s.get(k, 0.0) for k in CLOCKED_PARTS)
        wait = sum(breakdown_s.get(k, 0.0) for k in WAIT_PARTS)
        busy = sum(breakdown_s.values()) - clocked - wait
        return cls(clocked_s=clocked, busy_s=busy, wait_s=wait)

    def step_s(self, clock: float) -> float:
        return self.clocked_s / clock + self.busy_s + self.wait_s


def training_gpu_w(
    gpu: GpuSpec, phases: StepPhases, clock: float, *, floor_w: float = 0.0
) -> float:
    """Mean watts of one training GPU over its step at relative clock ``clock``; under power
    smoothing no phase draws less than ``floor_w`` (the GPU burns up to it)."""
    compute_w = max(compute_phase_w(gpu, clock), floor_w)
    busy = phases.clocked_s / clock + phases.busy_s
    low_w = max(gpu.power.comm_phase_w, floor_w)
    return (busy * compute_w + phases.wait_s * low_w) / phases.step_s(clock)


def swing_w_per_gpu(gpu: GpuSpec, clock: float, *, floor_w: float = 0.0) -> float:
    """How far a GPU's draw jumps between its communication and compute phases (each phase
    burned up to ``floor_w`` under power smoothing)."""
    return max(compute_phase_w(gpu, clock), floor_w) - max(gpu.power.comm_phase_w, floor_w)


def facility_w(it_w: float, pue: float) -> float:
    return it_w * pue


#: Clocks the power controller chooses from: 0.5 … 1.0 of full speed in 1/1024 steps.
CLOCK_GRID = np.linspace(0.5, 1.0, 513)


def job_it_curve_w(
    gpu: GpuSpec,
    phases: StepPhases,
    *,
    gpus_in_racks: int,
    training_gpus: int,
    network_w_per_gpu: float,
    floor_w: float = 0.0,
    grid: npt.NDArray[np.float64] = CLOCK_GRID,
) -> npt.NDArray[np.float64]:
    """IT watts of a training job's racks at every clock of ``grid`` (clipped at its minimum);
    under power smoothing its GPUs draw at least ``floor_w`` in every phase."""
    clocks = np.maximum(grid, gpu.power.min_clock_frac)
    p = gpu.power
    compute_w = p.idle_w + (gpu.full_compute_w - p.idle_w) * clocks**p.dvfs_exponent
    compute_w = np.maximum(compute_w, floor_w)
    low_w = max(p.comm_phase_w, floor_w)
    busy = phases.clocked_s / clocks + phases.busy_s
    per_gpu = (busy * compute_w + phases.wait_s * low_w) / (busy + phases.wait_s)
    idle = gpus_in_racks - training_gpus
    fixed = idle * p.idle_w + gpus_in_racks * (p.host_overhead_w_per_gpu + network_w_per_gpu)
    return np.asarray(training_gpus * per_gpu + fixed, dtype=np.float64)


def solve_clocks(
    cap_it_w: float,
    base_it_w: float,
    curves: list[npt.NDArray[np.float64]],
    priorities: list[int],
    *,
    by_priority: bool,
    grid: npt.NDArray[np.float64] = CLOCK_GRID,
) -> list[float]:
    """The highest clocks (from ``grid``) that keep ``base + Σ curve(clock) ≤ cap``.

    Uniform: one clock for every job. By priority: the lowest-priority job is slowed first,
    down to the bottom of the grid, then the next. Curves rise with the clock, so the answer
    is a search over the grid; if even the bottom of the grid exceeds the cap, every job gets
    the bottom (the caller checks feasibility up front).
    """
    top = len(grid) - 1
    if not curves:
        return []
    if base_it_w + sum(float(c[top]) for c in curves) <= cap_it_w:
        return [1.0] * len(curves)
    if not by_priority:
        total = base_it_w + np.sum(curves, axis=0)
        index = int(np.searchsorted(total, cap_it_w, side="right")) - 1
        return [float(grid[max(index, 0)])] * len(curves)
    chosen = [top] * len(curves)
    for j in sorted(range(len(curves)), key=lambda i: (priorities[i], i)):
        others = base_it_w + sum(float(curves[i][chosen[i]]) for i in range(len(curves)) if i != j)
        index = int(np.searchsorted(curves[j] + others, cap_it_w, side="right")) - 1
        chosen[j] = max(index, 0)
        if index >= 0:
            break
    return [float(grid[i]) for i in chosen]
