"""`python -m benchmarks [options]`: `cronjobs-tui bench [options]`, one parser for both."""

from __future__ import annotations

import sys

from tui.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
