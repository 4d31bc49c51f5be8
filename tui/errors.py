"""What a command reports in one line because this machine lacks what it needs.

The command line turns it into one sentence and exit code 2 (tui/cli/output.py), whichever
layer raised it: the private cluster's binaries (tui/lab/sandbox.py), the benchmarks of a
checkout (tui/cli/checkout.py)."""

from __future__ import annotations


class SetupError(RuntimeError):
    """This machine lacks what the command needs; the message says what to do."""
