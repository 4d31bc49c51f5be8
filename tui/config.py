"""Settings from a TOML file in the platform's config directory, and named connections.

    # ~/.config/cronjobs-tui/config.toml  (or --config FILE, or $CRONJOBS_TUI_CONFIG)
    read_only = false          # true removes every mutating action
    refresh_interval = 2.0     # seconds between refreshes
    statement_timeout_ms = 5000
    fleet_timeout = 5.0        # seconds the fleet view waits for one server

    [keys]                     # remap any binding by its id
    trigger = "T"
    pause = "p"

    [profiles.staging]         # cronjobs-tui --profile staging
    dsn = "host=staging.example.com dbname=postgres user=ops"   # conninfo, URI or service=
    refresh_interval = 5
    jobs_file = "jobs/staging.toml"   # relative to this file

    [profiles.prod-eu]         # read-only unless it says read_only = false: its name says prod
    dsn = "service=prod-eu"

Passwords never go in this file (a dsn with one is refused): libpq finds them in ~/.pgpass,
PGPASSWORD or pg_service.conf.

Precedence, lowest first: defaults, the file's top level, CRONJOBS_TUI_* environment
variables (READ_ONLY, REFRESH_INTERVAL, STATEMENT_TIMEOUT_MS, FLEET_TIMEOUT, JOBS_FILE), the
chosen profile (--profile NAME or CRONJOBS_TUI_PROFILE), then command-line options. A true
CRONJOBS_TUI_READ_ONLY keeps every profile read-only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from platformdirs import user_config_dir
from psycopg.conninfo import conninfo_to_dict

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ENV_CONFIG = "CRONJOBS_TUI_CONFIG"
ENV_PROFILE = "CRONJOBS_TUI_PROFILE"
ENV_PREFIX = "CRONJOBS_TUI_"

PROFILE_KEYS = {"dsn", "read_only", "refresh_interval", "statement_timeout_ms", "jobs_file"}
TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """The config file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Profile:
    """A named connection: where, and the settings that differ there."""

    name: str
    dsn: str
    read_only: bool
    refresh_interval: float | None = None
    statement_timeout_ms: int | None = None
    jobs_file: Path | None = None


@dataclass(frozen=True)
class Settings:
    read_only: bool = False
    refresh_interval: float = 2.0
    statement_timeout_ms: int = 5000
    keys: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    fleet_timeout: float = 5.0
    jobs_file: Path | None = None
    profiles: dict[str, Profile] = field(default_factory=dict)
    profile: Profile | None = None  # the one chosen, its settings applied above

    def for_profile(self, name: str) -> Settings:
        """These settings with profile `name`'s applied (ConfigError if there is none)."""
        profile = self.profiles.get(name)
        if profile is None:
            where = f"{self.path}" if self.path else "the config (no file)"
            known = ", ".join(sorted(self.profiles)) or "none"
            raise ConfigError(f"{where}: no profile named {name!r} (profiles: {known})")
        return replace(
            self, profile=profile,
            read_only=profile.read_only or _forced_read_only(),
            refresh_interval=profile.refresh_interval or self.refresh_interval,
            statement_timeout_ms=profile.statement_timeout_ms or self.statement_timeout_ms,
            jobs_file=profile.jobs_file or self.jobs_file)


def default_path() -> Path:
    return Path(os.environ.get(ENV_CONFIG) or Path(user_config_dir("cronjobs-tui")) /
                "config.toml")


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    raise ConfigError(f"{where}: expected true or false, got {value!r}")


def _forced_read_only(env: Mapping[str, str] | None = None) -> bool:
    value = (os.environ if env is None else env).get(ENV_PREFIX + "READ_ONLY")
    return value is not None and value.strip().lower() in TRUE


def _number(value: Any, kind: type, where: str) -> Any:
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected a number, got {value!r}") from None


def refuse_password(dsn: str, where: str) -> None:
    """ConfigError when a connection string carries a password (conninfo or URI)."""
    try:
        params = conninfo_to_dict(dsn)
    except Exception as exc:  # psycopg.ProgrammingError: not a conninfo string at all
        raise ConfigError(f"{where}: the dsn is not a valid conninfo string or URI: "
                          f"{str(exc).splitlines()[0] if str(exc) else exc}") from None
    if params.get("password"):
        raise ConfigError(f"{where}: the dsn holds a password; keep passwords out of this "
                          "file (use ~/.pgpass, PGPASSWORD or pg_service.conf)")


def _profile(name: str, raw: Any, base_read_only: bool, config_dir: Path,
             where: str) -> Profile:
    here = f"{where}: [profiles.{name}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{here}: expected a table of settings")
    unknown = sorted(set(raw) - PROFILE_KEYS)
    if "password" in unknown:
        raise ConfigError(f"{here}: passwords do not belong in this file (use ~/.pgpass, "
                          "PGPASSWORD or pg_service.conf)")
    if unknown:
        raise ConfigError(f"{here}: unknown setting(s) {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(PROFILE_KEYS))})")
    dsn = raw.get("dsn")
    if not isinstance(dsn, str) or not dsn.strip():
        raise ConfigError(f"{here}: dsn is required (a conninfo string, a URI or "
                          "'service=NAME')")
    refuse_password(dsn, here)
    if "read_only" in raw:
        read_only = _bool(raw["read_only"], f"{here} read_only")
    else:
        read_only = "prod" in name.lower() or base_read_only
    refresh = raw.get("refresh_interval")
    timeout = raw.get("statement_timeout_ms")
    jobs_file = raw.get("jobs_file")
    if jobs_file is not None and not isinstance(jobs_file, str):
        raise ConfigError(f"{here} jobs_file: expected a path")
    return Profile(
        name=name, dsn=dsn.strip(), read_only=read_only,
        refresh_interval=(max(_number(refresh, float, f"{here} refresh_interval"), 0.5)
                          if refresh is not None else None),
        statement_timeout_ms=(_number(timeout, int, f"{here} statement_timeout_ms")
                              if timeout is not None else None),
        jobs_file=(config_dir / Path(jobs_file).expanduser()) if jobs_file else None)


def _from_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """The file's top-level settings with CRONJOBS_TUI_* variables applied over them."""
    out = dict(data)
    for key in ("read_only", "refresh_interval", "statement_timeout_ms", "fleet_timeout"):
        value = env.get(ENV_PREFIX + key.upper())
        if value is not None and value.strip() != "":
            out[key] = value.strip()
    return out


def load(path: str | Path | None = None, *, profile: str | None = None,
         env: Mapping[str, str] | None = None) -> Settings:
    """The settings in `path` (or the default place), with the environment's and the chosen
    profile's (`profile`, else $CRONJOBS_TUI_PROFILE) applied; defaults when no file exists."""
    env = os.environ if env is None else env
    chosen = Path(path) if path else default_path()
    data: dict[str, Any] = {}
    if chosen.exists():
        try:
            data = tomllib.loads(chosen.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{chosen}: {exc}") from exc
    elif path:
        raise ConfigError(f"{chosen}: no such file")
    where = str(chosen)
    values = _from_env(data, env)
    try:
        keys = {str(k): str(v) for k, v in dict(data.get("keys", {})).items()}
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: [keys]: {exc}") from exc
    read_only = _bool(values.get("read_only", False), f"{where}: read_only")
    jobs_file: Path | None = None
    if env.get(ENV_PREFIX + "JOBS_FILE"):
        jobs_file = Path(env[ENV_PREFIX + "JOBS_FILE"]).expanduser()  # from the cwd
    elif data.get("jobs_file"):
        jobs_file = chosen.parent / Path(str(data["jobs_file"])).expanduser()
    raw_profiles = data.get("profiles", {})
    if not isinstance(raw_profiles, dict):
        raise ConfigError(f"{where}: profiles must be tables: [profiles.NAME]")
    profiles = {str(name): _profile(str(name), raw, read_only, chosen.parent, where)
                for name, raw in raw_profiles.items()}
    settings = Settings(
        read_only=read_only,
        refresh_interval=max(_number(values.get("refresh_interval", 2.0), float,
                                     f"{where}: refresh_interval"), 0.5),
        statement_timeout_ms=_number(values.get("statement_timeout_ms", 5000), int,
                                     f"{where}: statement_timeout_ms"),
        fleet_timeout=max(_number(values.get("fleet_timeout", 5.0), float,
                                  f"{where}: fleet_timeout"), 0.5),
        jobs_file=jobs_file,
        keys=keys, path=chosen if chosen.exists() else None, profiles=profiles)
    name = profile or env.get(ENV_PROFILE) or None
    if name:
        settings = settings.for_profile(name)
        if _forced_read_only(env):
            settings = replace(settings, read_only=True)
    return settings
