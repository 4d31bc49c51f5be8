"""The client as an operator installs it on a bastion host: from the wheel, in a fresh venv.

The wheel is built once (`pip wheel . --no-deps`, as the README says), installed with its
dependencies from the package index into a new virtual environment outside the checkout,
and the installed `cronjobs-tui` is run from another folder, so that nothing of the checkout
can stand in for what the wheel lacks (the queries' .sql files, the seed). Where the other
Debian release's root holds another Python (Debian 13: 3.13), the same wheel is installed
and run there too, with that Python's own binary wheels (pip runs from its wheel: Debian's
python3 has no ensurepip without python3-venv).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tests.conftest import Cluster
from tui import version
from tui.lab.sandbox import chroot_installations

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600  # installing from the index: seconds, most of it the first download


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT,
                          **kwargs)  # type: ignore[call-overload]
    assert done.returncode == 0, f"{argv}: {done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


def clean_env(**extra: str) -> dict[str, str]:
    """No PYTHONPATH, no virtualenv of ours: the installed command finds only what it brings."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Built from a copy: setuptools would reuse the checkout's build/ folder, where files
    # since moved or deleted linger.
    source = tmp_path_factory.mktemp("source") / "cronjobs-tui"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis"))
    run([sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", str(out), "-q"])
    (built,) = out.glob("cronjobs_tui-*.whl")
    return built


def test_the_wheel_holds_every_data_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    data = [p.relative_to(ROOT).as_posix() for p in (ROOT / "tui").rglob("*")
            if p.suffix in (".sql", ".toml", ".tcss") and "__pycache__" not in p.parts]
    assert data and [d for d in data if d not in names] == []


def test_the_wheel_holds_the_product_alone(wheel: Path) -> None:
    """No benchmark (benchmarks/ stays in the repository), nothing but the package."""
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {
        "tui"}
    assert [n for n in names if "bench" in n and n != "tui/cli/bench.py"] == []


@dataclass
class Installed:
    bin: Path  # the venv's bin folder, as seen by the process that runs it
    argv_prefix: list[str]  # how to run a command there (e.g. chroot ROOT)
    version: str  # the Python it runs on
    passfile: str | None  # where the cluster's passfile is, as seen from there

    def cli(self, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
        return run([*self.argv_prefix, str(self.bin / "cronjobs-tui"), *args],
                   cwd=cwd, env=clean_env(HOME=str(cwd)))

    def python(self, code: str, cwd: Path) -> str:
        return run([*self.argv_prefix, str(self.bin / "python"), "-c", code],
                   cwd=cwd, env=clean_env(HOME=str(cwd))).stdout.strip()


@pytest.fixture(scope="module")
def host_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    venv = tmp_path_factory.mktemp("bastion") / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd="/")
    run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], cwd="/", env=clean_env())
    return Installed(venv / "bin", [], f"{sys.version_info[0]}.{sys.version_info[1]}", None)


def _chroot_with_other_python() -> tuple[Path, str] | None:
    mine = f"{sys.version_info[0]}.{sys.version_info[1]}"
    for install in chroot_installations():
        root = Path(install.root)
        found = sorted(p.name[len("python"):] for p in (root / "usr/bin").glob("python3.*")
                       if p.name[len("python"):].replace(".", "").isdigit())
        if found and found[-1] != mine:
            return root, found[-1]
    return None


@pytest.fixture(scope="module")
def chroot_venv(wheel: Path) -> Iterator[Installed]:
    found = _chroot_with_other_python()
    if found is None:
        pytest.skip("no other Debian release's root with another Python (bash .ci/setup --test)")
    root, version = found
    inside = Path("/tmp") / f"cronjobs-tui-install-{uuid.uuid4().hex[:12]}"
    host = root / inside.relative_to("/")
    wheels = host / "wheels"
    wheels.mkdir(parents=True)
    shutil.copy(wheel, wheels)
    major, minor = version.split(".")
    # That Python's binary wheels (psycopg-binary, tree-sitter...) and pip itself, fetched
    # here from the index: the root has no network configuration of its own.
    run([sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "-d", str(wheels),
         "--python-version", version, "--implementation", "cp", "--abi", f"cp{major}{minor}",
         "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64",
         "--platform", "manylinux_2_28_x86_64", str(wheel), "pip"], cwd="/")
    (pip,) = wheels.glob("pip-*.whl")
    chroot = [shutil.which("chroot") or "/usr/sbin/chroot", str(root), "env", "-i",
              "PATH=/usr/bin:/bin", f"HOME={inside}"]
    run([*chroot, f"python{version}", "-m", "venv", "--without-pip", f"{inside}/venv"])
    run([*chroot, f"{inside}/venv/bin/python", f"{inside}/wheels/{pip.name}/pip", "install",
         "-q", "--no-index", "--find-links", f"{inside}/wheels", "cronjobs-tui"])
    yield Installed(inside / "venv" / "bin", chroot, version, f"{inside}/pgpass")
    shutil.rmtree(host, ignore_errors=True)


def _check_installed(installed: Installed, cluster: Cluster, elsewhere: Path) -> None:
    assert installed.python("import sys; print('%d.%d' % sys.version_info[:2])",
                            elsewhere) == installed.version
    where = installed.python("import tui; print(tui.__file__)", elsewhere)
    assert str(installed.bin.parent) in where and str(ROOT) not in where
    # The seed ships with the package: its schema and the example jobs file load from it.
    seed = installed.python("from tui.lab import seed; print(len(seed._sql('schema.sql')), "
                            "len(seed._sql('demo_data.sql')))", elsewhere)
    assert all(int(n) > 0 for n in seed.split())

    done = installed.cli("--version", cwd=elsewhere)
    assert done.stdout.strip() == f"cronjobs-tui {version()}"  # this checkout's metadata

    done = installed.cli("schedule", "@yearly", "--pg-cron", "1.6.4", "--json", cwd=elsewhere)
    answer = json.loads(done.stdout)
    assert answer["valid"] and answer["next_runs"] == [] and "0 0 1 1 *" in answer["warnings"][0]

    conninfo = cluster.conninfo
    if installed.passfile is not None:  # the chroot sees its own /tmp: give it the passfile
        passfile = conninfo_to_dict(conninfo)["passfile"]
        target = Path(installed.argv_prefix[1]) / installed.passfile.lstrip("/")
        shutil.copy(str(passfile), target)
        os.chmod(target, 0o600)
        conninfo = make_conninfo(conninfo, passfile=installed.passfile)
    done = installed.cli("jobs", "--json", "-d", conninfo, cwd=elsewhere)
    jobs = {j["jobname"]: j for j in json.loads(done.stdout)}
    assert jobs["daily-usage-rollup"]["schedule"] == "5 0 * * *"
    assert jobs["daily-usage-rollup"]["next_run"]
    done = installed.cli("schedule", "0 3 * * SUN", "-d", conninfo, "--json", cwd=elsewhere)
    assert json.loads(done.stdout)["valid"] is True


def test_installed_wheel_runs_from_another_folder(
        host_venv: Installed, cluster: Cluster, tmp_path: Path) -> None:
    _check_installed(host_venv, cluster, tmp_path)


def test_installed_bench_says_where_the_benchmarks_are(host_venv: Installed,
                                                      tmp_path: Path) -> None:
    done = subprocess.run([str(host_venv.bin / "cronjobs-tui"), "bench", "--quick"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env=clean_env(HOME=str(tmp_path)))
    assert done.returncode == 2, done
    assert done.stderr.startswith("cronjobs-tui: the benchmarks are not installed")
    assert "python -m benchmarks" in done.stderr and "Traceback" not in done.stderr


def test_installed_wheel_runs_on_the_other_releases_python(
        chroot_venv: Installed, cluster: Cluster, tmp_path: Path) -> None:
    # chroot starts the command in the root's own /, outside any checkout.
    _check_installed(chroot_venv, cluster, tmp_path)
