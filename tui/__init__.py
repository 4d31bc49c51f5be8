"""cronjobs-tui: a terminal UI for PostgreSQL's pg_cron."""

from __future__ import annotations


def version() -> str:
    """The installed package's version (from its metadata: pyproject.toml is the one source)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("cronjobs-tui")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"
