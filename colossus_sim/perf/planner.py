"""The planner: the fastest parallel plan that fits HBM, for a model on a given number of GPUs.

``dp`` is the number of whole model replicas (tp·cp·pp GPUs each) the GPUs hold; GPUs left
over stay idle, and a global batch that does not split evenly rounds its microbatch count up.

It builds every candidate (tp, pp, cp, ep, vp, microbatch, recompute) that divides the model
and the GPUs, evaluates memory and step time for all of them at once with numpy, and returns
the fastest that fits. Fields the caller fixes (a partly fixed plan) restrict the grid.
Ties break towards the candidate listed first, so the answer is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from colossus_sim.config.workload import MoEArch, PlanFields
from colossus_sim.errors import ScenarioError
from colossus_sim.perf.memory import memory_per_gpu
from colossus_sim.perf.plan_grid import RECOMPUTE_ORDER, IntArray, PlanGrid, RunSetup
from colossus_sim.perf.step_time import StepBreakdown, step_arrays, step_breakdown
from colossus_sim.units import BYTES_PER_GB

_POWERS_OF_TWO = tuple(2**i for i in range(11))  # 1 … 1024
_MICROBATCHES = (1, 2, 4, 8)
_VIRTUAL_STAGES = (1, 2, 3, 4, 6, 8)


@dataclass(frozen=True)
class PlanSearch:
    """The chosen plan's breakdown and how many candidates were considered and fitted."""

    best: StepBreakdown
    candidates: int
    fitting: int


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, int(n**0.5) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


def candidate_grid(setup: RunSetup, fixed: PlanFields) -> PlanGrid:
    """Every structurally valid plan for ``setup`` that agrees with the ``fixed`` fields."""
    arch, training, gpus = setup.arch, setup.training, setup.gpus
    kv = arch.kv_heads_resolved
    experts = arch.experts if isinstance(arch, MoEArch) else 1
    # Conditions on one field alone filter its axis before the product is formed.
    searched = {
        "tp": [
            t
            for t in _POWERS_OF_TWO
            if t <= setup.domain_gpus and arch.heads % t == 0 and kv % t == 0
        ],
        "cp": [c for c in _POWERS_OF_TWO if c <= 32 and training.seq_len % c == 0],
        "pp": sorted(set(_divisors(arch.layers)) | {p for p in _POWERS_OF_TWO if p <= arch.layers}),
        "ep": sorted({e for e in _POWERS_OF_TWO if e <= experts and experts % e == 0} | {experts}),
        "vp": list(_VIRTUAL_STAGES),
        "microbatch": list(_MICROBATCHES),
    }
    axes = {
        name: np.asarray(
            [getattr(fixed, name)] if getattr(fixed, name) is not None else values, dtype=np.int64
        )
        for name, values in searched.items()
    }
    axes["rc"] = np.asarray(
        [RECOMPUTE_ORDER.index(fixed.recompute)]
        if fixed.recompute is not None
        else list(range(len(RECOMPUTE_ORDER))),
        dtype=np.int64,
    )
    # The product is built one axis at a time in the order tp, cp, pp, ep, vp, microbatch,
    # rc (the row-major order of a full meshgrid), dropping rows as soon as the fields they
    # have decide it: the same candidates in the same order, without materialising the
    # combinations an early condition already rules out.
    cols = _expand({}, "tp", axes["tp"])
    cols = _expand(cols, "cp", axes["cp"])
    cols = _expand(cols, "pp", axes["pp"])
    tp, cp, pp = cols["tp"], cols["cp"], cols["pp"]
    ok = (arch.heads % tp == 0) & (kv % tp == 0) & (tp <= setup.domain_gpus)
    ok &= (training.seq_len % cp == 0) & (pp <= arch.layers)
    dp = gpus // (tp * cp * pp)  # GPUs beyond a whole number of replicas stay idle
    if fixed.dp is not None:
        ok &= dp == fixed.dp
    ok &= dp >= 1
    cols["dp"] = dp
    cols = _expand(_kept(cols, ok), "ep", axes["ep"])
    cols = _kept(
        cols,
        (experts % cols["ep"] == 0) & ((cols["tp"] * cols["cp"] * cols["dp"]) % cols["ep"] == 0),
    )
    cols = _expand(cols, "vp", axes["vp"])
    cols = _expand(cols, "mb", axes["microbatch"])
    dp, pp, vp, mb = cols["dp"], cols["pp"], cols["vp"], cols["mb"]
    ok = dp * mb <= training.global_batch
    m = -(-training.global_batch // np.maximum(dp * mb, 1))
    ok &= (vp == 1) | ((pp > 1) & (m >= pp) & (pp * vp <= arch.layers))
    cols = _expand(_kept(cols, ok), "rc", axes["rc"])
    return PlanGrid(**cols)


def _expand(cols: dict[str, IntArray], name: str, values: IntArray) -> dict[str, IntArray]:
    """Every row of ``cols`` once per value of the new column ``name`` (row-major)."""
    rows = len(next(iter(cols.values()))) if cols else 1
    out = {key: np.repeat(col, len(values)) for key, col in cols.items()}
    out[name] = np.tile(values, rows)
    return out


def _kept(cols: dict[str, IntArray], ok: npt.NDArray[np.bool_]) -> dict[str, IntArray]:
    return {key: col[ok] for key, col in cols.items()}


def plan_job(
    setup: RunSetup,
    fixed: PlanFields | None = None,
    *,
    field: str = "plan",
    require_fit: bool = True,
) -> PlanSearch:
    """The fastest fitting plan; a ``ScenarioError`` at ``field`` when none exists or fits.

    ``require_fit=False`` ranks every candidate by speed alone: for a published run whose
    complete plan is known to have run, whatever our memory model says.
    """
    fixed = fixed or PlanFields()
    grid = candidate_grid(setup, fixed)
    if len(grid) == 0:
        raise ScenarioError.at(
            field,
            f"no parallel plan matches {_describe(fixed)} on {setup.gpus} GPUs",
            expected=(
                f"tp dividing heads ({setup.arch.heads}) and kv_heads "
                f"({setup.arch.kv_heads_resolved}) within a {setup.domain_gpus}-GPU NVLink "
                f"domain; tp·cp·pp dividing {setup.gpus} GPUs; dp·microbatch dividing the "
                f"global batch ({setup.training.global_batch})"
            ),
        )
    memory = memory_per_gpu(setup, grid).total
    capacity = setup.hbm_capacity_bytes
    fits = memory <= capacity if require_fit else np.ones(len(grid), dtype=bool)
    if not fits.any():
        smallest = float(memory.min())
        need_gb = smallest / BYTES_PER_GB
        have_gb = capacity / BYTES_PER_GB
        raise ScenarioError.at(
            field,
            f"the model does not fit: the leanest plan "
            f"({_describe_plan(grid, int(memory.argmin()))})"
            f" needs {need_gb:,.1f} GB per GPU, {need_gb - have_gb:,.1f} GB more than the "
            f"{have_gb:,.1f} GB available on {setup.gpu.name} ({setup.gpus} GPUs)",
            got=f"{need_gb:,.1f} GB per GPU",
            expected=f"at most {have_gb:,.1f} GB",
        )
    feasible = grid.select(fits)
    step = step_arrays(setup, feasible).step_s
    best = int(np.argmin(step))
    return PlanSearch(
        best=step_breakdown(setup, feasible.plan(best)),
        candidates=len(grid),
        fitting=len(feasible),
    )


def _describe(fixed: PlanFields) -> str:
    parts = [f"{k}={v}" for k, v in fixed.model_dump(exclude_none=True, mode="json").items()]
    return "the fixed plan " + ",".join(parts) if parts else "any plan"


def _describe_plan(grid: PlanGrid, i: int) -> str:
    plan = grid.plan(i)
    return (
        f"tp={plan.tp} pp={plan.pp} dp={plan.dp} ep={plan.ep} cp={plan.cp} vp={plan.vp} "
        f"microbatch={plan.microbatch} recompute={plan.recompute.value}"
    )
