"""The tests' PostgreSQL server: a real cluster on 127.0.0.1, password-protected, always stopped."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.postgres_server import PostgresServer, postgres_server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with postgres_server(tmp_path_factory.mktemp("postgres")) as running:
        yield running


def test_rows_written_are_read_back(server: PostgresServer) -> None:
    server.execute(
        "CREATE TABLE readings (id integer PRIMARY KEY, label text NOT NULL);\n"
        "INSERT INTO readings VALUES (1, 'low'), (2, 'high');"
    )

    rows = server.execute("SELECT id, label FROM readings ORDER BY id;")

    assert rows.splitlines() == ["1|low", "2|high"]
    assert server.execute("SELECT current_user, current_database();").strip() == (
        f"{server.user}|{server.database}"
    )


def test_listens_on_loopback_behind_a_password(server: PostgresServer) -> None:
    refused = server.psql("SELECT 1;", password=f"{server.password}-wrong")

    assert refused.returncode != 0
    assert "password authentication failed" in refused.stderr
    assert server.execute("SHOW listen_addresses;").strip() == "127.0.0.1"


def test_url_names_the_database(server: PostgresServer) -> None:
    url = urlsplit(server.url)

    assert (url.scheme, url.hostname, url.port) == ("postgresql+psycopg", "127.0.0.1", server.port)
    assert (url.username, url.password, url.path) == (
        server.user,
        server.password,
        f"/{server.database}",
    )


def test_server_is_gone_after_the_block(tmp_path: Path) -> None:
    with postgres_server(tmp_path) as running:
        port = running.port
        assert running.execute("SELECT 1;").strip() == "1"

    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))
