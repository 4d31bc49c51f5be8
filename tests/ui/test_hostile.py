"""Hostile database text on every screen, under every key: no crash, and nothing of it
reaches the terminal raw.

Jobs, schedule tails, commands, run messages, a role and a database are built from
tests/corpus/hostile.py on the real cluster. The app renders as to a real terminal: its
driver keeps the exact text Textual writes (escape sequences, OSC 52 clipboard writes and
all) instead of throwing it away as the headless driver does, and that text is searched
for the corpus's sequences. tests/test_hostile_cli.py does the same for the subcommands
and for the app in a real pseudo-terminal.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.drivers.headless_driver import HeadlessDriver
from textual.widgets import Button, DataTable, Input, OptionList

from tests.conftest import Cluster
from tests.corpus import hostile
from tests.ui.conftest import dialog_ready, wait_for
from tui.config import Settings
from tui.db import ConnectOptions
from tui.masking import mask
from tui.text import inert, one_line
from tui.ui.app import CronJobsApp
from tui.ui.screens.confirm import ConfirmScreen, RunNowScreen, TypeNameScreen
from tui.ui.screens.detail import JobDetailScreen
from tui.ui.screens.form import JobFormScreen
from tui.ui.screens.http import HttpScreen
from tui.ui.screens.main import ExportScreen, MainScreen
from tui.ui.screens.run import RunDetailScreen


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with hostile.endpoint() as url:
        yield url


@pytest.fixture
def corpus(cluster: Cluster, endpoint: str) -> Iterator[hostile.Corpus]:
    made = hostile.make_corpus(cluster, endpoint)
    try:
        yield made
    finally:
        hostile.drop_corpus(cluster, made)


def terminal_driver(sink: list[str]) -> type[HeadlessDriver]:
    """Keys come from the test, as with the headless driver; but the app renders as to a
    terminal, and what it writes is kept in `sink`."""

    class Terminal(HeadlessDriver):
        @property
        def is_headless(self) -> bool:
            return False

        def write(self, data: str) -> None:
            sink.append(data)

        def flush(self) -> None:
            return

    return Terminal


class Steps:
    """What the app wrote during each step, so a leak names the step that caused it."""

    def __init__(self, sink: list[str]) -> None:
        self.sink = sink
        self.marks: list[tuple[str, int]] = []

    def step(self, name: str) -> None:
        self.marks.append((name, len(self.sink)))

    def leaks(self) -> list[str]:
        found = []
        bounds = self.marks + [("end", len(self.sink))]
        for (name, start), (_, end) in zip(bounds, bounds[1:]):
            for leak in hostile.leaks("".join(self.sink[start:end]), allow_escapes=True):
                found.append(f"{name}: {leak}")
        return found


async def test_every_screen_and_key_on_hostile_text(cluster: Cluster, corpus: hostile.Corpus,
                                                    tmp_path: Path) -> None:
    sink: list[str] = []
    steps = Steps(sink)
    app = CronJobsApp(ConnectOptions(dbname=cluster.conninfo), Settings(refresh_interval=0.5))
    app.driver_class = terminal_driver(sink)
    steps.step("start")
    # Toasts and tooltips too: run_test leaves them out unless asked.
    async with app.run_test(headless=False, size=(120, 40), notifications=True,
                            tooltips=True) as pilot:
        async def wait(condition: Any, timeout: float = 15) -> None:
            try:
                await wait_for(pilot, condition, timeout)
            except AssertionError as exc:  # say what the app said meanwhile
                notes = [n.message[:300] for n in app._notifications]
                raise AssertionError(f"{exc} on {app.screen}; notifications: {notes}") from None

        await wait(lambda: all(app.job_by_name(n) for n in corpus.jobs))
        main = app.main
        table = main.jobs_table

        def palette_entries() -> list[str]:
            options = app.screen.query_one(OptionList)
            return [str(options.get_option_at_index(i).prompt)
                    for i in range(options.option_count)]

        steps.step("filter typed as markup")
        await pilot.press("slash", *"[@click=app.quit]no such job", "enter")
        await wait(lambda: len(table.rows) == 0)
        await pilot.press("escape")
        steps.step("filter by tag")
        await pilot.press("slash", *corpus.tag, "enter")
        await wait(lambda: len(table.rows) == len(corpus.jobs))
        names = [str(table.get_row_at(r)[0]) for r in range(len(table.rows))]
        # Shown, not dropped: the escapes are there to read.
        assert any("\\x1b[6nZq2" in n for n in names), names
        assert any("[b]bold" in n for n in names), names

        steps.step("sorts and run filters")
        for _ in range(3):
            await pilot.press("o")
        for _ in range(5):  # every status filter, and back to all runs
            await pilot.press("f")

        # Every job: copy, detail, the runs of this job, HTTP.
        await pilot.press("home")
        for row in range(len(table.rows)):
            job = main.selected_job()
            assert job is not None
            steps.step(f"row {row} copy")
            await pilot.press("c")
            assert app.clipboard == inert(mask(job.command))
            steps.step(f"row {row} detail")
            await pilot.press("enter")
            await wait(lambda: isinstance(app.screen, JobDetailScreen))
            history = app.screen.query_one("#history", DataTable)
            await wait(lambda h=history: h.row_count >= 1)
            steps.step(f"row {row} a run of its history, whole")
            await pilot.press("enter")
            await wait(lambda: isinstance(app.screen, RunDetailScreen))
            await pilot.press("escape")
            await wait(lambda: isinstance(app.screen, JobDetailScreen))
            await pilot.press("escape")
            await wait(lambda: isinstance(app.screen, MainScreen))
            steps.step(f"row {row} palette naming the job")
            await pilot.press("ctrl+p")
            await wait(lambda: isinstance(app.screen, CommandPalette))
            await wait(lambda j=job: any(f"Trigger {one_line(j.label, 60)} now" in entry
                                         for entry in palette_entries()))
            await pilot.press("escape")
            await wait(lambda: isinstance(app.screen, MainScreen))
            steps.step(f"row {row} job filter")
            await pilot.press("j")
            await wait(lambda j=job.jobid: main.runs_table.job_filter == j)
            await pilot.press("j")
            steps.step(f"row {row} http")
            await pilot.press("h")
            if job.jobname == corpus.http:
                await wait(lambda: isinstance(app.screen, HttpScreen))
                await pilot.press("escape")
            await pilot.press("down")

        steps.step("the runs of the stream, each whole")
        await pilot.press("tab")
        await wait(lambda: app.focused is main.runs_table)
        await pilot.press("home")
        for _ in range(min(len(main.runs_table.rows), len(corpus.jobs) + 2)):
            await pilot.press("enter")
            await wait(lambda: isinstance(app.screen, RunDetailScreen))
            await pilot.press("escape")
            await wait(lambda: isinstance(app.screen, MainScreen))
            await pilot.press("down")
        await pilot.press("shift+tab")
        await wait(lambda: app.focused is table)

        async def select(name: str) -> None:
            await pilot.press("home")
            for _ in range(len(table.rows)):
                if (job := main.selected_job()) is not None and job.jobname == name:
                    return
                await pilot.press("down")
            raise AssertionError(f"{name!r} is not in the table")

        steps.step("http send")
        await select(corpus.http)
        await pilot.press("h")
        await wait(lambda: isinstance(app.screen, HttpScreen))
        await pilot.press("tab", "enter")  # Close has the focus; Send is next
        await wait(lambda: app.screen.result is not None, timeout=30)
        assert "\\x1b[2J" in str(app.screen.result.body)
        await pilot.press("escape")

        answered: list[Any] = []  # the dialogs already answered
        for name in (corpus.failing, corpus.owned):
            steps.step(f"trigger {one_line(name, 30)}")
            await select(name)
            jobid = corpus.jobs[name]
            before = cluster.value("select count(*) from cron.job_run_details where jobid = %s",
                                   [jobid])
            await pilot.press("t")

            def ran(j: int = jobid, b: int = before) -> bool:
                screen = app.screen
                if (isinstance(screen, (ConfirmScreen, RunNowScreen))  # "run now" asks
                        and screen not in answered and screen.query("#confirm")):
                    answered.append(screen)
                    screen.query_one("#confirm", Button).press()
                return not app.manual and cluster.value(
                    "select count(*) from cron.job_run_details where jobid = %s", [j]) > b

            await wait(ran, timeout=30)

        for name in (corpus.failing, corpus.names[-1], corpus.owned):
            steps.step(f"pause {one_line(name, 30)}")
            await select(name)
            await pilot.press("s")
            await wait(lambda: dialog_ready(app))
            await pilot.press("tab", "enter")
            await wait(lambda n=name: cluster.value(
                "select active from cron.job where jobid = %s", [corpus.jobs[n]]) is False)
            steps.step(f"edit {one_line(name, 30)}")
            await pilot.press("e")
            await wait(lambda: isinstance(app.screen, JobFormScreen))
            await pilot.press("escape")
            await wait(lambda: isinstance(app.screen, MainScreen))

        steps.step("delete, typing the name as shown")
        doomed = corpus.names[12]  # BEL
        await select(doomed)
        await pilot.press("d")
        await wait(lambda: isinstance(app.screen, TypeNameScreen))
        app.screen.query_one("#typed", Input).focus()
        await pilot.press(*one_line(doomed))
        assert not app.screen.query_one("#confirm", Button).disabled
        await pilot.press("enter")
        await wait(lambda: cluster.value(
            "select count(*) from cron.job where jobid = %s", [corpus.jobs[doomed]]) == 0)
        steps.step("delete dialog, cancelled")
        await select(corpus.owned)
        await pilot.press("d")
        await wait(lambda: isinstance(app.screen, TypeNameScreen))
        await pilot.press("escape")

        for suffix in ("csv", "json"):
            steps.step(f"export {suffix}")
            await pilot.press("ctrl+e")
            await wait(lambda: isinstance(app.screen, ExportScreen))
            path = tmp_path / f"runs.{suffix}"
            app.screen.query_one(Input).value = str(path)
            await pilot.press("enter")
            await wait(lambda p=path: p.exists() and p.stat().st_size > 0)
            written = path.read_text(encoding="utf-8")
            assert not hostile.leaks(written, allow_escapes=False)
            if suffix == "json":
                assert any(r["jobid"] in corpus.jobs.values() for r in json.loads(written))

        for key, closes in (("exclamation_mark", "escape"), ("a", "escape"),
                            ("question_mark", "escape"), ("m", "escape"), ("w", "escape")):
            steps.step(f"screen {key}")
            await pilot.press(key)
            await pilot.pause(1.0)
            if key == "a":  # every entry (runs, pauses, a delete of hostile jobs) in words
                entries = app.screen.entries
                assert any(e.get("action") == "trigger" for e in entries)
                for _ in entries:
                    await pilot.press("down")
            await pilot.press(closes)
            await wait(lambda: isinstance(app.screen, MainScreen))

        steps.step("idle refreshes")
        await pilot.pause(1.5)
        assert app.is_running  # no [@click=app.quit] went off
        notes = [n.message for n in app._notifications]
        assert not [n for n in notes if "\x1b" in n], notes
    leaked = steps.leaks()
    assert not leaked, "\n".join(leaked)
