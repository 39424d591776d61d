"""The libyaml reader gives exactly what ruamel's round-trip loader gives, or steps aside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from colossus_sim.config import yamlio
from colossus_sim.config.yamlfast import read_plain

ROOT = Path(__file__).resolve().parent.parent
DATA_FILES = sorted(
    p
    for folder in ("topologies", "workloads", "scenarios", "tests/data")
    for p in (ROOT / folder).rglob("*.yaml")
)


def _round_trip(text: str) -> tuple[Any, dict[Any, tuple[int, int]]]:
    positions: dict[Any, tuple[int, int]] = {}
    return yamlio._plain(YAML(typ="rt").load(text), (), positions), positions


def test_every_data_file_reads_the_same_data_and_positions_fast() -> None:
    fast_read = 0
    for path in DATA_FILES:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # the not-UTF-8 corpus file never reaches a YAML reader
        fast = read_plain(text)
        if fast is None:
            continue
        fast_read += 1
        assert fast == _round_trip(text), path
    # Every real file takes the fast path; only broken corpus files may not.
    broken = {"empty.yaml", "not_yaml.yaml", "not_utf8.yaml"}
    assert fast_read >= len([p for p in DATA_FILES if p.name not in broken])


TRICKY = [
    "12", "012", "0o17", "0x1F", "1_000", "1e3", "100.0e12", ".inf", "-.Inf", ".nan", "true",
    "True", "FALSE", "yes", "no", "on", "off", "y", "null", "~", "", "1:20", "+12", "-0", "0.5",
    "5.", "3.14_15", "'12'", '"true"', "gb300", "+20%", "a b", "[1, 2]", "{x: 1}", "2025-07-01",
    "!!str 12", "!!float 1", "&a 3", "*a", "<<", "|\n    block\n", ">-\n    folded\n",
]  # fmt: skip


@pytest.mark.filterwarnings("ignore::ruamel.yaml.error.ReusedAnchorWarning")
@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.sampled_from(TRICKY), st.text(max_size=12)), min_size=1, max_size=6
    ),
    keys=st.lists(st.sampled_from(["a", "b", "1", "true", "null", "<<", "x y"]), min_size=6),
)
@example(values=["!"], keys=["a"] * 6)  # the non-specific tag: ruamel reads null, not ""
@example(values=["&a 3", "&a 4", "*a"], keys=["a", "b", "x y"] * 2)  # an anchor reused
def test_any_document_reads_as_the_round_trip_loader_reads_it_or_falls_back(
    values: list[str], keys: list[str]
) -> None:
    text = "".join(f"{k}: {v}\n" for k, v in zip(keys, values, strict=False))
    try:
        want = _round_trip(text)
    except Exception:
        assert read_plain(text) is None  # ruamel refuses it: the fast reader must not accept
        return
    got = read_plain(text)
    if got is not None:
        assert got == want, text


@pytest.mark.parametrize(
    "text",
    [
        "a: !!str 12\n",  # an explicit tag
        "base: &b {x: 1}\nc:\n  <<: *b\n",  # a merge key
        "when: 2025-07-01\n",  # a timestamp
        "a: 1\na: 2\n",  # a duplicate key
        "%YAML 1.1\n---\na: yes\n",  # a directive changing the typing rules
        "- 1\n- 2\n",  # not a mapping: the error comes from the round-trip path
    ],
)
def test_what_only_the_round_trip_loader_should_read_falls_back(text: str) -> None:
    fast = read_plain(text)
    assert fast is None or not isinstance(fast[0], dict)


def test_a_duplicate_key_is_still_an_error_naming_its_line(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("name: x\nseed: 1\nseed: 2\n")
    with pytest.raises(yamlio.ScenarioError) as caught:
        yamlio.read_yaml(path)
    assert ":3" in str(caught.value)
