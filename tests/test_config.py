"""Settings and profiles: the file, the environment, --profile."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tui import config
from tui.config import ConfigError


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(body)
    return path


PROFILES = """
read_only = false
refresh_interval = 3
statement_timeout_ms = 4000

[profiles.staging]
dsn = "host=staging.example.com dbname=postgres user=ops"
refresh_interval = 10
jobs_file = "jobs/staging.toml"

[profiles.prod-eu]
dsn = "service=prod-eu"

[profiles.production-writable]
dsn = "postgresql://ops@db.example.com/postgres"
read_only = false
statement_timeout_ms = 9000
"""


def test_no_file_defaults(tmp_path: Path) -> None:
    assert config.load(env={}) == config.Settings()  # the tests' own empty config dir
    with pytest.raises(ConfigError, match="no such file"):
        config.load(tmp_path / "missing.toml")


def test_profiles(tmp_path: Path) -> None:
    path = write(tmp_path, PROFILES)
    settings = config.load(path, env={})
    assert list(settings.profiles) == ["staging", "prod-eu", "production-writable"]
    assert settings.profile is None and settings.refresh_interval == 3.0
    staging = config.load(path, profile="staging", env={})
    assert staging.profile is not None and staging.profile.dsn.startswith("host=staging")
    assert staging.refresh_interval == 10.0 and staging.statement_timeout_ms == 4000
    assert staging.read_only is False
    assert staging.jobs_file == tmp_path / "jobs/staging.toml"  # relative to the config
    writable = settings.for_profile("production-writable")
    assert writable.read_only is False and writable.statement_timeout_ms == 9000


def test_prod_profiles_default_to_read_only(tmp_path: Path) -> None:
    settings = config.load(write(tmp_path, PROFILES), env={})
    assert settings.profiles["prod-eu"].read_only is True
    assert settings.for_profile("prod-eu").read_only is True
    assert settings.profiles["staging"].read_only is False
    upper = config.load(write(tmp_path, '[profiles.EU-PROD]\ndsn = "dbname=x"\n'), env={})
    assert upper.profiles["EU-PROD"].read_only is True


def test_top_level_read_only_is_every_profiles_default(tmp_path: Path) -> None:
    path = write(tmp_path, 'read_only = true\n[profiles.dev]\ndsn = "dbname=x"\n'
                           '[profiles.scratch]\ndsn = "dbname=y"\nread_only = false\n')
    settings = config.load(path, env={})
    assert settings.profiles["dev"].read_only is True
    assert settings.profiles["scratch"].read_only is False


@pytest.mark.parametrize("dsn", [
    "host=db.example.com user=ops password=hunter2",
    "postgresql://ops:hunter2@db.example.com/postgres",
    "postgresql://db.example.com/postgres?password=hunter2",
])
def test_password_in_the_file_refused(tmp_path: Path, dsn: str) -> None:
    path = write(tmp_path, f'[profiles.x]\ndsn = "{dsn}"\n')
    with pytest.raises(ConfigError) as caught:
        config.load(path, env={})
    message = str(caught.value)
    assert message.startswith(str(path)) and "[profiles.x]" in message
    assert "password" in message and ".pgpass" in message
    assert "hunter2" not in message


def test_password_key_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[profiles.x]\ndsn = "dbname=x"\npassword = "hunter2"\n')
    with pytest.raises(ConfigError, match="passwords do not belong"):
        config.load(path, env={})


@pytest.mark.parametrize(("body", "message"), [
    ('[profiles.x]\nhost = "a"\n', "unknown setting"),
    ('[profiles.x]\nread_only = true\n', "dsn is required"),
    ('[profiles.x]\ndsn = "dbname=x"\nread_only = "maybe"\n', "expected true or false"),
    ('[profiles.x]\ndsn = "dbname=x"\nrefresh_interval = "soon"\n', "expected a number"),
    ('[profiles.x]\ndsn = "not a = valid \'conninfo"\n', "not a valid conninfo"),
])
def test_bad_profiles(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config.load(write(tmp_path, body), env={})


def test_unknown_profile_names_the_known(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no profile named 'nope' \(profiles: prod-eu, "
                                          r"production-writable, staging\)"):
        config.load(write(tmp_path, PROFILES), profile="nope", env={})


def test_environment(tmp_path: Path) -> None:
    path = write(tmp_path, PROFILES)
    env = {"CRONJOBS_TUI_READ_ONLY": "1", "CRONJOBS_TUI_REFRESH_INTERVAL": "7",
           "CRONJOBS_TUI_STATEMENT_TIMEOUT_MS": "1234", "CRONJOBS_TUI_FLEET_TIMEOUT": "2.5",
           "CRONJOBS_TUI_JOBS_FILE": "here.toml"}
    settings = config.load(path, env=env)
    assert settings.read_only is True and settings.refresh_interval == 7.0
    assert settings.statement_timeout_ms == 1234 and settings.fleet_timeout == 2.5
    assert settings.jobs_file == Path("here.toml")
    # A profile picked by the environment; READ_ONLY=1 keeps even a writable one read-only.
    chosen = config.load(path, env={**env, "CRONJOBS_TUI_PROFILE": "production-writable"})
    assert chosen.profile is not None and chosen.profile.name == "production-writable"
    assert chosen.read_only is True
    writable = config.load(path, env={"CRONJOBS_TUI_PROFILE": "production-writable"})
    assert writable.read_only is False
    assert config.load(path, env={"CRONJOBS_TUI_READ_ONLY": "0"}).read_only is False
    with pytest.raises(ConfigError, match="expected true or false"):
        config.load(path, env={"CRONJOBS_TUI_READ_ONLY": "perhaps"})


def cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **env})


def test_profile_on_the_command_line(cluster: Cluster, tmp_path: Path) -> None:
    path = write(tmp_path, f'[profiles.sandbox-prod]\ndsn = "{cluster.conninfo}"\n'
                           f'[profiles.other]\ndsn = "host=127.0.0.1 port=1"\n')
    done = cli("jobs", "--json", "--config", str(path), "--profile", "sandbox-prod")
    assert done.returncode == 0, done.stderr
    assert "daily-usage-rollup" in {j["jobname"] for j in json.loads(done.stdout)}
    via_env = cli("jobs", "--json", "--config", str(path),
                  CRONJOBS_TUI_PROFILE="sandbox-prod")
    assert via_env.returncode == 0, via_env.stderr
    # A prod profile is read-only: apply refuses before writing.
    from tui.plan.jobs_file import example_path

    refused = cli("apply", str(example_path()), "--yes", "--config", str(path),
                  "--profile", "sandbox-prod")
    assert refused.returncode == 2 and "read-only" in refused.stderr
    # -d overrides the profile's dsn.
    other = cli("jobs", "--json", "--config", str(path), "--profile", "other",
                "-d", cluster.conninfo)
    assert other.returncode == 0, other.stderr
    twice = cli("jobs", "--config", str(path), "--profile", "other", "--profile", "x")
    assert twice.returncode == 2 and "--profile was given 2 times" in twice.stderr
    unknown = cli("jobs", "--config", str(path), "--profile", "nope")
    assert unknown.returncode == 2 and "no profile named 'nope'" in unknown.stderr
