"""Regenerate the screenshots from the real app on the demo database.

    .venv/bin/python screenshots/make.py

Starts (or reuses) the demo cluster, waits until its every-minute jobs have just run, drives
the app with the same keys an operator would press, and saves SVGs here (and PNGs when
rsvg-convert is installed: apt-get install librsvg2-bin).
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path

import psycopg

from tui.config import Settings
from tui.db import ConnectOptions
from tui.lab import demo
from tui.ui.app import CronJobsApp

HERE = Path(__file__).resolve().parent
SIZE = (120, 40)


def wait_for_history(conninfo: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while time.monotonic() < deadline:
            # Runs of this start of the demo: a reused demo keeps its history from the last.
            done = conn.execute("select count(distinct jobid) from cron.job_run_details "
                                "where status in ('succeeded', 'failed') "
                                "and start_time > now() - interval '90 seconds'").fetchone()[0]
            if done >= 3:
                return
            time.sleep(2)
    raise SystemExit("the demo jobs did not run within 90 s: is the scheduler alive?")


async def shoot(conninfo: str) -> list[Path]:
    app = CronJobsApp(ConnectOptions(dbname=conninfo), Settings(refresh_interval=3600))
    saved: list[Path] = []

    async def settle(seconds: float = 1.0) -> None:
        await pilot.pause(seconds)

    def save(name: str) -> None:
        saved.append(Path(app.save_screenshot(f"{name}.svg", str(HERE))))

    async with app.run_test(size=SIZE) as pilot:
        while app.facts is None or not app.main.jobs_table.row_count:
            await pilot.pause(0.1)
        # The run strips come with the once-a-minute read (no refresh here asks for it).
        app.read_usual()
        for _ in range(300):
            if any(len(runs) > 1 for runs in app.source.view.strips.values()):
                break
            await pilot.pause(0.1)
        await settle()
        save("main")
        await pilot.press("enter")  # weekly-adapter-check: the request, key masked
        await settle()
        save("detail")
        await pilot.press("escape", "question_mark")
        await settle(0.5)
        save("help")
        await pilot.press("escape", "w")  # the next 24 hours as a chart, then the list
        while "Next 24 h" not in str(app.screen.query_one("#timeline").render()):
            await pilot.pause(0.1)
        await settle()
        save("timeline")
        await pilot.press("escape", "down", "e")  # last: leaving the form would ask first
        await settle()
        await pilot.press("end", *" 1-5")
        await settle()
        save("edit")
    return saved


def main() -> None:
    sb = demo.start()
    wait_for_history(sb.conninfo())
    for svg in asyncio.run(shoot(sb.conninfo())):
        print(svg.relative_to(HERE.parent))
        if shutil.which("rsvg-convert"):
            png = svg.with_suffix(".png")
            # librsvg drops the spaces that open a text run unless told to keep them (browsers
            # keep them): "connected  scheduler" would read "connectedscheduler".
            text = svg.read_text().replace("<svg ", '<svg xml:space="preserve" ', 1)
            subprocess.run(["rsvg-convert", "-o", str(png)], input=text.encode(), check=True)
            print(png.relative_to(HERE.parent))


if __name__ == "__main__":
    main()
