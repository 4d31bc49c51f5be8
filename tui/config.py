"""Settings from a TOML file in the platform's config directory.

    # ~/.config/cronjobs-tui/config.toml  (or --config FILE, or $CRONJOBS_TUI_CONFIG)
    read_only = false          # true removes every mutating action
    refresh_interval = 2.0     # seconds between refreshes
    statement_timeout_ms = 5000

    [keys]                     # remap any binding by its id
    trigger = "T"
    pause = "p"
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_CONFIG = "CRONJOBS_TUI_CONFIG"


class ConfigError(ValueError):
    """The config file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Settings:
    read_only: bool = False
    refresh_interval: float = 2.0
    statement_timeout_ms: int = 5000
    keys: dict[str, str] = field(default_factory=dict)
    path: Path | None = None


def default_path() -> Path:
    return Path(os.environ.get(ENV_CONFIG) or Path(user_config_dir("cronjobs-tui")) /
                "config.toml")


def load(path: str | Path | None = None) -> Settings:
    """The settings in `path` (or the default place); defaults when no file exists there."""
    chosen = Path(path) if path else default_path()
    if not chosen.exists():
        if path:
            raise ConfigError(f"{chosen}: no such file")
        return Settings()
    try:
        data: dict[str, Any] = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{chosen}: {exc}") from exc
    try:
        keys = {str(k): str(v) for k, v in dict(data.get("keys", {})).items()}
        return Settings(read_only=bool(data.get("read_only", False)),
                        refresh_interval=max(float(data.get("refresh_interval", 2.0)), 0.5),
                        statement_timeout_ms=int(data.get("statement_timeout_ms", 5000)),
                        keys=keys, path=chosen)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{chosen}: {exc}") from exc
