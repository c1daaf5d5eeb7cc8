"""Run the test suite against a throwaway PostgreSQL cluster.

    python -m techtransfer.devtools.pgtest [--bindir DIR] -- <pytest arguments>

When ``initdb`` and ``pg_ctl`` can be found (``--bindir``, ``$PG_BINDIR``, ``$PATH``, then
Debian's ``/usr/lib/postgresql/<version>/bin``, newest first), this creates a cluster in a new
temporary directory, starts it on a free port of 127.0.0.1 with its unix socket in that same
directory, runs pytest with ``DATABASE_URL`` pointing at it, then stops the server and deletes the
directory, also when the tests fail or the run is interrupted.

``initdb`` refuses to run as root, so as root the cluster belongs to the ``postgres`` user, or to
a system user created for it, or to ``nobody``.

Without the binaries it prints why and exits 0 (the SQLite run has already covered the suite),
unless ``REQUIRE_POSTGRES=1``: then it exits 1, so CI cannot pass without PostgreSQL.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import os
import pwd
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

BINARIES = ("initdb", "pg_ctl")
DEBIAN_BINDIRS = "/usr/lib/postgresql/*/bin"
SUPERUSER = "postgres"
DATABASE = "techtransfer"
CLUSTER_USERS = ("postgres",)
CREATED_USER = "techtransfer-pg"
FALLBACK_USER = "nobody"
START_ATTEMPTS = 3
# Durability is pointless for a cluster that lives as long as one test run.
SERVER_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class HarnessError(RuntimeError):
    """The cluster could not be created or started; the message says why."""


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _version_key(bindir: str) -> tuple:
    version = Path(bindir).parent.name
    return tuple(int(p) if p.isdigit() else 0 for p in version.split("."))


def search_paths(*, bindir: str | None = None, path: str | None = None, debian_glob: str = DEBIAN_BINDIRS) -> list:
    """The directories to look in, in order; an explicit ``bindir`` (or ``$PG_BINDIR``) is the only one then."""
    bindir = bindir or os.environ.get("PG_BINDIR") or None
    if bindir:
        return [bindir]
    system = os.environ.get("PATH", os.defpath) if path is None else path
    debian = sorted(glob.glob(debian_glob), key=_version_key, reverse=True)
    return [d for d in system.split(os.pathsep) if d] + debian


def find_binaries(*, bindir: str | None = None, path: str | None = None, debian_glob: str = DEBIAN_BINDIRS):
    """``{"initdb": "/…/initdb", "pg_ctl": "/…/pg_ctl"}`` from the first directory holding both, or ``None``.

    Both come from one directory so that they are of one PostgreSQL version.
    """
    for directory in search_paths(bindir=bindir, path=path, debian_glob=debian_glob):
        found = {name: shutil.which(name, path=directory) for name in BINARIES}
        if all(found.values()):
            return {name: os.path.abspath(p) for name, p in found.items()}
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def database_url(*, host: str, port: int, user: str = SUPERUSER, name: str = DATABASE) -> str:
    return f"postgres://{user}@{host}:{port}/{name}"


def create_system_user(name: str) -> bool:
    """``useradd --system``; False when that is impossible here."""
    try:
        done = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            capture_output=True,
            check=False,
        )
    except OSError:
        return False
    return done.returncode == 0


def cluster_owner(
    *,
    euid: int | None = None,
    lookup: Callable = pwd.getpwnam,
    create: Callable[[str], bool] = create_system_user,
):
    """The account initdb and pg_ctl run as: ``None`` (ourselves) unless we are root."""
    if (os.geteuid() if euid is None else euid) != 0:
        return None
    for name in CLUSTER_USERS:
        with contextlib.suppress(KeyError):
            return lookup(name)
    with contextlib.suppress(KeyError):
        return lookup(CREATED_USER)
    if create(CREATED_USER):
        with contextlib.suppress(KeyError):
            return lookup(CREATED_USER)
    return lookup(FALLBACK_USER)


def _run(cmd: list, *, owner, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "PG")) and k != "LANG"}
    env.update({"HOME": str(cwd), "LANG": "C"})
    run_as = {}
    if owner is not None:
        run_as = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, check=False, **run_as
    )
    if check and done.returncode != 0:
        raise HarnessError(f"{Path(str(cmd[0])).name} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done


@contextlib.contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Let cleanup finish even if Ctrl-C is pressed again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass(frozen=True)
class Cluster:
    root: Path
    host: str
    port: int
    version: str

    @property
    def url(self) -> str:
        return database_url(host=self.host, port=self.port)


def _create_database(cluster: Cluster) -> None:
    """The database ``DATABASE_URL`` names, for anything that connects outside the test database."""
    import psycopg

    with psycopg.connect(host=cluster.host, port=cluster.port, user=SUPERUSER, dbname="postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{DATABASE}"')


@contextlib.contextmanager
def throwaway_cluster(binaries: dict, *, host: str = "127.0.0.1", owner=...) -> Iterator[Cluster]:
    """A started cluster in a temporary directory, stopped and deleted on the way out.

    ``owner`` is the ``pwd`` entry to run the server as, ``None`` for ourselves; by default
    ``cluster_owner()`` decides.
    """
    owner = cluster_owner() if owner is ... else owner
    root = Path(tempfile.mkdtemp(prefix="techtransfer-pg-"))
    data = root / "data"
    started = False
    try:
        if owner is not None:
            os.chown(root, owner.pw_uid, owner.pw_gid)
        _run(
            [binaries["initdb"], "-D", data, "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
            owner=owner,
            cwd=root,
        )
        version = _run([binaries["pg_ctl"], "--version"], owner=owner, cwd=root).stdout.strip()
        for attempt in range(1, START_ATTEMPTS + 1):
            port = free_port(host)
            options = " ".join(
                [f"-p {port}", f"-k {shlex.quote(str(root))}", f"-c listen_addresses={host}"]
                + [f"-c {s}" for s in SERVER_SETTINGS]
            )
            done = _run(
                [binaries["pg_ctl"], "-D", data, "-l", root / "server.log", "-w", "-t", "60", "-o", options, "start"],
                owner=owner,
                cwd=root,
                check=False,
            )
            if done.returncode == 0:
                started = True
                break
            if attempt == START_ATTEMPTS:
                log = (root / "server.log").read_text(errors="replace") if (root / "server.log").exists() else ""
                raise HarnessError(f"pg_ctl start failed ({done.returncode}):\n{done.stdout}{done.stderr}{log}")
        cluster = Cluster(root=root, host=host, port=port, version=version)
        _create_database(cluster)
        yield cluster
    finally:
        with _interrupts_deferred():
            if started:
                _run(
                    [binaries["pg_ctl"], "-D", data, "-m", "immediate", "-w", "stop"],
                    owner=owner,
                    cwd=root,
                    check=False,
                )
            shutil.rmtree(root, ignore_errors=True)


def split_arguments(argv: list) -> tuple[list, list]:
    """``[harness options] -- [pytest arguments]``; without ``--`` everything goes to pytest."""
    if "--" in argv:
        i = argv.index("--")
        return argv[:i], argv[i + 1 :]
    return [], argv


def _raise_on_termination() -> None:
    def handler(signum, frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def main(argv: list | None = None) -> int:
    own, pytest_args = split_arguments(list(sys.argv[1:] if argv is None else argv))
    parser = argparse.ArgumentParser(
        prog="python -m techtransfer.devtools.pgtest",
        description="Run pytest against a throwaway PostgreSQL cluster (arguments after -- go to pytest).",
    )
    parser.add_argument("--bindir", help="directory holding initdb and pg_ctl (default: $PG_BINDIR, $PATH, Debian's)")
    options = parser.parse_args(own)

    binaries = find_binaries(bindir=options.bindir)
    if binaries is None:
        where = options.bindir or os.environ.get("PG_BINDIR") or f"$PATH or {DEBIAN_BINDIRS}"
        if env_flag("REQUIRE_POSTGRES"):
            print(f"pgtest: initdb/pg_ctl not found in {where}, and REQUIRE_POSTGRES=1: failing.", file=sys.stderr)
            return 1
        print(
            f"pgtest: initdb/pg_ctl not found in {where}: SKIPPING the PostgreSQL test run "
            "(install PostgreSQL 15, or set REQUIRE_POSTGRES=1 to make this an error).",
            file=sys.stderr,
        )
        return 0

    _raise_on_termination()
    try:
        with throwaway_cluster(binaries) as cluster:
            print(f"pgtest: {cluster.version} on {cluster.host}:{cluster.port} (throwaway cluster in {cluster.root})")
            sys.stdout.flush()
            env = {**os.environ, "DATABASE_URL": cluster.url}
            return subprocess.call([sys.executable, "-m", "pytest", *pytest_args], env=env)
    except HarnessError as exc:
        print(f"pgtest: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("pgtest: interrupted; the cluster has been stopped and removed.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
