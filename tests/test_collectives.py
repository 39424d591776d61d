"""α–β collective costs: bytes moved per algorithm, tiers, degenerate groups."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from colossus_sim.config.load import load_gpu
from colossus_sim.perf import collectives as c

BW = 100e9  # bytes/s


@given(n=st.integers(2, 4096), buf=st.floats(1e3, 1e11))
def test_ring_all_reduce_moves_two_n_minus_one_over_n_of_the_buffer(n: int, buf: float) -> None:
    t = float(c.ring_all_reduce_s(buf, n, BW, 0.0))
    assert t == pytest.approx(2 * (n - 1) / n * buf / BW, rel=1e-12)


def test_reduce_scatter_plus_all_gather_is_all_reduce() -> None:
    rs = c.reduce_scatter_s(1e9, 8, BW, 5e-6)
    ag = c.all_gather_s(1e9, 8, BW, 5e-6)
    assert float(rs + ag) == pytest.approx(float(c.ring_all_reduce_s(1e9, 8, BW, 5e-6)))


def test_single_rank_collectives_cost_nothing() -> None:
    links = c.Links.of(load_gpu("gb200"))
    assert float(c.ring_all_reduce_s(1e9, 1, BW, 1e-5)) == 0.0
    assert float(c.all_to_all_s(1e9, 1, 1, links)) == 0.0
    assert float(c.tree_all_reduce_s(1e9, 1, BW, 1e-5)) == 0.0


def test_tree_beats_ring_on_latency_for_small_messages() -> None:
    n, small = 1024, 1e3
    assert float(c.tree_all_reduce_s(small, n, BW, 5e-6)) < float(
        c.ring_all_reduce_s(small, n, BW, 5e-6)
    )


def test_hierarchical_all_reduce_inside_one_domain_is_nvlink_only() -> None:
    links = c.Links.of(load_gpu("gb200"))
    inside = float(c.hierarchical_all_reduce_s(1e9, 64, 64, links))
    ring = float(c.ring_all_reduce_s(1e9, 64, links.nvlink_bytes_per_s, links.nvlink_latency_s))
    assert inside == pytest.approx(ring)


def test_crossing_the_nvlink_domain_is_slower() -> None:
    links = c.Links.of(load_gpu("gb200"))
    # 72 GPUs of one rack vs 72 ranks spread one per rack: NIC is 18× slower than NVLink.
    inside = float(c.all_to_all_s(1e9, 72, 72, links))
    across = float(c.all_to_all_s(1e9, 72, 1, links))
    assert across > 10 * inside
    assert float(c.hierarchical_all_reduce_s(1e9, 512, 8, links)) > float(
        c.hierarchical_all_reduce_s(1e9, 512, 64, links)
    )


def test_functions_broadcast_over_arrays() -> None:
    n = np.array([2, 4, 8])
    t = c.ring_all_reduce_s(1e9, n, BW, 0.0)
    assert t.shape == (3,)
    assert np.all(np.diff(t) > 0)
