"""The Line API table (tui/ui/widgets/table.py): widths kept as rows come, change and go; only
the rows on screen drawn; the cursor on the same key across reorders; keys and the mouse."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.strip import Strip

from tui.ui.widgets.table import Table, cell

# Job names as operators write them, of different widths.
NAMES = ["nightly-vacuum", "refresh_mv_sales_daily", "purge-job-run-details", "ping",
         "pg_partman maintenance (run_maintenance_proc)", "rollup:usage:hourly"]


class Counting(Table):
    """Remembers which rows it was asked to draw."""

    def __init__(self) -> None:
        super().__init__()
        self.drawn: set[str] = set()

    def render_line(self, y: int) -> Strip:
        row = y - 1 + round(self.scroll_y)
        if y and 0 <= row < self.row_count:
            self.drawn.add(self.keys[row])
        return super().render_line(y)


class OneTable(App):
    def __init__(self) -> None:
        super().__init__()
        self.got: list[Table.RowSelected | Table.HeaderSelected] = []

    def compose(self) -> ComposeResult:
        yield Counting()

    def on_table_row_selected(self, event: Table.RowSelected) -> None:
        self.got.append(event)

    def on_table_header_selected(self, event: Table.HeaderSelected) -> None:
        self.got.append(event)


def fill(table: Table, count: int) -> list[str]:
    table.set_columns([("name", "Job"), ("n", "Runs")])
    keys = [f"k{i}" for i in range(count)]
    for i, key in enumerate(keys):
        table.put(key, [cell(NAMES[i % len(NAMES)]), cell(f"{i:,}", "dim")])
    table.set_order(keys)
    return keys


async def test_columns_as_wide_as_their_widest_row_through_changes() -> None:
    app = OneTable()
    async with app.run_test(size=(100, 20)):
        table = app.query_one(Counting)
        fill(table, 6)
        name, runs = table.columns
        widest = max(len(n) for n in NAMES)
        assert name.content_width == widest and name.width == widest + 2
        assert runs.content_width == len("Runs")  # the label is wider than "5"
        assert table.virtual_size.width == name.width + runs.width
        longest = f"k{NAMES.index(max(NAMES, key=len))}"
        # The widest row narrows: the column follows it down to the next widest.
        table.put(longest, [cell("ping"), cell("4")])
        assert name.content_width == len("refresh_mv_sales_daily") == len(NAMES[1])
        table.put("k3", [cell("x" * 60), cell("1,000,000")])
        assert (name.content_width, runs.content_width) == (60, len("1,000,000"))
        table.drop("k3")
        table.set_order([k for k in table.keys if k != "k3"])
        assert (name.content_width, runs.content_width) == (len(NAMES[1]), len("Runs"))
        # What is drawn: one blank each side of each column, the header in its labels.
        assert table.render_line(0).text.startswith(f" {'Job':<{name.content_width}}  Runs ")
        assert table.render_line(1).text.startswith(f" {NAMES[0]:<{name.content_width}}  0 ")


async def test_only_the_rows_on_screen_are_drawn() -> None:
    app = OneTable()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(Counting)
        keys = fill(table, 10_000)
        table.focus()
        await pilot.pause()
        on_screen = table.scrollable_content_region.height - 1
        assert table.drawn and table.drawn <= set(keys[:on_screen])
        table.drawn.clear()
        await pilot.press("pagedown")
        await pilot.pause()
        assert table.cursor_row == on_screen
        assert table.drawn and table.drawn <= set(keys[on_screen:3 * on_screen])
        table.drawn.clear()
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_key == keys[-1]
        assert table.drawn <= set(keys[-on_screen:])
        # A change to a row far off screen draws nothing.
        table.drawn.clear()
        table.put(keys[5], [cell("changed"), cell("5")])
        await pilot.pause()
        assert table.drawn == set()


async def test_the_cursor_stays_on_its_row_across_reorders() -> None:
    app = OneTable()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(Counting)
        keys = fill(table, 50)
        table.focus()
        await pilot.press("down", "down", "down")
        assert (table.cursor_row, table.cursor_key) == (3, "k3")
        table.set_order(list(reversed(keys)))  # a sort
        assert (table.cursor_row, table.cursor_key) == (46, "k3")
        await pilot.pause()
        assert table.scroll_y > 0  # scrolled to where it went
        table.set_order([k for k in reversed(keys) if k != "k3"])  # filtered out
        assert table.cursor_row == 46 and table.cursor_key == "k2"
        await pilot.press("home")
        assert (table.cursor_row, table.cursor_key) == (0, "k49")
        await pilot.press("up")
        assert table.cursor_row == 0


async def test_clicks_sort_by_header_move_and_select() -> None:
    app = OneTable()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(Counting)
        fill(table, 20)
        await pilot.pause()
        name_width = table.columns[0].width
        await pilot.click(Counting, offset=(name_width + 1, 0))  # the header of "Runs"
        await pilot.pause()
        assert [type(e) for e in app.got] == [Table.HeaderSelected]
        assert app.got[0].column == "n"  # type: ignore[union-attr]
        await pilot.click(Counting, offset=(2, 3))  # line 3 is the third row
        assert (table.cursor_row, table.cursor_key) == (2, "k2")
        await pilot.click(Counting, offset=(2, 3))  # again: that row is chosen
        await pilot.pause()
        assert isinstance(app.got[-1], Table.RowSelected) and app.got[-1].key == "k2"
        await pilot.press("enter")
        await pilot.pause()
        assert len(app.got) == 3 and app.got[-1].key == "k2"  # type: ignore[union-attr]
