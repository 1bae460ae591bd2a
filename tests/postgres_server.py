"""A real PostgreSQL server for the tests: Debian's binaries, a throwaway cluster on 127.0.0.1.

Local socket connections are trusted (they set the cluster up); TCP on 127.0.0.1 asks for a
password (scram-sha-256), as a generated project's database would.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shlex
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.helpers import child_environment, free_port, run_command

POSTGRES_LIBRARY = Path("/usr/lib/postgresql")
INSTALL_HINT = "run `bash scripts/install-system-tools.sh` (as root) to install it"
# PostgreSQL refuses to run as root; Debian's package creates this unprivileged user for it.
SERVER_ACCOUNT = "postgres"
SUPERUSER = "postgres"
START_SECONDS = 30.0
STOP_SECONDS = 10.0
COMMAND_SECONDS = 60.0
PG_HBA = (
    "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
    "local   all       all                 trust\n"
    "host    all       all   127.0.0.1/32  scram-sha-256\n"
)


class PostgresError(RuntimeError):
    """A PostgreSQL program (initdb, psql) exited non-zero; the message carries its standard
    error."""


@dataclass(frozen=True)
class PostgresServer:
    """A running server on HOST:PORT, where USER (PASSWORD) owns DATABASE."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    database: str
    binaries: Path = field(repr=False)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of DATABASE, through psycopg 3."""
        credentials = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return f"postgresql+psycopg://{credentials}@{self.host}:{self.port}/{self.database}"

    def psql(self, sql: str, *, password: str | None = None) -> subprocess.CompletedProcess[str]:
        """SQL run by the cluster's psql over TCP as USER, with PASSWORD (the right one unless
        given); whatever its exit status. Several statements in SQL make one transaction."""
        return run_command(
            [
                self.binaries / "psql",
                *_PSQL_OPTIONS,
                f"--host={self.host}",
                f"--port={self.port}",
                f"--username={self.user}",
                f"--dbname={self.database}",
                f"--command={sql}",
            ],
            environment={"PGPASSWORD": self.password if password is None else password},
            timeout=COMMAND_SECONDS,
        )

    def execute(self, sql: str) -> str:
        """What psql prints for SQL: unaligned rows, fields split by "|", no headers."""
        return _checked(self.psql(sql))


# No psqlrc, stop at the first error, rows only.
_PSQL_OPTIONS = ("--no-psqlrc", "--set=ON_ERROR_STOP=1", "--quiet", "--no-align", "--tuples-only")


@contextmanager
def postgres_server(root: Path) -> Iterator[PostgresServer]:
    """A fresh cluster under ROOT served on a free port of 127.0.0.1 until the block ends,
    with a login role and a database it owns; the server is always stopped afterwards."""
    binaries = server_binaries()
    as_account = _account_prefix(root)
    cluster = root / "postgres"
    data, sockets = cluster / "data", cluster / "run"
    for directory in (cluster, sockets):
        directory.mkdir(parents=True, exist_ok=True)
        _hand_over(directory)
    _checked(
        run_command(
            [
                *as_account,
                binaries / "initdb",
                f"--pgdata={data}",
                f"--username={SUPERUSER}",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            cluster,
            timeout=COMMAND_SECONDS,
        )
    )
    (data / "pg_hba.conf").write_text(PG_HBA, encoding="utf-8")
    port = free_port()
    log = cluster / "server.log"
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": str(port),
        "unix_socket_directories": str(sockets),
        # A throwaway cluster: nothing is worth waiting for the disk.
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }
    options = [f"--{name}={value}" for name, value in settings.items()]
    with log.open("wb") as log_stream:
        process = subprocess.Popen(
            [*as_account, binaries / "postgres", "-D", data, *options],
            cwd=cluster,
            env=child_environment(),
            stdout=log_stream,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_accepting(binaries, port, process, log)
        user, database, password = "hermetic", "hermetic", secrets.token_hex(16)
        # Two commands: CREATE DATABASE cannot run inside the transaction of a single one.
        _checked(
            run_command(
                [
                    binaries / "psql",
                    *_PSQL_OPTIONS,
                    f"--host={sockets}",
                    f"--port={port}",
                    f"--username={SUPERUSER}",
                    "--dbname=postgres",
                    f"--command=CREATE ROLE {user} LOGIN PASSWORD '{password}'",
                    f"--command=CREATE DATABASE {database} OWNER {user}",
                ],
                timeout=COMMAND_SECONDS,
            )
        )
        yield PostgresServer("127.0.0.1", port, user, password, database, binaries)
    finally:
        _stop(process)


def server_binaries() -> Path:
    """The newest installed major version's bin directory; a loud failure if there is none."""
    found = sorted(
        (path.parent for path in POSTGRES_LIBRARY.glob("*/bin/postgres")),
        key=lambda binaries: _major_version(binaries.parent.name),
    )
    if not found:
        pytest.fail(
            f"no PostgreSQL server under {POSTGRES_LIBRARY}/*/bin: {INSTALL_HINT}", pytrace=False
        )
    return found[-1]


def _major_version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _account_prefix(root: Path) -> list[str]:
    """The command prefix that runs the server's programs: none for an unprivileged user; as root,
    a switch to SERVER_ACCOUNT, after letting it reach ROOT."""
    if os.geteuid() != 0:
        return []
    try:
        account = pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        pytest.fail(
            f"no `{SERVER_ACCOUNT}` user to run PostgreSQL as: {INSTALL_HINT}", pytrace=False
        )
    # pytest's temporary directories are private to root: search (not listing) lets the server
    # account through them to its cluster.
    for directory in (root, *root.parents):
        mode = directory.stat().st_mode
        if not mode & 0o001:
            directory.chmod(mode | 0o001)
    # setpriv replaces itself with the program, so the child process is the server itself.
    return [
        "setpriv",
        f"--reuid={account.pw_uid}",
        f"--regid={account.pw_gid}",
        "--clear-groups",
        "--",
    ]


def _hand_over(directory: Path) -> None:
    """DIRECTORY owned by SERVER_ACCOUNT when the tests run as root (the server writes there)."""
    if os.geteuid() == 0:
        account = pwd.getpwnam(SERVER_ACCOUNT)
        os.chown(directory, account.pw_uid, account.pw_gid)


def _checked(completed: subprocess.CompletedProcess[str]) -> str:
    """COMPLETED's standard output; PostgresError with its standard error if it failed."""
    if completed.returncode != 0:
        raise PostgresError(
            f"`{shlex.join(completed.args)}` exited with {completed.returncode}:\n"
            f"{completed.stderr}"
        )
    return completed.stdout


def _wait_until_accepting(
    binaries: Path, port: int, process: subprocess.Popen[bytes], log: Path
) -> None:
    """pg_isready says the server accepts connections on 127.0.0.1:PORT within START_SECONDS;
    else a failure showing the server's log."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"postgres exited with {process.returncode}:\n{log.read_text(errors='replace')}",
                pytrace=False,
            )
        ready = run_command(
            [binaries / "pg_isready", "--host=127.0.0.1", f"--port={port}", "--timeout=1"],
            timeout=COMMAND_SECONDS,
        )
        if ready.returncode == 0:
            return
        time.sleep(0.1)
    pytest.fail(
        f"postgres did not accept connections on 127.0.0.1:{port} within {START_SECONDS:.0f} s:\n"
        f"{log.read_text(errors='replace')}",
        pytrace=False,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Immediate shutdown (SIGQUIT to the postmaster), then a kill if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGQUIT)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_SECONDS)
