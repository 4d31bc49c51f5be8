"""Jobs as code: a TOML file that declares pg_cron jobs.

    [[job]]
    name = "daily-usage-rollup"       # required; with user, what identifies the job
    schedule = "5 0 * * *"            # required; the server judges it (cronjobs-tui plan)
    command = "SELECT public.rollup_daily_usage()"   # required; surrounding blanks dropped
    database = "postgres"             # optional: the database pg_cron connects to
    user = "postgres"                 # optional: the role it runs as (default: who applies)
    active = true                     # optional, default true

Secrets do not belong here: look them up where the job runs (Supabase Vault,
`current_setting('app.key')`), so the file can be reviewed and committed.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KEYS = {"name", "schedule", "command", "database", "user", "active"}
MAX_NAME = 200  # as tui.db.actions.MAX_NAME


class JobsFileError(ValueError):
    """The file cannot be used; the message names the file, the job and the problem."""


@dataclass(frozen=True)
class JobSpec:
    name: str
    schedule: str
    command: str
    database: str | None = None  # None: the database pg_cron keeps its jobs in
    user: str | None = None  # None: the role that applies the file
    active: bool = True


@dataclass(frozen=True)
class JobsFile:
    path: Path
    jobs: tuple[JobSpec, ...]


def _text(raw: dict[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise JobsFileError(f"{where}: {key} is missing")
        return None
    if not isinstance(value, str):
        raise JobsFileError(f"{where}: {key} must be a string, not {type(value).__name__}")
    value = value.strip()
    if not value:
        if required:
            raise JobsFileError(f"{where}: {key} is empty")
        return None
    return value


def _job(raw: Any, index: int, path: Path) -> JobSpec:
    where = f"{path}: job #{index}"
    if not isinstance(raw, dict):
        raise JobsFileError(f"{where}: expected a [[job]] table")
    name = _text(raw, "name", where, required=True)
    assert name is not None
    where = f"{path}: job {name!r} (#{index})"
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise JobsFileError(f"{where}: unknown key(s) {', '.join(unknown)} "
                            f"(known: {', '.join(sorted(KEYS))})")
    if len(name) > MAX_NAME or "\n" in name:
        raise JobsFileError(f"{where}: a name is one line of at most {MAX_NAME} characters")
    schedule = _text(raw, "schedule", where, required=True)
    command = _text(raw, "command", where, required=True)
    active = raw.get("active", True)
    if not isinstance(active, bool):
        raise JobsFileError(f"{where}: active must be true or false, not {active!r}")
    assert schedule is not None and command is not None
    return JobSpec(name=name, schedule=schedule, command=command,
                   database=_text(raw, "database", where, required=False),
                   user=_text(raw, "user", where, required=False), active=active)


def parse(text: str, path: str | Path = "<jobs file>") -> JobsFile:
    path = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise JobsFileError(f"{path}: not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"job"})
    if unknown:
        raise JobsFileError(f"{path}: unknown top-level key(s) {', '.join(unknown)}; "
                            "jobs are declared as [[job]] tables")
    raw_jobs = data.get("job", [])
    if not isinstance(raw_jobs, list):
        raise JobsFileError(f"{path}: jobs are declared as [[job]] tables (an array)")
    jobs = tuple(_job(raw, i, path) for i, raw in enumerate(raw_jobs, start=1))
    seen: dict[tuple[str, str | None], int] = {}
    for i, job in enumerate(jobs, start=1):
        key = (job.name, job.user)
        if key in seen:
            owner = f" for user {job.user!r}" if job.user else ""
            raise JobsFileError(f"{path}: job {job.name!r} (#{i}) is declared twice{owner} "
                                f"(also #{seen[key]}); pg_cron keeps one job per name and "
                                "user")
        seen[key] = i
    return JobsFile(path=path, jobs=jobs)


def load(path: str | Path) -> JobsFile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JobsFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise JobsFileError(f"{path}: {exc}") from exc
    return parse(text, path)


def example_path() -> Path:
    """The example file shipped with the package: the seed's two jobs."""
    from importlib import resources

    return Path(str(resources.files("tui.lab.seed").joinpath("jobs.toml")))
