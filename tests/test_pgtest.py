"""The throwaway PostgreSQL harness behind the second half of ``make test``."""

import os
import pwd
import socket
from pathlib import Path

import pytest

from techtransfer.devtools import pgtest


def executable(directory: Path, *names: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = directory / name
        path.write_text("#!/bin/sh\nexit 0\n")
        path.chmod(0o755)
    return directory


@pytest.fixture
def no_debian(tmp_path):
    return str(tmp_path / "no-debian" / "*" / "bin")


@pytest.fixture(autouse=True)
def no_pg_bindir(monkeypatch):
    monkeypatch.delenv("PG_BINDIR", raising=False)
    monkeypatch.delenv("REQUIRE_POSTGRES", raising=False)


def test_binaries_come_from_the_first_directory_that_holds_both(tmp_path, no_debian):
    # Given initdb alone in one PATH directory, and both binaries in a later one
    only_initdb = executable(tmp_path / "a", "initdb")
    both = executable(tmp_path / "b", "initdb", "pg_ctl")
    path = os.pathsep.join([str(only_initdb), str(both)])
    # When the harness looks for them
    found = pgtest.find_binaries(path=path, debian_glob=no_debian)
    # Then both come from the same directory, so they are of one version
    assert found == {"initdb": str(both / "initdb"), "pg_ctl": str(both / "pg_ctl")}


def test_debian_versions_are_searched_newest_first_after_path(tmp_path):
    root = tmp_path / "lib" / "postgresql"
    for version in ("9.6", "13", "15"):
        executable(root / version / "bin", "initdb", "pg_ctl")
    found = pgtest.find_binaries(path=str(tmp_path / "empty"), debian_glob=str(root / "*" / "bin"))
    assert found == {"initdb": str(root / "15" / "bin" / "initdb"), "pg_ctl": str(root / "15" / "bin" / "pg_ctl")}


def test_files_that_are_not_executable_do_not_count(tmp_path, no_debian):
    directory = executable(tmp_path / "bin", "initdb", "pg_ctl")
    (directory / "pg_ctl").chmod(0o644)
    assert pgtest.find_binaries(path=str(directory), debian_glob=no_debian) is None


def test_an_explicit_bindir_is_the_only_place_looked_in(tmp_path, monkeypatch, no_debian):
    on_path = executable(tmp_path / "path", "initdb", "pg_ctl")
    chosen = executable(tmp_path / "chosen", "initdb", "pg_ctl")
    assert pgtest.find_binaries(bindir=str(tmp_path / "empty"), path=str(on_path), debian_glob=no_debian) is None
    monkeypatch.setenv("PG_BINDIR", str(chosen))
    assert pgtest.find_binaries(path=str(on_path), debian_glob=no_debian) == {
        "initdb": str(chosen / "initdb"),
        "pg_ctl": str(chosen / "pg_ctl"),
    }


def test_free_port_can_be_listened_on_right_away():
    port = pgtest.free_port()
    assert 1024 <= port <= 65535
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", port))
        s.listen()


def test_database_url_names_the_superuser_port_and_database():
    assert pgtest.database_url(host="127.0.0.1", port=54321) == "postgres://postgres@127.0.0.1:54321/techtransfer"


def fake_accounts(*names):
    entries = {
        name: pwd.struct_passwd((name, "x", 900 + i, 900 + i, "", "/", "/bin/false")) for i, name in enumerate(names)
    }

    def lookup(name):
        return entries[name]

    return lookup


def test_cluster_runs_as_ourselves_unless_we_are_root():
    assert pgtest.cluster_owner(euid=1000, lookup=fake_accounts("postgres")) is None


def test_as_root_the_cluster_belongs_to_postgres():
    owner = pgtest.cluster_owner(euid=0, lookup=fake_accounts("postgres", "nobody"), create=lambda name: pytest.fail())
    assert owner.pw_name == "postgres"


def test_as_root_without_postgres_a_system_user_is_created():
    created = []
    accounts = {"nobody": None}

    def create(name):
        created.append(name)
        accounts[name] = None
        return True

    def lookup(name):
        if name not in accounts:
            raise KeyError(name)
        return pwd.struct_passwd((name, "x", 990, 990, "", "/", "/bin/false"))

    owner = pgtest.cluster_owner(euid=0, lookup=lookup, create=create)
    assert (owner.pw_name, created) == ("techtransfer-pg", ["techtransfer-pg"])


def test_as_root_without_any_way_to_add_a_user_nobody_owns_it():
    owner = pgtest.cluster_owner(euid=0, lookup=fake_accounts("nobody"), create=lambda name: False)
    assert owner.pw_name == "nobody"


def test_arguments_after_the_double_dash_go_to_pytest():
    assert pgtest.split_arguments(["--bindir", "/x", "--", "-q", "tests/"]) == (["--bindir", "/x"], ["-q", "tests/"])
    assert pgtest.split_arguments(["-q", "-x"]) == ([], ["-q", "-x"])


def test_without_binaries_the_postgres_run_is_skipped_with_a_reason(tmp_path, capsys):
    assert pgtest.main(["--bindir", str(tmp_path), "--", "-q"]) == 0
    assert "SKIPPING the PostgreSQL test run" in capsys.readouterr().err


def test_without_binaries_require_postgres_fails_the_run(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("REQUIRE_POSTGRES", "1")
    assert pgtest.main(["--bindir", str(tmp_path), "--", "-q"]) == 1
    assert "REQUIRE_POSTGRES=1: failing" in capsys.readouterr().err


@pytest.mark.skipif(pgtest.find_binaries() is None, reason="PostgreSQL's initdb/pg_ctl are not installed")
def test_cluster_serves_utf8_and_is_stopped_and_removed_even_when_the_body_fails():
    import psycopg

    with pytest.raises(RuntimeError, match="the tests failed"):
        with pgtest.throwaway_cluster(pgtest.find_binaries()) as cluster:
            root, url = cluster.root, cluster.url
            with psycopg.connect(url) as conn:
                encoding = conn.execute("SHOW server_encoding").fetchone()[0]
                socket_dir = conn.execute("SHOW unix_socket_directories").fetchone()[0]
            raise RuntimeError("the tests failed")
    assert (encoding, socket_dir) == ("UTF8", str(root))
    assert not root.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=3)
