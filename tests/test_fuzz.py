"""Fuzzed bad input: the CLI exits 0 or 2 on every mutated scenario, workload and ``--set``.

Inputs start from the real files (``scenarios/*.yaml``, ``workloads/*.yaml``) and the default
scenario; ``tests/fuzzing.py`` mutates them (keys dropped, retyped, renamed, duplicated at any
depth; -1, 0, NaN, inf, 1e308, huge ints, empty strings, lists for mappings; truncated files,
non-UTF-8 bytes). Scenario runs are cut to half a day. ``benchmarks/fuzz_offline.py`` runs many
more of the same. Derandomized, so the suite tries the same inputs every time.
"""

from __future__ import annotations

import random
from pathlib import Path
from types import ModuleType

import pytest
from fuzzing import file_case, run_case, set_case
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FILE_EXAMPLES = 200
SET_EXAMPLES = 100


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@_settings(FILE_EXAMPLES)
@given(rng=st.randoms(use_true_random=False))
def test_mutated_files_exit_0_or_2(
    cli_module: ModuleType, folder: Path, rng: random.Random
) -> None:
    case = file_case(rng)
    code, problem = run_case(cli_module, case, folder)
    assert problem is None, f"{case.label} {case.args}\n{problem}"
    assert code in (0, 2)


@_settings(SET_EXAMPLES)
@given(rng=st.randoms(use_true_random=False))
def test_random_set_strings_exit_0_or_2(
    cli_module: ModuleType, folder: Path, rng: random.Random
) -> None:
    case = set_case(rng)
    code, problem = run_case(cli_module, case, folder)
    assert problem is None, f"{case.label}\n{problem}"
    assert code in (0, 2)
