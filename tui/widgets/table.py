"""A DataTable of one-line rows whose per-change cost does not grow with its row count.

DataTable rebuilds two lists of every row (the rows in display order, and a (row, line) pair
per line) after any change, even one cell: 10,000 jobs meant 20,000 new objects per refresh and
the garbage collector walking them. With every row one line high, both are plain lookups in
the row order DataTable already keeps, so they are served as views instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets._data_table import Row, RowKey


class _RowsInOrder(Sequence[Row]):
    def __init__(self, table: DataTable) -> None:
        self.table = table

    def __len__(self) -> int:
        return len(self.table.rows)

    @overload
    def __getitem__(self, index: int) -> Row: ...
    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        key = self.table._row_locations.get_key(index)
        if key is None:
            raise IndexError(index)
        return self.table.rows[key]


class _LineOffsets(Sequence[tuple[RowKey, int]]):
    """Line y is row y, at its line 0."""

    def __init__(self, table: DataTable) -> None:
        self.rows = _RowsInOrder(table)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, y):  # type: ignore[override]
        if isinstance(y, slice):
            return [self[i] for i in range(*y.indices(len(self)))]
        return (self.rows[y].key, 0)

    def clear(self) -> None:
        """DataTable.clear() empties the list it built; a view has nothing to empty."""


class Table(DataTable):
    """Rows are added with the default height of one line, always."""

    # DataTable's Home/End scroll sideways; an operator expects the first and last row.
    BINDINGS = [Binding("home", "scroll_top", "First row", id="table.first", show=False),
                Binding("end", "scroll_bottom", "Last row", id="table.last", show=False)]

    @property
    def ordered_rows(self) -> Sequence[Row]:  # type: ignore[override]
        return _RowsInOrder(self)

    @property
    def _y_offsets(self) -> _LineOffsets:  # type: ignore[override]
        return _LineOffsets(self)
