"""Where the commands print, and tables that fit: the two consoles (stdout for results,
stderr for progress, errors and ``wrote``), text wrapped at a terminal's width or at 160 columns
when piped, and tables that fit a terminal without cutting a cell and, piped, keep every
column.

A table's width is known before rich lays it out (``fitted``: each column's widest cell and
header, a space either side and a rule), so columns are left out, or headers wrapped, before
rich would shrink and cut cells. Piped into a file or another program, nobody's width applies:
``print_table`` gives the table the width it needs. Cost: a measure of a few dozen rows.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Console, JustifyMethod
from rich.table import Table

out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 160)


def fitted(
    title: str,
    columns: list[tuple[str, JustifyMethod]],
    rows: list[list[str]],
    width: int | None,
    drop_first: Sequence[str] = (),
) -> Table:
    """A table of ``rows`` no wider than ``width`` (None: as wide as it needs): no cell is cut
    (the job's name least of all). Headers stay on one line when the table fits so; otherwise
    each wraps at its spaces to its column's widest cell or word, and the columns of
    ``drop_first`` are left out, in its order, until the rest fit; the caption names them."""
    cells = {name: max((len(r[i]) for r in rows), default=0) for i, (name, _) in enumerate(columns)}
    whole = {name: max(len(name), cells[name]) for name in cells}
    wrapped = {name: _wrap_width(name, cells[name]) for name in cells}
    kept = [name for name, _ in columns]
    width = _table_width(whole, kept) if width is None else width
    for name in drop_first:
        if _table_width(wrapped, kept) <= width:
            break
        if name in kept:
            kept.remove(name)
    one_line = _table_width(whole, kept) <= width
    dropped = [name for name, _ in columns if name not in kept]
    caption = f"not shown, for the terminal's width: {', '.join(dropped)}" if dropped else None
    table = Table(title=title, caption=caption)
    index = [i for i, (name, _) in enumerate(columns) if name in kept]
    for i in index:
        name, justify = columns[i]
        # a header with a line break is as wide as its longest line (no_wrap keeps cells whole)
        header = name if one_line else _wrapped(name, cells[name])
        table.add_column(header, justify=justify, no_wrap=True)
    for row in rows:
        table.add_row(*(row[i] for i in index))
    return table


def _wrap_width(header: str, cells_width: int) -> int:
    """The width of a column whose header breaks at its spaces: its widest cell, or the
    header's longest word."""
    return max(cells_width, *map(len, header.split()))


def _wrapped(header: str, cells_width: int) -> str:
    """``header`` broken at its spaces into lines no wider than ``_wrap_width``."""
    return "\n".join(textwrap.wrap(header, _wrap_width(header, cells_width)))


def _table_width(widths: dict[str, int], names: list[str]) -> int:
    """A rich table's width: each column's text, a space either side and a rule, and the
    closing rule."""
    return sum(widths[name] + 3 for name in names) + 1


UNBOUNDED = 100_000
"""Columns a piped table is measured in (its natural width, whatever that is)."""


def _natural_width(table: Table) -> int:
    """The columns ``table`` takes when nothing limits it."""
    return out.measure(table, options=out.options.update_width(UNBOUNDED)).maximum


def terminal_width() -> int | None:
    """The width tables are fitted to: the terminal's, or None when stdout is not one."""
    return out.width if out.is_terminal else None


def uncut(table: Table, width: int) -> Table:
    """``table`` made to show whole in ``width`` columns as far as it can: when it is wider,
    its headers break at their spaces to their columns' widest cells first; and a cell still
    wider than the column rich then leaves it folds onto the next line (a number split over
    two lines still reads right; one ending in "…" does not)."""
    if _natural_width(table) > width:
        for column in table.columns:
            if isinstance(column.header, str):
                widest = max((cell_len(str(cell)) for cell in column.cells), default=0)
                column.header = _wrapped(column.header, widest)
    for column in table.columns:
        if column.overflow == "ellipsis":
            column.overflow = "fold"
    return table


def print_table(table: Table) -> None:
    """A table on stdout, whole: in a terminal ``fitted`` tables leave columns out to fit its
    width, and others break their headers and fold what still does not fit (``uncut``); piped
    into a file or another program, where nobody's width applies, the table takes the width it
    needs instead of the text lines' 160 columns (rich would cut it there)."""
    if out.is_terminal:
        out.print(uncut(table, out.width))
        return
    text_width = out.width
    out.width = max(text_width, _natural_width(table))
    try:
        out.print(table)
    finally:
        out.width = text_width
