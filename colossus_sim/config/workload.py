"""Workload schemas: model architectures, training settings, software features, parallel plans.

A ``JobSpec`` (``workloads/*.yaml``) is one of the seven Colossus 2 jobs; a ``ValidationCase``
(``workloads/validation/*.yaml``) is a published training run with its measured figure. Both
share ``arch`` (dense | MoE | DiT, a discriminated union on ``kind``), ``training`` and
``software``; parameter counts are derived from the architecture, never typed in.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from colossus_sim.config.attention import AttentionWidths, LatentAttention, attention_widths
from colossus_sim.config.base import Sourced, StrictModel
from colossus_sim.config.hardware import Precision
from colossus_sim.errors import FieldValueError

# Counts (layers, widths, batch, racks) fit in 32 bits: the planner's numpy arrays are int64 and
# their products must not overflow.
MAX_COUNT = 2**31 - 1
PositiveInt = Annotated[int, Field(ge=1, le=MAX_COUNT)]
NonNegativeInt = Annotated[int, Field(ge=0, le=MAX_COUNT)]


class _ArchBase(StrictModel):
    layers: PositiveInt
    d_model: PositiveInt
    heads: PositiveInt
    kv_heads: PositiveInt | None = None
    head_dim: PositiveInt | None = None
    vocab: NonNegativeInt = 0
    tied_embeddings: bool = False
    gated_ffn: bool = True
    mla: LatentAttention | None = None
    """Multi-head latent attention instead of grouped-query attention (causal LLMs only)."""
    mtp_layers: NonNegativeInt = 0
    """Multi-token prediction modules after the last layer (DeepSeek-V3: 1), each a projection
    of ``2·d`` to ``d``, one more layer like the model's last, and the shared output head."""

    @property
    def kv_heads_resolved(self) -> int:
        """K/V heads: ``kv_heads`` (grouped-query), else one per head (MHA and MLA)."""
        return self.kv_heads if self.kv_heads is not None else self.heads

    @property
    def head_dim_resolved(self) -> int:
        if self.mla is not None:
            return self.mla.qk_nope_head_dim + self.mla.qk_rope_head_dim
        return self.head_dim if self.head_dim is not None else self.d_model // self.heads

    @property
    def widths(self) -> AttentionWidths:
        return attention_widths(
            self.heads, self.kv_heads_resolved, self.head_dim_resolved, self.mla
        )

    @property
    def causal(self) -> bool:
        return True

    @model_validator(mode="after")
    def _heads_consistent(self) -> Self:
        if self.mla is not None:
            for name in ("kv_heads", "head_dim"):
                if getattr(self, name) is not None:
                    raise FieldValueError(
                        name,
                        "multi-head latent attention (mla:) gives every head its own key and "
                        f"value from the latent and sets the head widths itself: drop {name}",
                    )
        if self.mtp_layers and self.causal and not self.vocab:
            raise FieldValueError(
                "mtp_layers", "multi-token prediction predicts tokens: it needs a vocab"
            )
        if self.kv_heads is not None and self.heads % self.kv_heads:
            raise FieldValueError(
                "kv_heads", f"must divide heads ({self.heads}); got {self.kv_heads}"
            )
        if self.mla is None and self.head_dim is None and self.d_model % self.heads:
            raise FieldValueError(
                "head_dim",
                f"d_model {self.d_model} is not a multiple of heads {self.heads}: "
                "give head_dim explicitly",
            )
        return self


class DenseArch(_ArchBase):
    """A decoder-only dense transformer (Llama, GPT)."""

    kind: Literal["dense"]
    ffn_dim: PositiveInt


class MoEArch(_ArchBase):
    """A decoder-only mixture-of-experts transformer: routed experts plus an optional shared MLP.

    ``dense_layers`` leading layers use a dense FFN of ``dense_ffn_dim`` instead of experts
    (DeepSeek-V3 style); the rest are MoE layers. ``expert_load_cv`` is how unevenly the
    trained router spreads a microbatch's tokens over the experts.
    """

    kind: Literal["moe"]
    experts: PositiveInt
    top_k: PositiveInt
    expert_ffn_dim: PositiveInt
    shared_ffn_dim: NonNegativeInt = 0
    dense_layers: NonNegativeInt = 0
    dense_ffn_dim: NonNegativeInt = 0
    expert_load_cv: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)] = 0.0
    """Coefficient of variation of the tokens a microbatch routes to each expert: 0 when
    routing is balanced (force-balanced benchmarks); the busiest expert-parallel rank's excess
    follows from it (``perf/moe_imbalance.py``)."""

    @model_validator(mode="after")
    def _routing_consistent(self) -> Self:
        if self.top_k > self.experts:
            raise FieldValueError("top_k", f"cannot exceed experts ({self.experts})")
        if self.dense_layers > self.layers:
            raise FieldValueError("dense_layers", f"cannot exceed layers ({self.layers})")
        if self.dense_layers and not self.dense_ffn_dim:
            raise FieldValueError("dense_ffn_dim", "required when dense_layers > 0")
        return self

    @property
    def moe_layers(self) -> int:
        return self.layers - self.dense_layers


class DiTArch(_ArchBase):
    """A diffusion transformer over video/image latents: bidirectional attention, no vocabulary.

    ``cross_attention`` adds a text cross-attention block per layer over ``text_tokens`` text
    embeddings; ``extra_params`` counts embedders and adaLN modulation outside the blocks.
    """

    kind: Literal["dit"]
    ffn_dim: PositiveInt
    cross_attention: bool = True
    text_tokens: NonNegativeInt = 0
    extra_params: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0

    @property
    def causal(self) -> bool:
        return False

    @model_validator(mode="after")
    def _no_decoder_only_parts(self) -> Self:
        if self.mla is not None:
            raise FieldValueError(
                "mla",
                "multi-head latent attention compresses a causal decoder's key/value cache; a "
                "bidirectional DiT has none to compress (use kv_heads/head_dim)",
            )
        if self.mtp_layers:
            raise FieldValueError(
                "mtp_layers", "multi-token prediction needs next tokens to predict; a DiT has none"
            )
        return self


Arch = Annotated[DenseArch | MoEArch | DiTArch, Field(discriminator="kind")]


class TrainingSpec(StrictModel):
    """What one optimizer step processes and in what number format.

    ``global_batch`` counts sequences (LLM) or samples (DiT) of ``seq_len`` tokens each;
    ``tokens`` is the training budget in tokens (absent for validation cases).
    """

    seq_len: PositiveInt
    global_batch: PositiveInt
    precision: Precision
    tokens: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None

    @property
    def tokens_per_step(self) -> int:
        return self.seq_len * self.global_batch


class Recompute(StrEnum):
    """Activation recomputation: none, selective (attention core and activations), full."""

    NONE = "none"
    SELECTIVE = "selective"
    FULL = "full"


class Fp8Scaling(StrEnum):
    """How FP8 training picks each tensor's scale: from the tensor's own amax (``current``:
    one pass to find it, one to cast) or from the amax history (``delayed``: one pass)."""

    CURRENT = "current"
    DELAYED = "delayed"


class SoftwareSpec(StrictModel):
    """Features of the training framework that change memory or exposed communication.

    The ``*_overlap`` flags say whether that communication runs concurrently with compute;
    how much of it is then hidden is computed by ``perf/step_time.py``, not set here.
    """

    flash_attention: bool = True
    sequence_parallel: bool = True
    tp_overlap: bool = False
    cp_overlap: bool = True
    ep_overlap: bool = False
    dp_overlap: bool = True
    zero_stage: Annotated[int, Field(ge=0, le=3)] = 1
    grad_reduce_in_fp32: bool = True
    """Main gradients kept (and reduced) in FP32, 4 bytes per parameter; BF16 (2) if false.
    Megatron-Core's default for BF16 mixed precision."""
    fp8_param_gather: bool = False
    """FP8/FP4 training only: the model's weights are held as FP8 tensors (1 byte per
    parameter, the FP32 master copy in the optimizer) instead of BF16."""
    fp8_scaling: Fp8Scaling = Fp8Scaling.CURRENT
    """FP8/FP4 training only: how each GEMM input is scaled before its cast, which sets the
    HBM traffic of the casts (``perf_model.yaml``)."""
    unfused_fp32_cross_entropy: bool = False
    """The loss runs as separate kernels over an FP32 copy of the logits (Megatron-LM before
    its fused cross entropy); their traffic is charged. A fused loss kernel's is not."""
    embedding_in_pipeline_split: bool = False
    """The pipeline split counts the embedding and the loss as one layer each: the first and
    last pipeline chunks carry one transformer layer fewer (Megatron-Core's
    ``account_for_embedding_in_pipeline_split`` / ``account_for_loss_in_pipeline_split``)."""
    full_recompute_layers: NonNegativeInt = 0
    """Besides the plan's recompute mode, the first this-many layers of each pipeline chunk
    recompute their whole forward in backward and keep only their input (Megatron-Core's
    ``recompute_method: block`` with ``recompute_num_layers``)."""
    activation_offload_layers: NonNegativeInt = 0
    """Layers per device whose saved activations are offloaded to host memory during the
    forward pass and fetched back for the backward (Megatron-Core ``cpu_offloading``)."""


class PlanFields(StrictModel):
    """A parallel plan with every field optional: the fixed part of a partly fixed plan."""

    tp: PositiveInt | None = None
    pp: PositiveInt | None = None
    dp: PositiveInt | None = None
    ep: PositiveInt | None = None
    cp: PositiveInt | None = None
    vp: PositiveInt | None = None
    microbatch: PositiveInt | None = None
    recompute: Recompute | None = None


class ParallelPlan(StrictModel):
    """A complete parallel plan: tp×cp×dp×pp GPUs; experts sharded ep-way inside a stage."""

    tp: PositiveInt
    pp: PositiveInt
    dp: PositiveInt
    ep: PositiveInt = 1
    cp: PositiveInt = 1
    vp: PositiveInt = 1
    microbatch: PositiveInt = 1
    recompute: Recompute = Recompute.NONE

    @property
    def gpus(self) -> int:
        return self.tp * self.pp * self.dp * self.cp


class ModelRun(Sourced):
    """What a step-time model needs to know about a training run, hardware aside."""

    name: str
    title: str
    arch: Arch
    training: TrainingSpec
    software: SoftwareSpec = SoftwareSpec()

    @model_validator(mode="after")
    def _software_fits_the_model(self) -> Self:
        bf16 = self.training.precision is Precision.BF16
        if self.software.fp8_param_gather and bf16:
            raise FieldValueError(
                "software.fp8_param_gather", "FP8 weights need FP8 or FP4 training, not bf16"
            )
        if "fp8_scaling" in self.software.model_fields_set and bf16:
            raise FieldValueError(
                "software.fp8_scaling", "a scaling recipe needs FP8 or FP4 training, not bf16"
            )
        for name in ("activation_offload_layers", "full_recompute_layers"):
            if getattr(self.software, name) > self.arch.layers:
                raise FieldValueError(
                    f"software.{name}", f"cannot exceed the model's layers ({self.arch.layers})"
                )
        return self


class JobSpec(ModelRun):
    """One of the seven Colossus 2 training jobs (``workloads/<name>.yaml``).

    ``default_racks`` and ``default_gpu`` place the job when no scenario says otherwise;
    ``active_gpus_per_rack`` may hold GPUs of each NVL72 rack back as hot spares.
    """

    description: str = ""
    default_racks: PositiveInt
    default_gpu: str
    active_gpus_per_rack: PositiveInt
    plan: PlanFields = PlanFields()

    @model_validator(mode="after")
    def _has_budget(self) -> Self:
        if self.training.tokens is None:
            raise FieldValueError("training.tokens", "a job needs a token budget")
        return self


class Metric(StrEnum):
    """The figure a published run reports."""

    STEP_S = "step_s"
    TFLOPS_PER_GPU = "tflops_per_gpu"
    MFU = "mfu"
    TOKENS_PER_S_PER_GPU = "tokens_per_s_per_gpu"


class FlopConvention(StrictModel):
    """How the source counted FLOPs when it reported TFLOP/s or MFU.

    ``attention``: ``causal`` counts half the score matrix, ``full`` all of it;
    ``counts_recompute``: the recomputed forward pass is included (Megatron's "hardware"
    TFLOP/s with full recompute).
    """

    attention: Literal["causal", "full"] = "causal"
    counts_recompute: bool = False


class Measured(StrictModel):
    model_config = ConfigDict(defer_build=True)  # built on first use: validate's, not a run's
    metric: Metric
    value: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    flop_convention: FlopConvention = FlopConvention()


class CaseRole(StrEnum):
    """What a published case is for.

    ``calibration``: a fitted constant is fitted on it. ``validation``: held out, and must
    stay within the fidelity bar (±10%). ``tracked``: a known gap of the model (the case's
    ``gap`` says which). ``inconsistent``: a published figure the same source's other rows
    contradict (the case's ``inconsistency`` says how, with the source's numbers). The last
    two are reported with the others but not held to the bar.
    """

    CALIBRATION = "calibration"
    VALIDATION = "validation"
    TRACKED = "tracked"
    INCONSISTENT = "inconsistent"


class ValidationCase(ModelRun):
    """A published training run: its model, hardware, plan and one measured figure.

    The plan's published degrees (``tp``, ``pp``, ``dp``, and ``cp`` when used) are required;
    details a source leaves out (``vp``, ``microbatch``, ``recompute``) may be omitted, and the
    planner then fills them with the fastest choice that fits HBM, as the run's own engineers
    would have.
    """

    model_config = ConfigDict(defer_build=True)  # as Measured: not on a run's path
    hardware: str
    gpus: PositiveInt
    plan: PlanFields
    measured: Measured
    role: CaseRole = CaseRole.VALIDATION
    source: str
    gap: str = ""
    """For a ``tracked`` case: what the model lacks that this run exercises."""
    inconsistency: str = ""
    """For an ``inconsistent`` case: the same source's figures that contradict this one."""

    @model_validator(mode="after")
    def _plan_covers_gpus(self) -> Self:
        if (self.role is CaseRole.TRACKED) != bool(self.gap.strip()):
            raise FieldValueError("gap", "a tracked case, and only a tracked case, names its gap")
        if (self.role is CaseRole.INCONSISTENT) != bool(self.inconsistency.strip()):
            raise FieldValueError(
                "inconsistency",
                "an inconsistent case, and only an inconsistent case, shows its inconsistency",
            )
        for name in ("tp", "pp", "dp"):
            if getattr(self.plan, name) is None:
                raise FieldValueError(f"plan.{name}", "a published case must give this degree")
        used = (self.plan.tp or 1) * (self.plan.pp or 1) * (self.plan.dp or 1) * (self.plan.cp or 1)
        if used != self.gpus:
            raise FieldValueError(
                "plan", f"tp×pp×dp×cp = {used} GPUs, but the case has {self.gpus}"
            )
        return self
