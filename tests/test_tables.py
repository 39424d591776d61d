"""Tables on a terminal (``cli/tables.py``): a fitted table is never wider than the terminal
when its kept columns can fit, never cuts a cell, and names what it left out; piped, a table
keeps every column whatever its width."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from colossus_sim.cli import tables

WORDS = st.text(alphabet="abcdefghij·/%", min_size=1, max_size=9)
HEADERS = st.lists(WORDS, min_size=1, max_size=3).map(" ".join)
CELLS = st.text(alphabet="0123456789,.·abc —", min_size=0, max_size=18)


@settings(max_examples=150, deadline=None)
@given(
    headers=st.lists(HEADERS, min_size=1, max_size=8, unique=True),
    data=st.data(),
    width=st.integers(min_value=20, max_value=200),
)
def test_a_fitted_table_fits_or_drops_columns_and_cuts_no_cell(
    headers: list[str], data: st.DataObject, width: int
) -> None:
    rows = data.draw(
        st.lists(
            st.lists(CELLS, min_size=len(headers), max_size=len(headers)), min_size=1, max_size=6
        )
    )
    droppable = headers[1:]  # the first column always stays, as a job's name does
    table = tables.fitted("t", [(h, "left") for h in headers], rows, width, droppable)
    console = Console(width=10_000, record=True, file=io.StringIO())
    console.print(table)
    lines = [line for line in console.export_text().splitlines() if line[:1] in "┏┃┡│└"]
    kept = len(table.columns)
    first_alone = kept == 1
    widest = max(len(line) for line in lines)
    assert widest <= width or first_alone  # one column too wide for the terminal is all it can do
    shown = "\n".join(lines)
    assert "…" not in shown
    kept_headers = [" ".join(str(c.header).split("\n")) for c in table.columns]
    body = [line for line in lines if line.startswith("│")]
    assert len(body) == len(rows)  # one line a row: headers may wrap, cells never
    for row, line in zip(rows, body, strict=True):
        cells = line.split("│")[1:-1]
        kept_cells = [row[headers.index(h)] for h in kept_headers]
        assert [c.strip() for c in cells] == [c.strip() for c in kept_cells]
    left_out = len(headers) - kept
    caption = " ".join(str(table.caption or "").split())
    assert (left_out == 0) == (table.caption is None)
    assert left_out == 0 or caption.startswith("not shown, for the terminal's width:")


def test_piped_a_table_wider_than_the_text_lines_keeps_every_column(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = [f"column number {i}" for i in range(12)]
    table = tables.fitted("wide", [(h, "right") for h in headers], [["1,234,567"] * 12], None)
    screen = io.StringIO()
    piped = Console(file=screen, width=160, force_terminal=False, highlight=False)
    monkeypatch.setattr(tables, "out", piped)
    tables.print_table(table)
    text = screen.getvalue()
    assert all(f" {h} " in text for h in headers) and "…" not in text
    assert max(len(line) for line in text.splitlines()) > 160
    assert piped.width == 160  # the text lines after it wrap where they did
