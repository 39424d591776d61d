"""Data files and their schemas: provenance everywhere, located errors, did-you-mean."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from colossus_sim import paths
from colossus_sim.config.cluster import ClusterSpec
from colossus_sim.config.hardware import GpuSpec
from colossus_sim.config.load import (
    gpu_names,
    job_names,
    load_cluster,
    load_file,
    load_gpu,
    load_jobs,
    load_perf_constants,
    load_validation_cases,
)
from colossus_sim.config.workload import JobSpec
from colossus_sim.config.yamlio import parse_yaml_text, validate
from colossus_sim.errors import ScenarioError

JOB_TEXT = (paths.workloads_dir() / "grok5_10t.yaml").read_text()


def test_every_data_file_loads() -> None:
    assert set(gpu_names()) >= {"a100", "h100", "gb200", "gb300"}
    assert len(load_jobs()) == 7
    assert len(load_validation_cases()) >= 10
    load_perf_constants()
    cluster = load_cluster()
    # ~550k GPUs in NVL72 racks (Musk, Jul 2025): 7,639 × 72.
    assert cluster.gpus == pytest.approx(550_000, rel=0.001)


def test_the_default_jobs_fit_their_gpu_types_racks() -> None:
    cluster = load_cluster()
    used: dict[str, int] = {}
    for job in load_jobs():
        used[job.default_gpu] = used.get(job.default_gpu, 0) + job.default_racks
    for gpu, racks in used.items():
        assert racks <= cluster.rack_mix[gpu], gpu


def test_every_assumption_and_source_is_written_out() -> None:
    for name in gpu_names():
        gpu = load_gpu(name)
        for field in ("peak_dense_tflops", "hbm_gb", "tdp_w", "matmul_efficiency"):
            prov = gpu.provenance_of(field)
            assert prov is not None and len((prov.source or prov.assumption or "").strip()) > 10


def _job_error(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        validate(JobSpec, parse_yaml_text(text, "job.yaml"))
    return caught.value


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_typo_is_located_with_a_suggestion() -> None:
    text = JOB_TEXT.replace("  layers: 128", "  layerz: 128")
    err = _job_error(text)
    issues = {i.field: i for i in err.issues}
    assert "arch.layerz" in issues
    typo = issues["arch.layerz"]
    assert typo.line == _line_of(text, "layerz") and typo.suggestion == "layers"


def test_a_wrong_type_names_the_line_and_the_value() -> None:
    text = JOB_TEXT.replace("  seq_len: 8192", "  seq_len: eight-k")
    err = _job_error(text)
    assert err.field == "training.seq_len"
    assert err.line == _line_of(text, "eight-k")
    assert "eight-k" in (err.issues[0].got or "")


def test_a_value_without_provenance_is_rejected() -> None:
    text = JOB_TEXT.replace("  default_racks:\n", "  unused_racks:\n")
    err = _job_error(text)
    assert any("provenance" in i.message for i in err.issues)


def test_a_missing_file_and_bad_yaml_are_scenario_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file not found"):
        load_file(GpuSpec, tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\n  title: [unclosed\n")
    with pytest.raises(ScenarioError) as caught:
        load_file(GpuSpec, bad)
    assert caught.value.line is not None
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(ScenarioError, match="UTF-8"):
        load_file(GpuSpec, binary)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ScenarioError, match="empty"):
        load_file(ClusterSpec, empty)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ScenarioError, match="mapping"):
        load_file(ClusterSpec, listing)


_KEYS = [
    line.split(":")[0].strip()
    for line in JOB_TEXT.splitlines()
    if line.startswith("  ")
    and not line.startswith("    ")
    and ":" in line
    and not line.strip().startswith("#")
]


@settings(max_examples=60, deadline=None)
@given(
    key=st.sampled_from(sorted(set(_KEYS))),
    action=st.sampled_from(["rename", "retype", "drop"]),
    junk=st.sampled_from(["[1, 2]", "{a: 1}", "-3", ".nan", "1e400", "''", "yes", "x"]),
)
def test_mutated_job_files_fail_cleanly_or_load(key: str, action: str, junk: str) -> None:
    # Property: whatever one key suffers, loading either succeeds or raises a ScenarioError
    # whose every issue names the file, a line and a field; nothing else escapes.
    lines = JOB_TEXT.splitlines()
    out = []
    for line in lines:
        if line.startswith(f"  {key}:"):
            if action == "rename":
                line = line.replace(f"  {key}:", f"  {key}x:", 1)
            elif action == "retype":
                line = f"  {key}: {junk}"
            else:
                continue
        out.append(line)
    try:
        validate(JobSpec, parse_yaml_text("\n".join(out), "job.yaml"))
    except ScenarioError as err:
        for issue in err.issues:
            assert issue.file == "job.yaml" and issue.line is not None and issue.line >= 1


def test_job_names_are_their_file_names() -> None:
    for name in job_names():
        assert load_file(JobSpec, paths.workloads_dir() / f"{name}.yaml").name == name


def test_a_plus_without_percent_is_refused_not_read_as_an_absolute_value() -> None:
    """``racks=+20`` could mean 20 racks or 20% more: refused, naming both spellings."""
    from colossus_sim.errors import ScenarioError
    from colossus_sim.scenario import parse_override

    with pytest.raises(ScenarioError, match=r"ambiguous .*\+20% to change the value by 20%, or 20"):
        parse_override("jobs.grok5_10t.racks=+20")
    assert parse_override("jobs.grok5_10t.racks=+20%").relative_pct == 20.0
    assert parse_override("jobs.grok5_10t.racks=20").value == 20
