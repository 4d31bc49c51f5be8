"""The command palette (Ctrl+P): the app's own actions, as the current screen's keys offer."""

from __future__ import annotations

from textual.command import Hit, Hits, Provider

from tui.ui.screens.operator import OperatorScreen


class ActionCommands(Provider):
    """The command palette offers exactly what the current screen's keys offer."""

    async def search(self, query: str) -> Hits:
        screen = self.screen
        if not isinstance(screen, OperatorScreen):
            return
        matcher = self.matcher(query)
        for binding in screen.active_bindings_list():
            score = matcher.match(binding.description)
            if score > 0:
                yield Hit(score, matcher.highlight(binding.description),
                          lambda a=binding.action: screen.run_action(a),
                          help=f"key {binding.key_display or binding.key}")
