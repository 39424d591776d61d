"""Parallel plans as numpy arrays, and the run they apply to.

The physics in ``memory.py`` and ``step_time.py`` evaluates many candidate plans at once: a
``PlanGrid`` holds one array per plan field (one element per candidate); a single plan is a
grid of one. ``RunSetup`` bundles what does not vary between candidates: the model, the
training settings, the software features, the GPU and the NVLink domain the job may use.

Layout
------
Ranks are ordered tensor-parallel fastest, then context-parallel, then data-parallel, then
pipeline (Megatron's order). So a pipeline stage is ``tp·cp·dp`` consecutive GPUs, a
data-parallel group strides by ``tp·cp``, and the ``ep`` ranks of an expert group are
consecutive inside a stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from colossus_sim.config.hardware import GpuSpec
from colossus_sim.config.perf_constants import PerfConstants
from colossus_sim.config.workload import (
    ParallelPlan,
    Recompute,
    SoftwareSpec,
    TrainingSpec,
)
from colossus_sim.perf.collectives import Links
from colossus_sim.perf.model_size import ArchT, ModelSize, model_size

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]

RECOMPUTE_ORDER: tuple[Recompute, ...] = (Recompute.NONE, Recompute.SELECTIVE, Recompute.FULL)


@dataclass(frozen=True)
class RunSetup:
    """Everything a step-time evaluation needs besides the plan."""

    arch: ArchT
    training: TrainingSpec
    software: SoftwareSpec
    gpu: GpuSpec
    consts: PerfConstants
    gpus: int
    domain_gpus: int
    scale_out_frac: float = 1.0
    """Share of its NICs' bandwidth the fabric gives the job where it is placed (``fabric/``;
    1 when placement is not modelled, as in the planner and the published cases)."""
    size: ModelSize = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "size", model_size(self.arch))

    @property
    def links(self) -> Links:
        links = Links.of(self.gpu, self.domain_gpus)
        if self.scale_out_frac == 1.0:
            return links
        return replace(links, nic_bytes_per_s=links.nic_bytes_per_s * self.scale_out_frac)

    @property
    def hbm_capacity_bytes(self) -> float:
        return (self.gpu.hbm_gb - self.gpu.hbm_reserved_gb) * 1e9


@dataclass(frozen=True)
class PlanGrid:
    """Candidate plans, one element per candidate in each array; ``rc`` indexes RECOMPUTE_ORDER."""

    tp: IntArray
    pp: IntArray
    dp: IntArray
    ep: IntArray
    cp: IntArray
    vp: IntArray
    mb: IntArray
    rc: IntArray

    @classmethod
    def of(cls, plan: ParallelPlan) -> PlanGrid:
        def one(value: int) -> IntArray:
            return np.array([value], dtype=np.int64)

        return cls(
            tp=one(plan.tp),
            pp=one(plan.pp),
            dp=one(plan.dp),
            ep=one(plan.ep),
            cp=one(plan.cp),
            vp=one(plan.vp),
            mb=one(plan.microbatch),
            rc=one(RECOMPUTE_ORDER.index(plan.recompute)),
        )

    def __len__(self) -> int:
        return int(self.tp.shape[0])

    def select(self, mask: npt.NDArray[np.bool_] | IntArray) -> PlanGrid:
        return PlanGrid(**{name: getattr(self, name)[mask] for name in _FIELDS})

    def plan(self, index: int) -> ParallelPlan:
        return ParallelPlan(
            tp=int(self.tp[index]),
            pp=int(self.pp[index]),
            dp=int(self.dp[index]),
            ep=int(self.ep[index]),
            cp=int(self.cp[index]),
            vp=int(self.vp[index]),
            microbatch=int(self.mb[index]),
            recompute=RECOMPUTE_ORDER[int(self.rc[index])],
        )

    # Derived layout quantities, shared by memory.py and step_time.py.
    def layers_per_device(self, layers: int) -> IntArray:
        """Layers on the busiest device: ``vp`` chunks of ``⌈L/(pp·vp)⌉`` layers."""
        return np.ceil(layers / (self.pp * self.vp)).astype(np.int64) * self.vp

    def microbatches(self, global_batch: int) -> IntArray:
        """Microbatches per pipeline per step: ``⌈global_batch / (dp·mb)⌉``."""
        return np.asarray(-(-global_batch // (self.dp * self.mb)), dtype=np.int64)

    def expert_dp(self) -> IntArray:
        """Data-parallel width of the expert weights: a stage's ``tp·cp·dp`` GPUs over ``ep``."""
        return np.asarray(np.maximum(self.tp * self.cp * self.dp // self.ep, 1), dtype=np.int64)


_FIELDS = ("tp", "pp", "dp", "ep", "cp", "vp", "mb", "rc")


def first_stage_layers(setup: RunSetup, grid: PlanGrid) -> IntArray:
    """Transformer layers on a first-stage device: ``vp`` chunks of ``⌈L/(pp·vp)⌉``, or, when
    the split counts the embedding as a layer (``embedding_in_pipeline_split``, pp > 1), of
    ``⌈(L+2)/(pp·vp)⌉`` less the one slot the embedding takes."""
    layers = setup.size.layers
    plain = grid.layers_per_device(layers)
    if not setup.software.embedding_in_pipeline_split:
        return plain
    chunk = np.ceil((layers + 2) / (grid.pp * grid.vp)).astype(np.int64)
    return np.asarray(np.where(grid.pp > 1, chunk * grid.vp - 1, plain), dtype=np.int64)


def device_params(
    setup: RunSetup, grid: PlanGrid, layers_held: IntArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """(non-expert, routed-expert) parameters held by the busiest device, before ZeRO.

    Non-expert: its layers' attention/shared/dense-FFN parameters and its embedding share,
    split tp-way (a first or last stage holds one embedding matrix; a single stage holds
    both, and the multi-token prediction modules, which sit on the last stage). Experts: its
    layers' routed experts split ep-way. ``layers_held`` overrides the
    layer count (default: the busiest device's, ``layers_per_device``).
    """
    size = setup.size
    held = grid.layers_per_device(size.layers) if layers_held is None else layers_held
    layers = held.astype(np.float64)
    embed = np.where(
        grid.pp == 1,
        size.embedding_in + size.embedding_out,
        max(size.embedding_in, size.embedding_out),
    )
    mtp = np.where(grid.pp == 1, float(size.mtp_modules), 0.0)  # MTP sits on the last stage
    nonexpert = (
        size.nonexpert_per_layer * layers + embed + size.extra + mtp * size.mtp_nonexpert
    ) / grid.tp
    expert = (size.expert_per_layer * layers + mtp * size.mtp_expert) / grid.ep
    return np.asarray(nonexpert, dtype=np.float64), np.asarray(expert, dtype=np.float64)


def job_setup(
    *,
    arch: ArchT,
    training: TrainingSpec,
    software: SoftwareSpec,
    gpu: GpuSpec,
    consts: PerfConstants,
    racks: int,
    active_gpus_per_rack: int,
    scale_out_frac: float = 1.0,
) -> RunSetup:
    """The setup of a job on ``racks`` whole racks, using ``active_gpus_per_rack`` of each,
    its NICs at ``scale_out_frac`` of their bandwidth."""
    return RunSetup(
        arch=arch,
        training=training,
        software=software,
        gpu=gpu,
        consts=consts,
        gpus=racks * active_gpus_per_rack,
        domain_gpus=min(gpu.nvlink_domain_gpus, active_gpus_per_rack),
        scale_out_frac=scale_out_frac,
    )
