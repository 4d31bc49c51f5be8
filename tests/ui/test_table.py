"""Table serves DataTable's row order as views (tui/widgets/table.py): through every kind of
change they must say what DataTable's own lists say, and a click must land on its row."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import DataTable

from tui.widgets.table import Table


class OneTable(App):
    def compose(self) -> ComposeResult:
        yield Table()


def agree(table: Table) -> None:
    # DataTable's own lists, built afresh (their caches emptied first).
    table._offset_cache.clear()
    table._ordered_row_cache.clear()
    rows = DataTable.ordered_rows.fget(table)  # type: ignore[attr-defined]
    offsets = DataTable._y_offsets.fget(table)  # type: ignore[attr-defined]
    assert list(table.ordered_rows) == rows
    assert len(table.ordered_rows) == len(rows)
    assert table.ordered_rows[1:4] == rows[1:4]
    assert list(table._y_offsets) == offsets
    assert table._total_row_height == len(offsets)
    if rows:
        assert table.ordered_rows[-1] == rows[-1]


async def test_views_agree_with_datatable_through_changes() -> None:
    app = OneTable()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(Table)
        table.add_column("name", key="name")
        table.add_column("n", key="n")
        agree(table)
        for n in (5, 3, 9, 1, 7, 2):
            table.add_row(f"row {n}", n, key=f"k{n}")
        agree(table)
        table.remove_row("k9")
        agree(table)
        table.sort("n")
        agree(table)
        table.update_cell("k1", "n", 10)
        table.sort("n", reverse=True)
        agree(table)
        await pilot.pause()
        # The click lands on the row drawn under the pointer: line 3 is the third row
        # (the header is line 0), which after the sorts is the one DataTable puts third.
        await pilot.click(Table, offset=(2, 3))
        third = DataTable.ordered_rows.fget(table)[2]  # type: ignore[attr-defined]
        assert table.coordinate_to_cell_key((table.cursor_row, 0)).row_key == third.key
        assert table.get_row_at(2) == table.get_row(third.key)
        table.clear()
        agree(table)
        assert list(table.ordered_rows) == []
