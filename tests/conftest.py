"""Real PostgreSQL + pg_cron clusters for the suite, started from the machine's binaries.

Every test that takes `cluster` runs once per pg_cron installation found: the host's
own, and the other Debian release's in the root file system `.ci/setup --test` builds.
On a machine without PostgreSQL the pure tests still run and those that need a server skip,
saying why; under CI (CI set) a missing server is an error instead.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis
import psycopg
import pytest

from tui.lab import seed
from tui.lab.sandbox import (
    Installation,
    Sandbox,
    SandboxError,
    chroot_installations,
    free_port,
    host_installation,
    throwaway,
)

FUNCTIONS_URL = "http://127.0.0.1:9/functions/v1"

# Hypothesis fails an example that takes over 200 ms by default: a check on elapsed time, which
# tests here never make, and one that parallel workers sharing two cores would trip.
hypothesis.settings.register_profile("suite", deadline=None)
hypothesis.settings.load_profile("suite")


def _installations() -> tuple[list[Installation], str]:
    """The installations to test on, and why there are none (else "")."""
    try:
        found = [host_installation(), *chroot_installations()]
    except SandboxError as exc:
        if os.environ.get("CI"):
            raise
        return [], f"needs a server: {str(exc).splitlines()[0]}"
    if os.environ.get("CI") and len(found) < 2:
        raise RuntimeError("CI must test two pg_cron versions: run bash .ci/setup --test as root")
    return found, ""


INSTALLATIONS, NO_SERVER = _installations()

# Files that spend minutes waiting on real servers (the scheduler's minutes) or walking the
# TUI, longest first. With `-n` (pytest-xdist, --dist loadfile) they start first, so that the
# short files fill the other workers meanwhile instead of waiting for them at the end.
LONGEST_FIRST = (  # as measured with -n 3: 270 s down to 75 s each
    "tests/ui/test_hostile.py",
    "tests/insight/test_accuracy.py",
    "tests/insight/test_live.py",
    "tests/cron/test_differential.py",
    "tests/cron/test_scheduler_timing.py",
    "tests/cron/test_dom_and_dow.py",
    "tests/db/test_actions.py",
    "tests/test_hostile_cli.py",
    "tests/test_doctor.py",
    "tests/ui/test_refusals.py",
    "tests/ui/test_night.py",
)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """A fixture that starts a server of its own (not through `cluster`) skips too."""
    try:
        return (yield)
    except SandboxError:
        if NO_SERVER:
            pytest.skip(NO_SERVER)
        raise


@pytest.hookimpl(trylast=True)  # after pytest has grouped the tests by version
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if NO_SERVER:
        # Tests parametrized over INSTALLATIONS have none: say why rather than pytest's
        # "got empty parameter set".
        for item in items:
            skip = item.get_closest_marker("skip")
            if skip and str(skip.kwargs.get("reason", "")).startswith("got empty parameter set"):
                item.add_marker(pytest.mark.skip(reason=NO_SERVER), append=False)
    if not hasattr(config, "workerinput"):  # a serial run keeps pytest's order
        return
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


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
    key = seed.fake_service_key()
    try:
        sb.start()
        sb.wait_ready()
        with psycopg.connect(sb.conninfo(), autocommit=True) as conn:
            seed.install(conn, functions_url=FUNCTIONS_URL, service_key=key)
            extversion = conn.execute(
                "select extversion from pg_extension where extname = 'pg_cron'").fetchone()[0]
    except BaseException:
        sb.destroy()  # a server left running would hold its port and memory past the session
        raise
    from tui.cron import parse_version

    return Cluster(sandbox=sb, service_key=key, pg_cron=parse_version(extversion))


class Kept:
    """Servers, and what lives on them, kept for the whole session and stopped at its end
    (the last started first).

    Under pytest-xdist (`--dist loadfile`) a worker runs one file at a time, each file with
    every version, so the session-scoped `cluster` switches version at every file and pytest
    would stop and start it again each time. Kept here, each version's cluster (pooler,
    standby, roles) starts once per worker, as it does once per serial run."""

    def __init__(self) -> None:
        self.things: dict[tuple[str, str], Any] = {}
        self.stops: list[Callable[[], None]] = []

    def get(self, kind: str, label: str, start: Callable[[], Any],
            stop: Callable[[Any], None]) -> Any:
        key = (kind, label)
        if key not in self.things:
            thing = self.things[key] = start()
            self.stops.append(lambda: stop(thing))
        return self.things[key]

    def stop_all(self) -> None:
        errors = []
        for stop in reversed(self.stops):
            try:
                stop()
            except Exception as exc:  # stop the others anyway
                errors.append(exc)
        if errors:
            raise errors[0]


@pytest.fixture(scope="session")
def _kept() -> Iterator[Kept]:
    kept = Kept()
    yield kept
    kept.stop_all()


@pytest.fixture(scope="session", params=INSTALLATIONS or [None],
                ids=lambda i: i.label if i else "no-server")
def cluster(request: pytest.FixtureRequest, _kept: Kept) -> Cluster:
    """A running cluster with the seed's system, shared by the tests of one version."""
    install = request.param
    if install is None:
        pytest.skip(NO_SERVER)
    return _kept.get("cluster", install.label, lambda: start_cluster(install),
                     lambda c: c.sandbox.destroy())


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


# -- servers shaped like our users' (issues 12 and 21) ------------------------------------
# Interface kept stable for other tests: `pooler` (PgBouncer, transaction mode, in front of
# `cluster`), `standby` (a streaming standby of `cluster`), `supabase_role` and
# `read_only_role` (Role objects on `cluster`, with passwords so they also pass the pooler).

PGBOUNCER = "/usr/sbin/pgbouncer"


@dataclass
class Role:
    """A login role with a password on `cluster`."""

    name: str
    password: str
    cluster: Cluster

    def conninfo(self, dbname: str | None = None) -> str:
        """Straight to the cluster over TCP."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(self.cluster.conninfo, user=self.name, password=self.password,
                             passfile="", **({"dbname": dbname} if dbname else {}))

    def via(self, pooler: Pooler, dbname: str | None = None) -> str:
        """Through the pooler."""
        return pooler.conninfo(user=self.name, password=self.password, dbname=dbname)


@dataclass
class Pooler:
    """PgBouncer (Debian's binary) in pool_mode = transaction in front of `cluster`, on a
    free 127.0.0.1 port, with at most `pool_size` server connections per database and user,
    so that clients take turns on the same server connections, as they do in production."""

    cluster: Cluster
    port: int
    folder: Path
    pool_size: int
    process: subprocess.Popen[bytes]

    def conninfo(self, user: str = "postgres", password: str | None = None,
                 dbname: str | None = None) -> str:
        from psycopg.conninfo import make_conninfo

        params = {"host": "127.0.0.1", "port": str(self.port), "user": user,
                  "dbname": dbname or self.cluster.sandbox.dbname,
                  "application_name": "cronjobs-tui"}
        if password is None:
            params["passfile"] = str(self.cluster.sandbox.passfile)
        else:
            params["password"] = password
        return make_conninfo(**params)

    def show(self, setting: str, user: str = "postgres", password: str | None = None) -> str:
        """A setting as another client of the pool sees it (on one of its pooled server
        connections), outside any transaction of ours."""
        with psycopg.connect(self.conninfo(user, password), autocommit=True,
                             prepare_threshold=None) as conn:
            return str(conn.execute(f"show {setting}").fetchone()[0])  # type: ignore[index]

    def show_all(self, setting: str, user: str = "postgres",
                 password: str | None = None) -> set[str]:
        """The setting on every server connection of the pool."""
        return self.on_each(f"current_setting('{setting}')", user, password)

    def on_each(self, expression: str, user: str = "postgres",
                password: str | None = None) -> set[str]:
        """`expression` on every server connection of the pool: `pool_size` clients at once,
        each inside a transaction, so each holds a different server connection."""
        conns = [psycopg.connect(self.conninfo(user, password), prepare_threshold=None)
                 for _ in range(self.pool_size)]
        try:
            seen, pids = set(), set()
            for conn in conns:  # not autocommit: each keeps its server connection until rollback
                row = conn.execute(f"select ({expression})::text, "
                                   "pg_backend_pid()").fetchone()
                seen.add(str(row[0]))  # type: ignore[index]
                pids.add(row[1])  # type: ignore[index]
            assert len(pids) == self.pool_size, "the pool did not hand out its connections"
            return seen
        finally:
            for conn in conns:
                conn.rollback()
                conn.close()

    def reset_all(self) -> None:
        """RESET ALL on every server connection of the pool (after a test that leaked on
        purpose)."""
        conns = [psycopg.connect(self.conninfo(), prepare_threshold=None)
                 for _ in range(self.pool_size)]
        for conn in conns:
            conn.execute("reset all")
        for conn in conns:
            conn.commit()
            conn.close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def start_pooler(cluster: Cluster, *, pool_size: int = 2) -> Pooler:
    if not Path(PGBOUNCER).exists():
        if os.environ.get("CI"):
            raise RuntimeError("pgbouncer is missing: run bash .ci/setup --test as root")
        pytest.skip("pgbouncer is not installed (bash .ci/setup --test)")
    folder = Path(tempfile.mkdtemp(prefix="cronjobs-tui-pgbouncer-"))
    port = free_port()
    sb = cluster.sandbox
    # auth_file holds the superuser (who also runs auth_query); any other role with a
    # password gets in through auth_query, as on hosted poolers.
    (folder / "userlist.txt").write_text(f'"postgres" "{sb.password}"\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host=127.0.0.1 port={sb.port}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = scram-sha-256\n"
        f"auth_file = {folder}/userlist.txt\n"
        "auth_user = postgres\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\n"
        "min_pool_size = 0\n"
        "max_client_conn = 200\n"
        "server_check_delay = 0\n"
        f"logfile = {folder}/pgbouncer.log\n"
        f"pidfile = {folder}/pgbouncer.pid\n")
    argv = [PGBOUNCER, str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # pgbouncer refuses to run as root
        subprocess.run(["chown", "-R", "postgres:postgres", str(folder)], check=True)
        argv = ["runuser", "-u", "postgres", "--", *argv]
    folder.chmod(0o700)
    for name in ("userlist.txt", "pgbouncer.ini"):
        (folder / name).chmod(0o600)
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pooler = Pooler(cluster=cluster, port=port, folder=folder, pool_size=pool_size,
                    process=process)
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(pooler.conninfo(), connect_timeout=2):
                return pooler
        except psycopg.OperationalError as exc:
            if process.poll() is not None or time.monotonic() > deadline:
                log = folder / "pgbouncer.log"
                pooler.stop()
                raise RuntimeError("pgbouncer did not start: " +
                                   (log.read_text()[-2000:] if log.exists() else "no log")
                                   ) from exc
            time.sleep(0.2)


def _stop_pooler(p: Pooler) -> None:
    p.stop()
    shutil.rmtree(p.folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pooler(cluster: Cluster, _kept: Kept) -> Pooler:
    """PgBouncer in transaction mode in front of `cluster` (pool of 2 server connections)."""
    return _kept.get("pooler", cluster.sandbox.install.label,
                     lambda: start_pooler(cluster), _stop_pooler)


def _make_role(cluster: Cluster, name: str, setup: list[str]) -> Role:
    from psycopg import sql

    password = secrets.token_urlsafe(18)
    with cluster.connect() as conn:
        conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(name)))
        for statement in setup:
            conn.execute(sql.SQL(statement).format(role=sql.Identifier(name)))  # type: ignore[arg-type]
        conn.execute(sql.SQL("alter role {} password {}").format(
            sql.Identifier(name), sql.Literal(password)))
    return Role(name=name, password=password, cluster=cluster)


#: Supabase's grants on pg_cron to its `postgres` role, which is no superuser (PG_CRON.md).
SUPABASE_GRANTS = [
    "create role {role} login nosuperuser createrole createdb bypassrls",
    "grant usage on schema cron to {role} with grant option",
    "grant all privileges on all tables in schema cron to {role} with grant option",
    "grant all privileges on all sequences in schema cron to {role} with grant option",
    "grant execute on all functions in schema cron to {role} with grant option",
    "grant all on schema public to {role}",
]


@pytest.fixture(scope="session")
def supabase_role(cluster: Cluster, _kept: Kept) -> Role:
    """A role shaped like Supabase's `postgres`: no superuser, BYPASSRLS, every privilege on
    pg_cron's schema, tables, sequences and functions. Jobs it creates are its own."""
    return _kept.get("supabase_role", cluster.sandbox.install.label,
                     lambda: _make_role(cluster, "supabase_admin_like", SUPABASE_GRANTS),
                     lambda role: _drop_role(cluster, role.name))


@pytest.fixture(scope="session")
def read_only_role(cluster: Cluster, _kept: Kept) -> Role:
    """"Look, don't touch", as a DBA hands it out: Supabase-like grants (so privileges are
    not what stops it) and `alter role ... set default_transaction_read_only = on`."""
    setup = [*SUPABASE_GRANTS, "alter role {role} set default_transaction_read_only = on"]
    return _kept.get("read_only_role", cluster.sandbox.install.label,
                     lambda: _make_role(cluster, "ops_readonly", setup),
                     lambda role: _drop_role(cluster, role.name))


def _drop_role(cluster: Cluster, name: str) -> None:
    from psycopg import sql

    with cluster.connect() as conn:
        conn.execute("select cron.unschedule(jobid) from cron.job where username = %s", [name])
        conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))


@dataclass
class Standby:
    """A streaming standby of `primary` (pg_basebackup -R), started on a port of its own."""

    sandbox: Sandbox
    primary: Cluster

    @property
    def conninfo(self) -> str:
        return self.sandbox.conninfo()

    def connect(self, **kwargs: Any) -> psycopg.Connection:
        return psycopg.connect(self.conninfo, autocommit=True, **kwargs)

    def value(self, query: str, params: Any = None) -> Any:
        with self.connect() as conn:
            row = conn.execute(query, params).fetchone()
            return row[0] if row else None

    def wait_for(self, query: str, params: Any = None, timeout: float = 30) -> None:
        """Until `query` is true on the standby (replay caught up with the primary)."""
        deadline = time.monotonic() + timeout
        while not self.value(query, params):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the standby never saw: {query}")
            time.sleep(0.2)


def start_standby(primary: Cluster) -> Standby:
    sb = throwaway(primary.sandbox.install)
    host = sb.host_datadir
    host.mkdir(parents=True)
    if os.geteuid() == 0:
        sb._give_to_postgres(host)
    # The owner's password, as the primary's passfile has it (the standby has its roles).
    shutil.copyfile(primary.sandbox.passfile, sb.passfile)
    sb.passfile.chmod(0o600)
    argv = sb._as_postgres(["pg_basebackup", "-D", str(sb.datadir), "-h", "127.0.0.1",
                            "-p", str(primary.sandbox.port), "-U", "postgres", "-R",
                            "-X", "stream", "--no-sync"])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=180, cwd="/",
                          env={**os.environ, "PGPASSWORD": primary.sandbox.password},
                          check=False)
    if done.returncode != 0:
        shutil.rmtree(host.parent, ignore_errors=True)
        raise RuntimeError(f"pg_basebackup failed: {done.stderr or done.stdout}")
    sb.start()  # a port of its own; our settings rewritten, the primary's data kept
    sb.wait_ready()
    return Standby(sandbox=sb, primary=primary)


@pytest.fixture(scope="session")
def standby(cluster: Cluster, _kept: Kept) -> Standby:
    """A streaming standby of `cluster`: read-only, in recovery, no pg_cron launcher."""
    return _kept.get("standby", cluster.sandbox.install.label,
                     lambda: start_standby(cluster), lambda s: s.sandbox.destroy())
