"""Real PostgreSQL + pg_cron clusters for the suite, started from the machine's binaries.

Every test that takes `cluster` runs once per pg_cron installation found: the host's
own, and the other Debian release's in the root file system `.ci/setup --test` builds.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from tui import seed
from tui.sandbox import Installation, Sandbox, chroot_installations, host_installation, throwaway

FUNCTIONS_URL = "http://127.0.0.1:9/functions/v1"


def _installations() -> list[Installation]:
    found = [host_installation(), *chroot_installations()]
    if os.environ.get("CI") and len(found) < 2:
        raise RuntimeError("CI must test two pg_cron versions: run bash .ci/setup --test as root")
    return found


INSTALLATIONS = _installations()


@dataclass
class Cluster:
    sandbox: Sandbox
    service_key: str
    pg_cron: str  # '1.4' or '1.6' (pg_extension.extversion mapped)

    @property
    def conninfo(self) -> str:
        return self.sandbox.conninfo()

    def connect(self, **kwargs: Any) -> psycopg.Connection:
        return psycopg.connect(self.conninfo, autocommit=True, **kwargs)

    def sql(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with self.connect() as conn:
            cur = conn.execute(query, params)
            return cur.fetchall() if cur.description else []

    def value(self, query: str, params: Any = None) -> Any:
        rows = self.sql(query, params)
        return rows[0][0] if rows else None


def start_cluster(install: Installation, **settings: str) -> Cluster:
    sb = throwaway(install, settings=settings)
    sb.start()
    sb.wait_ready()
    key = seed.fake_service_key()
    with psycopg.connect(sb.conninfo(), autocommit=True) as conn:
        seed.install(conn, functions_url=FUNCTIONS_URL, service_key=key)
        extversion = conn.execute(
            "select extversion from pg_extension where extname = 'pg_cron'").fetchone()[0]
    from tui.cron import parse_version

    return Cluster(sandbox=sb, service_key=key, pg_cron=parse_version(extversion))


@pytest.fixture(scope="session", params=INSTALLATIONS, ids=lambda i: i.label)
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """A running cluster with the seed's system, shared by the tests of one version."""
    c = start_cluster(request.param)
    yield c
    c.sandbox.destroy()


@pytest.fixture
def fresh_cluster(cluster: Cluster) -> Iterator[Cluster]:
    """A cluster of its own, for tests that stop, break or reconfigure the server."""
    c = start_cluster(cluster.sandbox.install)
    yield c
    c.sandbox.destroy()


@pytest.fixture(autouse=True, scope="session")
def _no_user_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Keep the developer's own config and data out of the tests."""
    home = tmp_path_factory.mktemp("home")
    saved = {k: os.environ.get(k) for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME",
                                            "XDG_STATE_HOME", "PGSERVICEFILE", "PGPASSFILE")}
    os.environ.update(XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
                      XDG_STATE_HOME=str(home / "state"),
                      PGSERVICEFILE=str(home / "pg_service.conf"),
                      PGPASSFILE=str(home / "pgpass"))
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
