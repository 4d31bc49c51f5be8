"""Where `cronjobs-tui bench` finds the benchmarks: in the checkout the package runs from.

The benchmarks (benchmarks/ beside tui/ in the repository) are no part of the wheel, so an
installed client has none: it says where they are instead of failing on an import."""

from __future__ import annotations

import sys
from pathlib import Path

from tui.errors import SetupError

#: The folder that holds tui/: a checkout when benchmarks/ is beside it.
ROOT = Path(__file__).resolve().parent.parent.parent


def use_benchmarks() -> None:
    """Makes the checkout's `benchmarks` package importable, or says where it is."""
    if not (ROOT / "benchmarks" / "__init__.py").is_file():
        raise SetupError("the benchmarks are not installed with the package: run them from a "
                         "clone of the repository (python -m benchmarks, or cronjobs-tui bench "
                         "from its .venv)")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
