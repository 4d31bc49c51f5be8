"""A private PostgreSQL cluster with pg_cron preloaded, for the demo and the tests.

One class serves both: the demo keeps its data directory between runs, tests use
throwaway ones. The server listens on 127.0.0.1 only, on a free port, with its
socket inside the data directory. Only its owner gets in: over TCP every role needs a
password (scram-sha-256), and the superuser's is generated and kept in a 0600 passfile next
to the data directory, named in the conninfo the sandbox hands out; the socket (trusted, for
pg_cron's own connections) sits in the 0700 data directory, out of other OS users' reach.
As root it runs as the ``postgres`` OS user
(initdb and postgres refuse root). It can also run from another Debian release's
root file system (a debootstrap chroot), which is how the suite reaches a second
pg_cron version on one machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from tui.errors import SetupError

#: Where the project's set-up script puts other Debian releases' root file systems.
ROOTFS_DIR = Path("/var/cache/cronjobs-tui/rootfs")
#: Where .ci/build-vendor puts copies of the host's PostgreSQL, one per pg_cron release built.
BUILDS_DIR = Path("/var/cache/cronjobs-tui/builds")

SETUP_HINT = "bash .ci/setup    (as root, from the cronjobs-tui checkout)"

#: The superuser the sandbox creates and the one role its passfile logs in.
OWNER = "postgres"

HBA = """\
# written by cronjobs-tui's sandbox at every start.
# The socket lives in the data directory (mode 0700): only the cluster's OS user and root reach
# it, and pg_cron's own connections use it (cron.host).
local all all trust
local replication all trust
# Over TCP every role needs a password: any local OS user can reach 127.0.0.1.
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
"""


class SandboxError(SetupError):
    """The cluster could not be set up; the message says what to do."""


@dataclass(frozen=True)
class Installation:
    """PostgreSQL binaries with pg_cron available, on the host or inside a chroot."""

    bindir: str  # as seen from inside `root`
    major: int
    root: str = "/"  # "/" for the host, else a chroot directory
    release: str = ""  # the pg_cron release of a vendor build ('1.6.4', 'master'), else ""

    @property
    def label(self) -> str:
        where = "host" if self.root == "/" else Path(self.root).name
        return f"pg{self.major}-{self.release or where}"

    def has_extension(self, name: str) -> bool:
        """Whether the extension's files are installed (share dir found from the binaries,
        as PostgreSQL itself finds it: bindir/../../../share/postgresql/N)."""
        parents = Path(self.bindir).parents
        if len(parents) < 4:  # an odd CRONJOBS_TUI_PG_BINDIR: not laid out as Debian's
            return False
        share = parents[3] / "share/postgresql" / str(self.major)
        return self.host_path(share / "extension" / f"{name}.control").exists()

    def host_path(self, inner: str | Path) -> Path:
        """The host's path of a path seen from inside the installation."""
        if self.root == "/":
            return Path(inner)
        return Path(self.root) / str(inner).lstrip("/")


def _installations_under(root: str) -> list[Installation]:
    found = []
    base = Path(root) / "usr/lib/postgresql"
    for bindir in base.glob("*/bin"):
        major = bindir.parent.name
        if not major.isdigit():
            continue
        control = Path(root) / f"usr/share/postgresql/{major}/extension/pg_cron.control"
        if (bindir / "postgres").exists() and control.exists():
            inner = "/" + str(bindir.relative_to(root)) if root != "/" else str(bindir)
            found.append(Installation(bindir=inner, major=int(major), root=root))
    return sorted(found, key=lambda i: i.major, reverse=True)


def host_installation() -> Installation:
    """The newest PostgreSQL on this machine that has pg_cron, or a clear error."""
    override = os.environ.get("CRONJOBS_TUI_PG_BINDIR")
    if override:
        if not Path(override, "postgres").exists():
            raise SandboxError(f"CRONJOBS_TUI_PG_BINDIR={override} holds no postgres binary")
        major = re.search(r"/(\d+)/bin/?$", override)
        return Installation(bindir=override, major=int(major.group(1)) if major else 0)
    found = _installations_under("/")
    if not found:
        raise SandboxError(
            "PostgreSQL with pg_cron is not installed on this machine.\n"
            f"Install it with:  {SETUP_HINT}\n"
            "(or: apt-get install postgresql-N postgresql-N-cron, N = 15 on Debian 12, 17 on 13)"
        )
    return found[0]


def chroot_installations() -> list[Installation]:
    """pg_cron installations inside the other releases' root file systems we set up."""
    found: list[Installation] = []
    if ROOTFS_DIR.is_dir():
        for root in sorted(ROOTFS_DIR.iterdir()):
            if (root / ".complete").exists():
                found.extend(_installations_under(str(root))[:1])
    return found


def vendor_installations() -> list[Installation]:
    """The pg_cron releases .ci/build-vendor built from ../shared/vendor (none elsewhere)."""
    found: list[Installation] = []
    if BUILDS_DIR.is_dir():
        for prefix in sorted(BUILDS_DIR.iterdir()):
            if (prefix / ".complete").exists():
                found.extend(replace(i, root="/", bindir=str(prefix) + i.bindir,
                                     release=prefix.name)
                             for i in _installations_under(str(prefix))[:1])
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sandbox:
    """A private cluster. `datadir` is as seen from inside the installation."""

    datadir: Path
    install: Installation = field(default_factory=host_installation)
    settings: dict[str, str] = field(default_factory=dict)
    port: int = 0
    dbname: str = "postgres"
    #: The temporary folder a throwaway sandbox lives in, removed with it by `destroy()`.
    scratch: Path | None = None

    def __post_init__(self) -> None:
        self.datadir = Path(self.datadir)

    # -- paths and commands -------------------------------------------------
    @property
    def host_datadir(self) -> Path:
        return self.install.host_path(self.datadir)

    @property
    def in_chroot(self) -> bool:
        return self.install.root != "/"

    def _as_postgres(self, argv: list[str]) -> list[str]:
        cmd = [f"{self.install.bindir}/{argv[0]}", *argv[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        if self.in_chroot:
            cmd = ["chroot", self.install.root, *cmd]
        return cmd

    def _run(self, argv: list[str], timeout: float = 120) -> str:
        """Run a PostgreSQL tool; whatever ends the wait (a timeout, a signal, Ctrl+C) ends
        the tool and its children too: in a session of their own, they are killed as a
        group (runuser and chroot would otherwise leave an orphaned initdb running)."""
        cmd = self._as_postgres(argv)
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, cwd="/", start_new_session=True)
        except FileNotFoundError as exc:
            raise SandboxError(f"cannot run {cmd[0]}: {exc}. Set up with:  {SETUP_HINT}") from exc
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException as exc:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            if isinstance(exc, subprocess.TimeoutExpired):
                raise SandboxError(f"{' '.join(argv[:2])} did not finish in {timeout:g} s") \
                    from exc
            raise
        if proc.returncode != 0:
            raise SandboxError(f"{' '.join(argv[:2])} failed:\n{err or out}")
        return out

    # -- life cycle ---------------------------------------------------------
    @property
    def initialised(self) -> bool:
        return (self.host_datadir / "PG_VERSION").exists()

    def init(self) -> None:
        host = self.host_datadir
        host.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self._give_to_postgres(host)
        try:
            self._run(["initdb", "-D", str(self.datadir), "-A", "trust", "-U", "postgres",
                       "-E", "UTF8", "--locale=C", "--no-sync"])
        except BaseException:
            # Half made, it would pass for a cluster at the next start (PG_VERSION exists).
            shutil.rmtree(host, ignore_errors=True)
            raise

    def _give_to_postgres(self, host: Path) -> None:
        # The chroot's postgres user has its own uid, so chown from inside it.
        chown = ["chown", "-R", "postgres:postgres", str(self.datadir)]
        if self.in_chroot:
            chown = ["chroot", self.install.root, *chown]
        subprocess.run(chown, check=True)
        host.chmod(0o700)
        # The server must be able to reach its data directory through every parent.
        for parent in host.parents:
            if parent == Path("/") or parent == Path(self.install.root):
                break
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o711)

    @property
    def passfile(self) -> Path:
        """The owner's password, in libpq's passfile format, mode 0600, beside the data
        directory (host path: the operator's process reads it, not the server)."""
        return self.host_datadir.parent / f"{self.host_datadir.name}.pgpass"

    @property
    def password(self) -> str:
        """The superuser's password, generated at the first start and kept in `passfile`."""
        path = self.passfile
        if path.exists():
            for line in path.read_text().splitlines():
                fields = line.split(":")
                if len(fields) == 5 and fields[3] == OWNER and fields[4]:
                    return fields[4]
        password = secrets.token_urlsafe(24)  # no ':' or '\\', which passfiles escape
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created 0600 from the start: never readable by others, not even for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("# cronjobs-tui sandbox: the cluster's superuser password\n"
                      f"127.0.0.1:*:*:{OWNER}:{password}\nlocalhost:*:*:{OWNER}:{password}\n")
        return password

    def _write_hba(self) -> None:
        # Rewritten in place, so it keeps initdb's owner and mode.
        (self.host_datadir / "pg_hba.conf").write_text(HBA)

    def _set_password(self) -> None:
        """Give the superuser the passfile's password, through the owner-only socket. Skipped
        on a standby, which cannot write and has the primary's roles anyway."""
        if (self.host_datadir / "standby.signal").exists():
            return
        import psycopg
        from psycopg import sql

        password = self.password
        with psycopg.connect(host=str(self.host_datadir), port=self.port, user=OWNER,
                             dbname="postgres", connect_timeout=10, autocommit=True) as conn:
            # Sent as a verifier, so the password itself reaches no server log. ALTER ROLE
            # takes no bound parameters: the verifier is quoted as a literal by psycopg.
            verifier = conn.pgconn.encrypt_password(password.encode(), OWNER.encode(),
                                                    b"scram-sha-256").decode()
            conn.execute(sql.SQL("alter role {} password {}").format(
                sql.Identifier(OWNER), sql.Literal(verifier)))

    def _conf(self) -> dict[str, str]:
        conf = {
            "listen_addresses": "'127.0.0.1'",
            "password_encryption": "'scram-sha-256'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.datadir}'",
            "shared_preload_libraries": "'pg_cron'",
            "cron.database_name": f"'{self.dbname}'",
            # Jobs connect through the private socket, never over the network.
            "cron.host": f"'{self.datadir}'",
            "max_connections": "50",
            "fsync": "off",
            "log_min_messages": "warning",
        }
        if self.in_chroot:
            conf["dynamic_shared_memory_type"] = "mmap"  # a chroot has no usable /dev/shm
        conf.update(self.settings)
        return conf

    def _write_conf(self) -> None:
        path = self.host_datadir / "cronjobs-tui.conf"
        body = "".join(f"{k} = {v}\n" for k, v in self._conf().items())
        path.write_text("# written by cronjobs-tui's sandbox at every start\n" + body)
        main = self.host_datadir / "postgresql.conf"
        text = main.read_text()
        if "include_if_exists = 'cronjobs-tui.conf'" not in text:
            main.write_text(text + "\ninclude_if_exists = 'cronjobs-tui.conf'\n")
        if os.geteuid() == 0:
            shutil.copymode(main, path)
            st = main.stat()
            os.chown(path, st.st_uid, st.st_gid)

    @property
    def running(self) -> bool:
        return (self.host_datadir / "postmaster.pid").exists() and self._pid_alive()

    def _pid_alive(self) -> bool:
        try:
            pid = int((self.host_datadir / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return False
        return True

    def _running_port(self) -> int:
        lines = (self.host_datadir / "postmaster.pid").read_text().splitlines()
        return int(lines[3])

    def _previous_port(self) -> int | None:
        """The port of the last start, if still free: pg_cron stores the port in each job
        (cron.job.nodeport), so a kept cluster should keep its port."""
        conf = self.host_datadir / "cronjobs-tui.conf"
        if not conf.exists():
            return None
        found = re.search(r"^port = (\d+)$", conf.read_text(), re.MULTILINE)
        if not found:
            return None
        port = int(found.group(1))
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", port))
        except OSError:
            return None
        return port

    def start(self) -> Sandbox:
        if not self.initialised:
            self.init()
        if self.running:
            self.port = self._running_port()
            return self
        if not self.port:
            self.port = self._previous_port() or free_port()
        self._write_conf()
        self._write_hba()
        self.password  # noqa: B018  # generated before the server takes TCP logins
        log = f"{self.datadir}/server.log"
        _STARTED.append(self)  # before pg_ctl returns: a signal may come while it waits
        self.starting = True
        self._run(["pg_ctl", "-D", str(self.datadir), "-l", log, "-w", "-t", "60", "start"])
        self.starting = False
        self._set_password()
        return self

    def stop(self) -> None:
        # Any object of this data directory (demo --stop makes a new one) stops it.
        _STARTED[:] = [s for s in _STARTED if s.host_datadir != self.host_datadir]
        if self.running:
            try:
                self._run(["pg_ctl", "-D", str(self.datadir), "-m", "fast", "-w", "stop"])
            except SandboxError as exc:  # stopped already, or it will not: nothing to add
                from tui import log

                log.swallowed("stopping a sandbox cluster", exc)

    def kill(self) -> None:
        """Stop the server abruptly, as a crash would (for tests of lost connections)."""
        self._run(["pg_ctl", "-D", str(self.datadir), "-m", "immediate", "-w", "stop"])

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.host_datadir, ignore_errors=True)
        self.passfile.unlink(missing_ok=True)
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)

    def wait_ready(self, timeout: float = 30) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.conninfo(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    # -- connecting ---------------------------------------------------------
    def conninfo(self, dbname: str | None = None, user: str = OWNER) -> str:
        """The owner over TCP, with the passfile; another role (made by a test, without a
        password) through the owner-only socket."""
        from psycopg.conninfo import make_conninfo

        params = {"port": str(self.port), "dbname": dbname or self.dbname, "user": user,
                  "application_name": "cronjobs-tui"}
        if user == OWNER:
            params.update(host="127.0.0.1", passfile=str(self.passfile))
        else:
            params.update(host=str(self.host_datadir))
        return make_conninfo(**params)

    def socket_conninfo(self, dbname: str | None = None, user: str = OWNER) -> str:
        """Any role through the socket (trusted; only this cluster's owner reaches it)."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(host=str(self.host_datadir), port=str(self.port),
                             dbname=dbname or self.dbname, user=user,
                             application_name="cronjobs-tui")

    def uri(self, dbname: str | None = None, user: str = OWNER) -> str:
        from urllib.parse import quote

        return (f"postgresql://{user}@127.0.0.1:{self.port}/{dbname or self.dbname}"
                f"?passfile={quote(str(self.passfile), safe='/')}")

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def throwaway(install: Installation | None = None, **kwargs: object) -> Sandbox:
    """A sandbox in a fresh temporary directory (tests, the bench), removed with it by
    `destroy()`: on the host in $TMPDIR (default /tmp), in a chroot in its /var/tmp."""
    install = install or host_installation()
    folder = install.host_path("/var/tmp") if install.root != "/" else None
    inner = Path(tempfile.mkdtemp(prefix="cronjobs-tui-", dir=folder))
    inner_path = "/" + str(inner.relative_to(install.root)) if install.root != "/" else str(inner)
    return Sandbox(datadir=Path(inner_path) / "data", install=install, scratch=inner,
                   **kwargs)  # type: ignore[arg-type]


#: The clusters this process started and has not stopped, oldest first.
_STARTED: list[Sandbox] = []


def started() -> list[Sandbox]:
    """The clusters this process started and still runs."""
    return list(_STARTED)


def stop_started(keep: list[Sandbox] | None = None) -> None:
    """Stop every cluster this process started and still runs (the newest first), and
    remove the throwaway ones: the CLI calls it when a command ends in an error or a
    signal, so that nothing it started outlives it. A cluster meant to stay (`demo
    --print-dsn`) is left alone by a command that ends well, which does not call this.
    `keep`: those started before the command (by a test session running it in-process)."""
    kept = {id(s) for s in keep or []}
    while [s for s in _STARTED if id(s) not in kept]:
        sandbox = [s for s in _STARTED if id(s) not in kept][-1]
        try:
            # pg_ctl cut short may leave a postmaster starting: wait for its pid file.
            deadline = time.monotonic() + 5
            while getattr(sandbox, "starting", False) and not sandbox.running \
                    and time.monotonic() < deadline:
                time.sleep(0.1)
            if sandbox.scratch is not None:
                sandbox.destroy()
            else:
                sandbox.stop()
        except Exception as exc:  # the others still need stopping
            from tui import log

            log.swallowed("stopping a cluster at exit", exc)
        finally:
            _STARTED[:] = [s for s in _STARTED if s is not sandbox]
