"""Every source the data cites is listed in docs/sources.md, and nothing cites a file the
repository does not have.

A planner following a number from a data file to its source must be able to: a citation
``docs/sources.md#<id>`` has to land on an entry, a ``*.md`` name has to be a file in the
repository (a name inside a URL points outside and is exempt), and every entry has to be used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "docs" / "sources.md"

CITE = re.compile(r"(?:docs/)?sources\.md#([A-Za-z0-9_-]+)")
MD_NAME = re.compile(r"[\w-]+\.md\b")
URL = re.compile(r"<?https?://[^\s>)\]\"']+")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$")


def _data_files() -> list[Path]:
    """The data and docs the rule covers: topologies, workloads, scenarios, docs, README."""
    files = [ROOT / "README.md"]
    for folder in ("topologies", "workloads", "scenarios", "docs"):
        files += [
            p for p in sorted((ROOT / folder).rglob("*")) if p.suffix in {".yaml", ".yml", ".md"}
        ]
    return files


def _code_files() -> list[Path]:
    return sorted((ROOT / "colossus_sim").rglob("*.py"))


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    yield from enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)


def _where(path: Path, number: int) -> str:
    return f"{path.relative_to(ROOT)}:{number}"


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens."""
    slug = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return slug.replace(" ", "-")


def _entries() -> dict[str, int]:
    """Entry ids (### headings) of docs/sources.md and the line each is on."""
    entries = {}
    for number, line in _lines(SOURCES):
        if line.startswith("### "):
            entries[_anchor(line[4:])] = number
    return entries


def _anchors() -> set[str]:
    return {_anchor(m.group(1)) for _, line in _lines(SOURCES) if (m := HEADING.match(line))}


def _repo_md_names() -> set[str]:
    skip = {".git", ".venv", "node_modules", "__pycache__"}
    return {p.name for p in ROOT.rglob("*.md") if not skip.intersection(p.relative_to(ROOT).parts)}


def test_every_cited_source_has_an_entry() -> None:
    anchors = _anchors()
    missing = [
        f"{_where(path, number)}: docs/sources.md#{m.group(1)} has no heading in docs/sources.md"
        for path in _data_files() + _code_files()
        for number, line in _lines(path)
        for m in CITE.finditer(line)
        if m.group(1) not in anchors
    ]
    assert not missing, "\n".join(missing)


def test_no_file_names_a_markdown_file_outside_the_repository() -> None:
    known = _repo_md_names()
    offenders = []
    for path in _data_files() + _code_files():
        for number, line in _lines(path):
            for m in MD_NAME.finditer(URL.sub(" ", line)):
                if m.group(0) not in known:
                    offenders.append(
                        f"{_where(path, number)}: names {m.group(0)}, which is not in the "
                        "repository; cite the primary source and its docs/sources.md entry"
                    )
    assert not offenders, "\n".join(offenders)


def test_every_entry_is_cited() -> None:
    cited = {
        m.group(1)
        for path in _data_files() + _code_files()
        if path != SOURCES
        for _, line in _lines(path)
        for m in CITE.finditer(line)
    }
    dead = [
        f"docs/sources.md:{number}: entry '{entry}' is cited nowhere"
        for entry, number in _entries().items()
        if entry not in cited
    ]
    assert not dead, "\n".join(dead)


def test_entries_are_unique() -> None:
    seen: dict[str, int] = {}
    duplicates = []
    for number, line in _lines(SOURCES):
        if line.startswith("### "):
            entry = _anchor(line[4:])
            if entry in seen:
                duplicates.append(f"docs/sources.md:{number}: '{entry}' repeats line {seen[entry]}")
            seen[entry] = number
    assert not duplicates, "\n".join(duplicates)
