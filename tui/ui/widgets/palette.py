"""The command palette's (Ctrl+P) own entries: what the current screen's keys offer, each
named for what it acts on ("Trigger demo-failing now"), listed first as the palette opens.

A job's name is database text: the entries are Rich `Text` made by tui/text.py, never
markup (Textual's own highlighting parses its candidate as markup, so it is not used).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from rich.text import Text
from textual.binding import Binding
from textual.command import Hit, Hits, Provider

from tui.models import Job
from tui.text import one_line
from tui.ui.screens.help import key_name
from tui.ui.screens.operator import OperatorScreen

#: Ours above Textual's own entries (Keys, Theme...), whose discovery score is 0.
FIRST = 1.0


def entry(binding: Binding, job: Job | None) -> str:
    """The entry's words: the action and what it acts on."""
    if binding.action == "new":
        return "New job"
    if job is None:
        return binding.description
    name = one_line(job.label, 60)
    words = {
        "trigger": f"Trigger {name} now",
        "pause": f"{'Pause' if job.active else 'Resume'} {name}",
        "edit": f"Edit {name}",
        "delete": f"Delete {name}",
        "cancel_run": f"Cancel the run of {name} in progress",
        "send_http": f"Send {name}'s HTTP request",
        "copy": f"Copy {name}'s command",
        "job_filter": f"Runs: only {name}'s",
    }
    return words.get(binding.action, binding.description)


class ActionCommands(Provider):
    """The command palette offers exactly what the current screen's keys offer."""

    def _entries(self) -> list[tuple[str, str, Callable[[], object]]]:
        screen = self.screen
        if not isinstance(screen, OperatorScreen):
            return []
        try:
            job = screen.selected_job()
        except NotImplementedError:
            job = None
        out: list[tuple[str, str, Callable[[], object]]] = []
        for binding in screen.active_bindings_list():
            if binding.id is None:
                continue  # Textual's own (Tab, copy): its palette lists what it offers
            keys = [n for k in binding.key.split(",") if (n := key_name(k.strip()))]
            out.append((entry(binding, job), f"key {', '.join(keys)}",
                        partial(screen.run_action, binding.action)))
        return out

    async def discover(self) -> Hits:
        entries = self._entries()
        for index, (words, keys, run) in enumerate(entries):
            # A Hit, not a DiscoveryHit: its score sorts it above Textual's own entries.
            yield Hit(FIRST - index / (10 * max(len(entries), 1)), Text(words), run,
                      text=words, help=keys)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for words, keys, run in self._entries():
            score = matcher.match(words)
            if score > 0:
                yield Hit(score, Text(words), run, text=words, help=keys)
