"""A table of one-line rows drawn with Textual's Line API: its cost follows the rows on screen.

The jobs table holds ten thousand rows and the run stream five hundred; an operator sees forty.
So a row is kept as plain pieces of text (no Rich objects), only the lines on screen are drawn
(`render_line`), a change redraws the lines it touches, and each column's width is the widest
of its cells, kept as rows come, change and go (a count of rows per width), never measured
again over every row.

A cell is a tuple of `(text, style)` pieces, its texts single lines already made inert by
whoever built them (tui/text.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

Piece = tuple[str, str]
Cell = tuple[Piece, ...]
EMPTY: Cell = ()
PADDING = 1  # blank cells on each side of a column's text


def cell(text: str, style: str = "") -> Cell:
    return ((text, style),) if text else EMPTY


def width_of(value: Cell) -> int:
    return sum([len(text) if text.isascii() else cell_len(text) for text, _ in value])


def as_text(value: Cell) -> Text:
    """A cell as Rich Text (for callers that read cells: tests, the detail)."""
    text = Text()
    for part, style in value:
        text.append(part, style=style or None)
    return text


@dataclass
class Column:
    key: str
    label: str
    #: How many rows have each width: the column is as wide as the widest row still there.
    counts: Counter[int] = field(default_factory=Counter)
    widest: int = 0

    @property
    def content_width(self) -> int:
        return max(cell_len(self.label), self.widest)

    @property
    def width(self) -> int:
        """Drawn width, padding included."""
        return self.content_width + 2 * PADDING

    def add(self, width: int) -> bool:
        self.counts[width] += 1
        if width > self.widest:
            self.widest = width
            return True
        return False

    def remove(self, width: int) -> bool:
        left = self.counts[width] - 1
        if left > 0:
            self.counts[width] = left
            return False
        del self.counts[width]
        if width == self.widest:
            self.widest = max(self.counts, default=0)
            return True
        return False


class Table(ScrollView, can_focus=True):
    """Rows keyed by strings, shown in the order given, with a row cursor and a fixed header."""

    DEFAULT_CSS = """
    Table {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .table--header { background-tint: $foreground 5%; }
        }
        &:dark > .table--even-row { background: $surface-darken-1 40%; }
        & > .table--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .table--header { background: ansi_bright_blue; color: ansi_default; }
        & > .table--even-row { background: $surface-lighten-1 50%; }
        & > .table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .table--hover { background: $block-hover-background; }
    }
    """
    COMPONENT_CLASSES = {"table--header", "table--cursor", "table--even-row", "table--hover"}
    BINDINGS = [
        Binding("enter", "select", "Select", show=False),
        Binding("up", "cursor_up", "Cursor up", show=False),
        Binding("down", "cursor_down", "Cursor down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        # An operator expects Home/End to go to the first and last row.
        Binding("home", "first", "First row", id="table.first", show=False),
        Binding("end", "last", "Last row", id="table.last", show=False),
    ]

    class RowHighlighted(Message):
        """The cursor moved to another row (or another key came under it)."""

        def __init__(self, table: Table, cursor_row: int, key: str | None) -> None:
            super().__init__()
            self.table, self.cursor_row, self.key = table, cursor_row, key

        @property
        def control(self) -> Table:
            return self.table

    class RowSelected(Message):
        """Enter, or a click on the row under the cursor."""

        def __init__(self, table: Table, cursor_row: int, key: str) -> None:
            super().__init__()
            self.table, self.cursor_row, self.key = table, cursor_row, key

        @property
        def control(self) -> Table:
            return self.table

    class HeaderSelected(Message):
        """A click on a column's header."""

        def __init__(self, table: Table, column: str) -> None:
            super().__init__()
            self.table, self.column = table, column

        @property
        def control(self) -> Table:
            return self.table

    zebra_stripes = False

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.columns: list[Column] = []
        self.keys: list[str] = []  # display order
        self.cells: dict[str, Sequence[Cell] | None] = {}  # None: not built yet
        self.cell_widths: dict[str, tuple[int, ...]] = {}
        self.where: dict[str, int] | None = {}  # key -> row, rebuilt when the order changed
        self.cursor_row = 0
        self.cursor_key: str | None = None
        self.hover_row: int | None = None
        self.styles_for: dict[tuple, tuple[Style, ...]] = {}
        #: Rows put, dropped or reordered so far: what a refresh changed, for those who count.
        self.changes = 0

    # -- columns ---------------------------------------------------------------------
    def set_columns(self, columns: Iterable[tuple[str, str]]) -> None:
        """New columns: every row goes (their cells are per column)."""
        self.columns = [Column(key, label) for key, label in columns]
        self.clear()

    def column_index(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)

    # -- rows ------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self.keys)

    @property
    def rows(self) -> Collection[str]:
        """The keys shown (`key in table.rows`, `len(table.rows)`); a subclass may keep
        rows it does not show (in `cells`)."""
        if self.where is None:
            self.where = {k: i for i, k in enumerate(self.keys)}
        return self.where.keys()

    def index_of(self, key: str) -> int | None:
        if self.where is None:
            self.where = {k: i for i, k in enumerate(self.keys)}
        return self.where.get(key)

    def key_at(self, row: int) -> str | None:
        return self.keys[row] if 0 <= row < len(self.keys) else None

    def row_cells(self, key: str) -> Sequence[Cell]:
        """A row's cells, built now if they were left for when they are needed."""
        cells = self.cells[key]
        if cells is None:
            cells = self.build(key)
            self.put(key, cells)
        return cells

    def build(self, key: str) -> Sequence[Cell]:
        """The cells of a row put without them (see put): for a subclass that does that."""
        raise KeyError(key)

    def get_row(self, key: str) -> list[Text]:
        return [as_text(c) for c in self.row_cells(key)]

    def get_row_at(self, row: int) -> list[Text]:
        return self.get_row(self.keys[row])

    def get_cell(self, key: str, column: str) -> Text:
        return as_text(self.row_cells(key)[self.column_index(column)])

    def get_cell_at(self, coordinate: tuple[int, int]) -> Text:
        row, column = coordinate
        return as_text(self.row_cells(self.keys[row])[column])

    def clear(self) -> None:
        self.keys, self.cells, self.cell_widths, self.where = [], {}, {}, {}
        for column in self.columns:
            column.counts.clear()
            column.widest = 0
        self.cursor_row, self.cursor_key = 0, None
        self._resized()
        self.refresh()

    def put(self, key: str, cells: Sequence[Cell] | None,
            widths: tuple[int, ...] | None = None, *, redraw: bool = True) -> bool:
        """A row's cells, new or changed; True when a column changed width. The row is not
        placed: set_order does that. Only a row on screen is redrawn.

        `cells` None: built by build() when the row is first drawn or read; `widths` are then
        what is known of them already (0 where nothing is), so that ten thousand rows nobody
        looks at cost their widths only. `redraw` False: the caller redraws (set_order, or
        refresh_all after many rows)."""
        if cells is not None:
            widths = tuple([width_of(c) for c in cells])
        assert widths is not None
        before = self.cell_widths.get(key)
        resized = False
        if before != widths:
            if before is not None:
                for column, width in zip(self.columns, before):
                    resized |= column.remove(width)
            for column, width in zip(self.columns, widths):
                resized |= column.add(width)
            self.cell_widths[key] = widths
        self.cells[key] = cells
        self.changes += 1
        if not redraw:
            pass
        elif resized:
            self._resized()
            self.refresh()
        else:
            row = self.index_of(key)
            if row is not None:
                self.refresh_line(row + 1)
        return resized

    def put_unbuilt(self, rows: list[tuple[str, tuple[int, ...]]]) -> None:
        """New rows, cells left for build(), with what is known of their widths: as put()
        would one by one, counted per column in one pass (the first refresh brings ten
        thousand). The caller redraws (set_order, or refresh_all)."""
        for key, widths in rows:
            assert key not in self.cell_widths, key
            self.cells[key] = None
            self.cell_widths[key] = widths
        for i, column in enumerate(self.columns):
            counts = Counter([widths[i] for _, widths in rows])
            column.counts.update(counts)
            column.widest = max(column.widest, max(counts, default=0))
        self.changes += len(rows)

    def drop(self, key: str, *, redraw: bool = True) -> None:
        """A row gone from the data (the order is set by set_order)."""
        self.cells.pop(key, None)
        self.changes += 1
        widths = self.cell_widths.pop(key, None)
        if widths is not None:
            for column, width in zip(self.columns, widths):
                column.remove(width)
        if redraw:
            self.refresh_all()

    def refresh_all(self) -> None:
        """After rows were put or dropped without redrawing: the widths, and what is shown."""
        self._resized()
        self.refresh()

    def set_order(self, keys: list[str], *, follow: bool = True) -> None:
        """The rows shown, top to bottom (each put() before). The cursor stays on its key
        when `follow` and the key is still there, else on its row number."""
        self.keys = keys
        self.where = None
        self.changes += 1
        self._resized()
        self.refresh()
        row = self.index_of(self.cursor_key) if follow and self.cursor_key is not None else None
        self.move_cursor(row=self.cursor_row if row is None else row, scroll=row is not None)

    def _resized(self) -> None:
        self.virtual_size = Size(sum(c.width for c in self.columns), len(self.keys) + 1)

    # -- the cursor ------------------------------------------------------------------
    def move_cursor(self, *, row: int, scroll: bool = True) -> None:
        row = max(0, min(row, len(self.keys) - 1))
        key = self.key_at(row)
        before, before_key = self.cursor_row, self.cursor_key
        self.cursor_row, self.cursor_key = row, key
        if before != row:
            self.refresh_line(before + 1)
            self.refresh_line(row + 1)
        if scroll:
            self.scroll_to_row(row)
        if (before, before_key) != (row, key):
            self.post_message(self.RowHighlighted(self, row, key))

    def scroll_to_row(self, row: int) -> None:
        visible = max(self.scrollable_content_region.height - 1, 1)
        top = round(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False, force=True)
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=False, force=True)

    @property
    def page(self) -> int:
        return max(self.scrollable_content_region.height - 1, 1)

    def action_cursor_up(self) -> None:
        self.hover_row = None
        self.move_cursor(row=self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.hover_row = None
        self.move_cursor(row=self.cursor_row + 1)

    def action_page_down(self) -> None:
        self.hover_row = None
        self.scroll_to(y=self.scroll_y + self.page, animate=False, force=True)
        self.move_cursor(row=self.cursor_row + self.page, scroll=False)
        self.scroll_to_row(self.cursor_row)

    def action_page_up(self) -> None:
        self.hover_row = None
        self.scroll_to(y=self.scroll_y - self.page, animate=False, force=True)
        self.move_cursor(row=self.cursor_row - self.page, scroll=False)
        self.scroll_to_row(self.cursor_row)

    def action_first(self) -> None:
        self.move_cursor(row=0)

    def action_last(self) -> None:
        self.move_cursor(row=len(self.keys) - 1)

    def action_select(self) -> None:
        if self.cursor_key is not None:
            self.post_message(self.RowSelected(self, self.cursor_row, self.cursor_key))

    # -- the mouse -------------------------------------------------------------------
    def _at(self, event: events.MouseEvent) -> tuple[int | None, str | None]:
        """(row, column key) under the pointer: row -1 is the header."""
        offset = event.get_content_offset(self)
        if offset is None:
            return None, None
        x = offset.x + round(self.scroll_x)
        row = -1 if offset.y == 0 else offset.y - 1 + round(self.scroll_y)
        column = None
        for c in self.columns:
            if x < c.width:
                column = c.key
                break
            x -= c.width
        return row, column

    def on_click(self, event: events.Click) -> None:
        row, column = self._at(event)
        if row is None:
            return
        if row == -1:
            if column is not None:
                self.post_message(self.HeaderSelected(self, column))
            return
        if row >= len(self.keys):
            return
        event.stop()
        if row == self.cursor_row and self.cursor_key is not None:
            self.post_message(self.RowSelected(self, row, self.cursor_key))
        else:
            self.move_cursor(row=row)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        row, _ = self._at(event)
        row = row if row is not None and 0 <= row < len(self.keys) else None
        if row != self.hover_row:
            for old in (self.hover_row, row):
                if old is not None:
                    self.refresh_line(old + 1)
            self.hover_row = row

    def on_leave(self, event: events.Leave) -> None:
        if self.hover_row is not None:
            self.refresh_line(self.hover_row + 1)
            self.hover_row = None

    # -- drawing ---------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.styles_for.clear()

    def _styles(self) -> tuple[Style, ...]:
        """(base, header, even row, cursor, cursor's colour on top, hover), per focus."""
        key = (self.has_focus, self.app.theme)
        styles = self.styles_for.get(key)
        if styles is None:
            get = self.get_component_rich_style
            cursor = get("table--cursor")
            styles = (self.rich_style, get("table--header"), get("table--even-row"), cursor,
                      Style.from_color(color=cursor.color), get("table--hover"))
            self.styles_for = {key: styles}
        return styles

    def render_line(self, y: int) -> Strip:
        base, header, even, cursor, on_top, hover = self._styles()
        width = self.size.width
        scroll_x = round(self.scroll_x)
        if y == 0:
            cells: Sequence[Cell] = [cell(c.label) for c in self.columns]
            row_style, post = header, Style()
        else:
            row = y - 1 + round(self.scroll_y)
            if row >= len(self.keys):
                return Strip.blank(width, base)
            cells = self.row_cells(self.keys[row])
            row_style = even if self.zebra_stripes and row % 2 == 0 else base
            post = Style()
            if row == self.cursor_row:
                row_style, post = row_style + cursor, on_top
            elif row == self.hover_row:
                row_style = row_style + hover
        segments: list[Segment] = []
        pad = " " * PADDING
        for column, value in zip(self.columns, cells):
            room = column.content_width
            segments.append(Segment(pad, row_style + post))
            used = 0
            for text, style in value:
                if used >= room:
                    break
                piece = text if used + cell_len(text) <= room else _crop(text, room - used)
                used += cell_len(piece)
                segments.append(Segment(piece, row_style + Style.parse(style) + post
                                        if style else row_style + post))
            segments.append(Segment(" " * (room - used) + pad, row_style + post))
        strip = Strip(segments)
        if strip.cell_length < width + scroll_x:
            strip = strip.extend_cell_length(width + scroll_x, row_style + post)
        return strip.crop(scroll_x, scroll_x + width).adjust_cell_length(width, base).simplify()


def _crop(text: str, room: int) -> str:
    while cell_len(text) > room:
        text = text[:-1]
    return text
