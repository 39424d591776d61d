"""The planner: the fastest parallel plan that fits HBM, for a model on a given number of GPUs.

``dp`` is the number of whole model replicas (tp·cp·pp GPUs each) the GPUs hold; GPUs left
over stay idle, and a global batch that does not split evenly rounds its microbatch count up.

It builds every candidate (tp, pp, cp, ep, vp, microbatch, recompute) that divides the model
and the GPUs and returns the fastest that fits. Fields the caller fixes (a partly fixed plan)
restrict the grid. Ties break towards the candidate listed first, so the answer is
deterministic.

Cost: one search takes ~7-20 ms on 50-110 thousand candidates (~2 ms for a fixed plan, most
of it the fixed cost of numpy calls on small arrays). A lower bound on each
layout's step (its compute, ``compute.py``) is evaluated with numpy over the layouts (the
candidates before the recompute axis, a third of them); memory and the full step-time model
only for the few per cent whose bound can still beat the best plan found. The answer is the
exhaustive search's (``tests/test_plan_search.py`` holds the two equal); the fitting count
that ``colossus-sim step`` prints costs one more memory evaluation of the whole grid.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from colossus_sim.config.workload import MoEArch, PlanFields
from colossus_sim.errors import ScenarioError
from colossus_sim.perf.compute import microbatch_compute, plan_shapes
from colossus_sim.perf.gemm import ShapeEfficiency
from colossus_sim.perf.memory import MemoryArrays, memory_per_gpu
from colossus_sim.perf.plan_grid import (
    RECOMPUTE_ORDER,
    FloatArray,
    IntArray,
    PlanGrid,
    RunSetup,
)
from colossus_sim.perf.step_time import StepArrays, StepBreakdown, breakdown_at, step_arrays
from colossus_sim.units import BYTES_PER_GB

_POWERS_OF_TWO = tuple(2**i for i in range(11))  # 1 … 1024
_MICROBATCHES = (1, 2, 4, 8)
_VIRTUAL_STAGES = (1, 2, 3, 4, 6, 8)
_FIRST_LAYOUTS = 1024
"""Layouts in the first batch the search evaluates in full (any number gives the same answer;
each further batch is twice the last: few batches, each pruned by the best plan so far). A
batch's step-time evaluation costs ~1.5 ms however small, and ~0.7 µs per candidate: 1,024
layouts (~3,000 candidates) made the default scenario's searches cheapest of 256–2,048."""


@dataclass(frozen=True)
class PlanSearch:
    """The chosen plan's breakdown and how many candidates were considered (and, on first
    asking, how many fit: one memory evaluation of the whole grid)."""

    best: StepBreakdown
    candidates: int
    setup: RunSetup = dataclasses.field(repr=False)
    layouts: Layouts = dataclasses.field(repr=False)

    @cached_property
    def fitting(self) -> int:
        memory = memory_per_gpu(self.setup, self.layouts.grid()).total
        return int(np.count_nonzero(memory <= self.setup.hbm_capacity_bytes))


def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, int(n**0.5) + 1) if n % d == 0]
    return sorted(set(small + [n // d for d in small]))


@dataclass(frozen=True)
class Layouts:
    """The candidate plans as layouts times recompute modes, row-major: candidate ``i`` is
    layout ``i // R`` with recompute ``recomputes[i % R]`` (``R`` modes, cheapest first)."""

    layouts: PlanGrid
    """Every candidate's fields but recompute, which is the cheapest of ``recomputes``."""
    recomputes: IntArray

    def __len__(self) -> int:
        return len(self.layouts) * len(self.recomputes)

    def candidates(self, layouts: IntArray) -> IntArray:
        """The candidates of the given layouts (sorted layouts give sorted candidates)."""
        modes = len(self.recomputes)
        return np.asarray((layouts[:, None] * modes + np.arange(modes)).ravel(), dtype=np.int64)

    def rows(self, candidates: IntArray) -> PlanGrid:
        """The plans at ``candidates`` (indices into the full grid)."""
        modes = len(self.recomputes)
        plans = self.layouts.select(candidates // modes)
        return dataclasses.replace(plans, rc=self.recomputes[candidates % modes])

    def grid(self) -> PlanGrid:
        """Every candidate, in order."""
        return self.rows(np.arange(len(self), dtype=np.int64))


def candidate_grid(setup: RunSetup, fixed: PlanFields) -> PlanGrid:
    """Every structurally valid plan for ``setup`` that agrees with the ``fixed`` fields."""
    return candidate_layouts(setup, fixed).grid()


def candidate_layouts(setup: RunSetup, fixed: PlanFields) -> Layouts:
    """``candidate_grid``'s plans, not yet multiplied out by recompute mode."""
    arch, training, gpus = setup.arch, setup.training, setup.gpus
    kv = arch.kv_heads_resolved
    experts = arch.experts if isinstance(arch, MoEArch) else 1
    axes = _axes(setup, fixed)
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
    cols = _product(
        _kept(cols, ok),
        "ep",
        axes["ep"],
        lambda c: (experts % c["ep"] == 0) & ((c["tp"] * c["cp"] * c["dp"]) % c["ep"] == 0),
    )
    cols = _product(
        cols, "vp", axes["vp"], lambda c: _may_interleave(c["pp"], c["vp"], arch.layers)
    )
    batch, layers = training.global_batch, arch.layers
    cols = _product(cols, "mb", axes["microbatch"], lambda c: _splits(c, batch, layers))
    cols["rc"] = np.full(len(cols["tp"]), axes["rc"][0], dtype=np.int64)
    return Layouts(layouts=PlanGrid(**cols), recomputes=axes["rc"])


def _axes(setup: RunSetup, fixed: PlanFields) -> dict[str, IntArray]:
    """Each field's values: the fixed one, or those a condition on that field alone allows;
    ``rc`` indexes ``RECOMPUTE_ORDER``."""
    arch, training = setup.arch, setup.training
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
    return axes


def _splits(c: dict[str, IntArray], batch: int, layers: int) -> npt.NDArray[np.bool_]:
    """The microbatch rule: ``dp·mb`` samples at most the global ``batch``, and an interleaved
    pipeline (``vp`` > 1) needs ``pp`` > 1, ``pp·vp`` ≤ the layers and m ≥ pp microbatches.
    m = ⌈batch/(dp·mb)⌉ reaches pp exactly when batch > (pp−1)·dp·mb (dp·mb ≥ 1): the same
    rule without an integer division over the grid."""
    dp, pp, vp, mb = c["dp"], c["pp"], c["vp"], c["mb"]
    per_step = dp * mb
    return np.asarray(
        (per_step <= batch)
        & ((vp == 1) | ((pp > 1) & ((pp - 1) * per_step < batch) & (pp * vp <= layers)))
    )


def _may_interleave(pp: IntArray, vp: IntArray, layers: int) -> npt.NDArray[np.bool_]:
    """The part of the interleaving rule the microbatch count leaves out: ``vp`` > 1 needs
    ``pp`` > 1 and ``pp·vp`` ≤ the layers."""
    return np.asarray((vp == 1) | ((pp > 1) & (pp * vp <= layers)))


def _expand(cols: dict[str, IntArray], name: str, values: IntArray) -> dict[str, IntArray]:
    """Every row of ``cols`` once per value of the new column ``name`` (row-major)."""
    rows = len(next(iter(cols.values()))) if cols else 1
    out = {key: np.repeat(col, len(values)) for key, col in cols.items()}
    out[name] = np.tile(values, rows)
    return out


def _product(
    cols: dict[str, IntArray],
    name: str,
    values: IntArray,
    keep: Callable[[dict[str, IntArray]], npt.NDArray[np.bool_]],
) -> dict[str, IntArray]:
    """``_expand`` then ``_kept`` by ``keep``, without materialising the rows it drops:
    ``keep`` sees each column as a (rows, 1) array and the new one as (1, values), and only
    the pairs it keeps are gathered (in the same row-major order)."""
    wide = {key: col[:, None] for key, col in cols.items()}
    wide[name] = values[None, :]
    rows = len(next(iter(cols.values())))
    pairs = np.flatnonzero(np.broadcast_to(keep(wide), (rows, len(values))))
    parent, chosen = np.divmod(pairs, len(values))
    out = {key: col[parent] for key, col in cols.items()}
    out[name] = values[chosen]
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
    layouts = candidate_layouts(setup, fixed)
    if len(layouts) == 0:
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
    capacity = setup.hbm_capacity_bytes if require_fit else math.inf
    best = _fastest(setup, layouts, capacity)
    if best is None:
        raise _no_fit(setup, layouts.grid(), field)
    return PlanSearch(best=best, candidates=len(layouts), setup=setup, layouts=layouts)


def _no_fit(setup: RunSetup, grid: PlanGrid, field: str) -> ScenarioError:
    memory = memory_per_gpu(setup, grid).total
    need_gb = float(memory.min()) / BYTES_PER_GB
    have_gb = setup.hbm_capacity_bytes / BYTES_PER_GB
    return ScenarioError.at(
        field,
        f"the model does not fit: the leanest plan "
        f"({_describe_plan(grid, int(memory.argmin()))})"
        f" needs {need_gb:,.1f} GB per GPU, {need_gb - have_gb:,.1f} GB more than the "
        f"{have_gb:,.1f} GB available on {setup.gpu.name} ({setup.gpus} GPUs)",
        got=f"{need_gb:,.1f} GB per GPU",
        expected=f"at most {have_gb:,.1f} GB",
    )


def _fastest(setup: RunSetup, layouts: Layouts, capacity_bytes: float) -> StepBreakdown | None:
    """The fastest candidate within ``capacity_bytes`` per GPU (the first in grid order among
    equals), its breakdown from the arrays that evaluated it, or None when none fits.

    A layout's compute under its cheapest recompute mode bounds the step of each of its
    candidates from below (``compute.py``; recompute only adds work). Each batch is the
    layouts with the smallest bounds among those left (a partition, not a sort of the
    grid), each batch twice the last; the fastest candidate found so far that fits rules out
    every layout left whose bound exceeds its step, and the search stops when none is left.
    A pruned candidate's step exceeds the incumbent's, so the answer is the exhaustive
    search's, found at the cost of the bound over the layouts.
    """
    grid = layouts.layouts
    found: list[_Evaluated] = []
    if len(grid) <= _FIRST_LAYOUTS:  # one batch holds them all (a kept layout): no bound
        everything = layouts.candidates(np.arange(len(grid), dtype=np.int64))
        found.append(_evaluate(setup, layouts, None, everything, capacity_bytes))
        return _first_fastest(setup, layouts, found)
    shape = plan_shapes(setup, grid)  # recompute changes no GEMM shape: the layouts' serve all
    bound = microbatch_compute(setup, grid, shape).step_lower_bound_s(grid)

    def evaluate(batch: IntArray) -> _Evaluated:
        return _evaluate(setup, layouts, shape, layouts.candidates(np.sort(batch)), capacity_bytes)

    left = np.arange(len(grid), dtype=np.int64)  # the layouts not yet evaluated nor ruled out
    incumbent, size = math.inf, _FIRST_LAYOUTS
    while len(left) > 0:
        if len(left) > size:  # the ``size`` smallest bounds, unordered (no sort of the grid)
            nearest = np.argpartition(bound[left], size - 1)[:size]
            batch, left = left[nearest], np.delete(left, nearest)
        else:
            batch, left = left, left[:0]
        found.append(evaluate(batch))
        incumbent = min(incumbent, float(found[-1].step_s.min(initial=math.inf)))
        # The bound and the step round differently: keep layouts within a relative 1e-9 of it.
        left = left[bound[left] <= incumbent * (1.0 + 1e-9)]
        size *= 2
    return _first_fastest(setup, layouts, found)


@dataclass(frozen=True)
class _Evaluated:
    """A batch of candidates evaluated in full: those that fit and their step parts, and the
    memory of the whole batch."""

    fitting: IntArray
    """The candidates that fit, in order (indices into the full grid)."""
    rows: IntArray
    """Each fitting candidate's row in the batch (``memory``'s)."""
    steps: StepArrays | None
    """The fitting candidates' step parts (None when none fits)."""
    memory: MemoryArrays

    @property
    def step_s(self) -> FloatArray:
        return np.zeros(0, dtype=np.float64) if self.steps is None else self.steps.step_s


def _first_fastest(
    setup: RunSetup, layouts: Layouts, found: list[_Evaluated]
) -> StepBreakdown | None:
    """The fastest of the evaluated candidates that fit, the first in grid order among
    equals, with its breakdown."""
    rows = np.concatenate([batch.fitting for batch in found])
    steps = np.concatenate([batch.step_s for batch in found])
    if len(rows) == 0:
        return None
    best = int(rows[steps == steps.min()].min())
    plan = layouts.rows(np.asarray([best], dtype=np.int64)).plan(0)
    for batch in found:
        at = np.flatnonzero(batch.fitting == best)
        if len(at) and batch.steps is not None:
            i = int(at[0])
            return breakdown_at(setup, plan, (batch.steps, i), (batch.memory, int(batch.rows[i])))
    raise AssertionError("the fastest candidate is one of the evaluated batches'")


def _evaluate(
    setup: RunSetup,
    layouts: Layouts,
    shape: ShapeEfficiency | None,
    candidates: IntArray,
    capacity_bytes: float,
) -> _Evaluated:
    """The ``candidates``' memory, which fit ``capacity_bytes``, and the steps of those
    (``shape``: the layouts' shape efficiencies, or None to derive the candidates' own)."""
    plans = layouts.rows(candidates)
    memory = memory_per_gpu(setup, plans)
    fits = memory.total <= capacity_bytes
    rows = np.flatnonzero(fits)
    if len(rows) == 0:
        return _Evaluated(fitting=candidates[rows], rows=rows, steps=None, memory=memory)
    kept = candidates[rows]
    shapes = None if shape is None else shape.select(kept // len(layouts.recomputes))
    steps = step_arrays(setup, plans.select(rows), shapes)
    return _Evaluated(fitting=kept, rows=rows, steps=steps, memory=memory)


def _describe(fixed: PlanFields) -> str:
    parts = [f"{k}={v}" for k, v in fixed.model_dump(exclude_none=True, mode="json").items()]
    return "the fixed plan " + ",".join(parts) if parts else "any plan"


def _describe_plan(grid: PlanGrid, i: int) -> str:
    plan = grid.plan(i)
    return (
        f"tp={plan.tp} pp={plan.pp} dp={plan.dp} ep={plan.ep} cp={plan.cp} vp={plan.vp} "
        f"microbatch={plan.microbatch} recompute={plan.recompute.value}"
    )
