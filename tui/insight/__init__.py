"""Why jobs did not run, what will run, and a watch that alerts: explain, timeline, watch.

`explain` and `timeline` are pure (rows in, outcomes out); `gather` and `watch` read through
tui.db; `commands` holds the subcommands.
"""
