"""Cluster state in numpy: per rack its GPU type, pod, owner job, spare flag and healthy GPUs.

One array element per NVL72 rack; no per-GPU arrays. A rack belongs to at most one job by
construction (``owner`` holds one job index or ``FREE``); the methods below are the only
writers: they check that invariant and keep the counts the engine charges time to (racks
per job; unowned racks idle, spare or under repair) up to date incrementally, so an event
costs O(racks it touches), not O(racks).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from colossus_sim.config.cluster import ClusterSpec

FREE = -1
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

IDLE, SPARE, REPAIR = 0, 1, 2
_OWNED = 3


class ClusterState:
    """Mutable per-rack state of one simulation run."""

    def __init__(self, spec: ClusterSpec, jobs: int) -> None:
        self.spec = spec
        self.gpus_per_rack = spec.gpus_per_rack
        self.type_names: list[str] = list(spec.rack_mix)
        counts = [spec.rack_mix[name] for name in self.type_names]
        self.gpu_type: IntArray = np.repeat(np.arange(len(counts)), counts).astype(np.int64)
        self.racks = int(self.gpu_type.shape[0])
        self.pod: IntArray = (np.arange(self.racks) // spec.racks_per_pod).astype(np.int64)
        self.owner: IntArray = np.full(self.racks, FREE, dtype=np.int64)
        self.spare: BoolArray = np.zeros(self.racks, dtype=bool)
        self.healthy: IntArray = np.full(self.racks, spec.gpus_per_rack, dtype=np.int64)
        self.owned_count: IntArray = np.zeros(jobs, dtype=np.int64)
        # A job numbers its ranks in the order it was given its racks (a replacement rack takes
        # the rank of the one it replaces): the fabric's rings follow this order.
        self.rank_key: IntArray = np.zeros(self.racks, dtype=np.int64)
        self._next_key = 0
        self.allocation_changes = 0
        """Counts every take and release, so a consumer knows when racks moved."""
        self._owned_list: tuple[int, list[int]] = (-1, [])
        self.changed_jobs: set[int] = set()
        """Jobs whose racks moved since a consumer last cleared this (not by ``replace``)."""
        self.replacements: list[tuple[int, int, int]] = []
        """(job, lost rack, new rack) of each ``replace`` since a consumer last cleared it."""
        self.unowned_by_type: IntArray = np.zeros((len(counts), 3), dtype=np.int64)
        """Racks no job owns, by GPU type and class (idle healthy, spare healthy, in repair)."""
        self.unowned_by_type[:, IDLE] = counts
        self.unowned_total = [self.racks, 0, 0]
        """``unowned_by_type`` summed over the types, kept as it changes (read every event)."""
        self.unowned_changes = 0
        """Bumped whenever ``unowned_by_type`` may have changed: a reader caches what it
        derives from the counts until this moves."""

    # -- queries ------------------------------------------------------------------------
    def owned_list(self) -> list[int]:
        """``owned_count`` as a list of ints (made again only after racks moved: a long
        stream has many more jobs than hold racks, and the list is read after every event).
        Read it, do not change it."""
        changes, owned = self._owned_list
        if changes != self.allocation_changes:
            owned = self.owned_count.tolist()
            self._owned_list = (self.allocation_changes, owned)
        return owned

    def type_index(self, gpu: str) -> int:
        return self.type_names.index(gpu)

    def free_racks(self, gpu: str, min_healthy: int | None = None) -> IntArray:
        """Racks of ``gpu`` type that no job owns, not held as spares, fully healthy by default."""
        need = self.gpus_per_rack if min_healthy is None else min_healthy
        mask = (
            (self.gpu_type == self.type_index(gpu))
            & (self.owner == FREE)
            & ~self.spare
            & (self.healthy >= need)
        )
        return np.flatnonzero(mask)

    def spare_racks(self, gpu: str, min_healthy: int) -> IntArray:
        mask = (self.gpu_type == self.type_index(gpu)) & self.spare & (self.healthy >= min_healthy)
        mask &= self.owner == FREE
        return np.flatnonzero(mask)

    def racks_of(self, job: int) -> IntArray:
        return np.flatnonzero(self.owner == job)

    def state_counts(self) -> tuple[int, int, int]:
        """Racks no job owns, split into (idle healthy, spare healthy, under repair)."""
        total = self.unowned_total
        return total[IDLE], total[SPARE], total[REPAIR]

    def counts_of(self, gpu: str) -> tuple[int, int, int]:
        """``state_counts`` for the racks of one GPU type: O(1)."""
        counts = self.unowned_by_type[self.type_index(gpu)].tolist()
        return counts[0], counts[1], counts[2]

    # -- writers ------------------------------------------------------------------------
    def _classes(self, racks: IntArray) -> IntArray:
        cls = np.where(self.spare[racks], SPARE, IDLE)
        cls = np.where(self.healthy[racks] < self.gpus_per_rack, REPAIR, cls)
        return np.where(self.owner[racks] != FREE, _OWNED, cls).astype(np.int64)

    def _recount(self, racks: IntArray, before: IntArray) -> None:
        after = self._classes(racks)
        types = len(self.type_names)
        base = self.gpu_type[racks] * 4
        by = self.unowned_by_type
        by -= np.bincount(base + before, minlength=types * 4).reshape(types, 4)[:, :3]
        by += np.bincount(base + after, minlength=types * 4).reshape(types, 4)[:, :3]
        self.unowned_total = by.sum(axis=0).tolist()
        self.unowned_changes += 1

    def take(self, job: int, racks: IntArray, rank_keys: IntArray | None = None) -> None:
        """Give ``racks`` to ``job``, ranked in the order given (or with ``rank_keys``, the
        ranks of racks they replace)."""
        if np.any(self.owner[racks] != FREE):
            raise RuntimeError(f"rack already owned: {racks[self.owner[racks] != FREE][:3]}")
        if rank_keys is None:
            rank_keys = self._next_key + np.arange(len(racks), dtype=np.int64)
            self._next_key += len(racks)
        self.rank_key[racks] = rank_keys
        before = self._classes(racks)
        self.owner[racks] = job
        self.spare[racks] = False
        self.owned_count[job] += len(racks)
        self.allocation_changes += 1
        self.changed_jobs.add(job)
        self._recount(racks, before)

    def release(self, job: int, racks: IntArray) -> None:
        if np.any(self.owner[racks] != job):
            raise RuntimeError(f"job {job} releasing racks it does not own")
        before = self._classes(racks)
        self.owner[racks] = FREE
        self.owned_count[job] -= len(racks)
        self.allocation_changes += 1
        self.changed_jobs.add(job)
        self._recount(racks, before)

    def replace(self, job: int, lost: int, new: int) -> None:
        """``new`` takes ``lost``'s place (and rank) in ``job``; recorded as a replacement so
        a consumer can update what depends on the job's rank order in O(1)."""
        already = job in self.changed_jobs
        key = self.rank_key[[lost]]
        self.release(job, np.array([lost], dtype=np.int64))
        self.take(job, np.array([new], dtype=np.int64), rank_keys=key)
        if not already:
            self.changed_jobs.discard(job)
        self.replacements.append((job, lost, new))

    def set_spare(self, racks: IntArray) -> None:
        before = self._classes(racks)
        self.spare[racks] = True
        self._recount(racks, before)

    def _class_of(self, rack: int) -> int:
        if self.owner[rack] != FREE:
            return _OWNED
        if self.healthy[rack] < self.gpus_per_rack:
            return REPAIR
        return SPARE if self.spare[rack] else IDLE

    def change_health(self, rack: int, delta: int) -> None:
        """Lose (``delta < 0``) or regain GPUs of one rack."""
        healthy = min(max(int(self.healthy[rack]) + delta, 0), self.gpus_per_rack)
        if self.owner[rack] != FREE:  # a job's rack: its class (owned) stays
            self.healthy[rack] = healthy
            return
        before = self._class_of(rack)
        self.healthy[rack] = healthy
        after = self._class_of(rack)
        if before != after:
            self.unowned_changes += 1
            kind = int(self.gpu_type[rack])
            if before != _OWNED:
                self.unowned_by_type[kind, before] -= 1
                self.unowned_total[before] -= 1
            if after != _OWNED:
                self.unowned_by_type[kind, after] += 1
                self.unowned_total[after] += 1
