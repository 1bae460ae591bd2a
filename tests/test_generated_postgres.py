"""The `sql` data source against a real PostgreSQL server (Debian's, on 127.0.0.1): a clone of
the "minimal" variant swaps the demo's SQLite database for it the way the README says (delete
the `sample` stage, the URL before the snapshot's command and its file dependency; export the
URL), then shows that the same bound gives the same snapshot bytes and nothing downstream
reruns, rows after the bound never enter, one changed row before it gives a new snapshot that
reruns every stage after it, the password never reaches a file or a log, and an unreachable
server fails the snapshot, naming it, with the last snapshot kept."""

from __future__ import annotations

import csv
import hashlib
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
import yaml

from tests.generation import UP_TO_DATE, dvc, fresh_clone
from tests.helpers import read_answers, run_command
from tests.postgres_server import PostgresServer, postgres_server

pytestmark = pytest.mark.slow

SNAPSHOT = "data/raw/dataset.parquet"
DEMO_DATABASE = "data/source/leads.sqlite"
SQL_TYPES = {"INTEGER": "bigint", "REAL": "double precision", "TEXT": "text"}
DOWNSTREAM = ("prepare", "train", "evaluate", "golden")
# A quick training run: the test is about the data, not the model.
QUICK_TRAINING = {"epochs": 1, "min_steps": 20}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    with postgres_server(tmp_path_factory.mktemp("postgres")) as running:
        yield running


def _copy_demo_rows(project: Path, server: PostgresServer, root: Path) -> str:
    """The demo database's table, rows and types, into SERVER (created_at as a real
    timestamp); return the table's name."""
    with closing(sqlite3.connect(project / DEMO_DATABASE)) as database:
        (table,) = [str(row[0]) for row in database.execute("SELECT name FROM sqlite_master")]
        columns = [(row[1], row[2]) for row in database.execute(f"PRAGMA table_info({table})")]
        rows: list[tuple[object, ...]] = database.execute(
            f"SELECT * FROM {table}"  # noqa: S608
        ).fetchall()
    exported = root / "rows.csv"
    with exported.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows(rows)
    definition = ", ".join(
        f'"{name}" {"timestamp" if name == "created_at" else SQL_TYPES[kind]}'
        for name, kind in columns
    )
    server.execute(f"CREATE TABLE {table} ({definition})")
    server.execute(f"\\copy {table} FROM '{exported}' CSV")
    return table


def _swap_the_demo_database_for_the_server(project: Path) -> None:
    """The README's step 4, and a quick training run."""
    pipeline = yaml.safe_load((project / "dvc.yaml").read_text(encoding="utf-8"))
    del pipeline["stages"]["sample"]
    snapshot = pipeline["stages"]["snapshot"]
    snapshot["cmd"] = snapshot["cmd"].split(" ", 1)[1]
    snapshot["deps"].remove(DEMO_DATABASE)
    (project / "dvc.yaml").write_text(yaml.safe_dump(pipeline, sort_keys=False), "utf-8")
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    params["train"].update(QUICK_TRAINING)
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), "utf-8")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_sql_source_snapshots_a_postgres_table_by_its_bound(
    generated_project: Callable[[str], Path], server: PostgresServer, tmp_path: Path
) -> None:
    project = fresh_clone(generated_project("minimal"), tmp_path / "project", tmp_path / "remote")
    dvc(project, "repro", "sample")
    table = _copy_demo_rows(project, server, tmp_path)
    _swap_the_demo_database_for_the_server(project)
    variable = f"{read_answers(project)['package_name'].upper()}_DATABASE_URL"
    outputs: list[str] = []

    def pipeline(*arguments: str, url: str = server.url, succeeds: bool = True) -> str:
        command = ["uv", "run", "--frozen", "dvc", *arguments]
        completed = run_command(command, project, environment={variable: url}, timeout=900)
        printed = completed.stdout + completed.stderr
        outputs.append(printed)
        assert (completed.returncode == 0) == succeeds, printed
        return printed

    def ran(printed: str) -> list[str]:
        return [line.split("'")[1] for line in printed.splitlines() if "Running stage" in line]

    first = pipeline("repro")
    assert ran(first) == ["snapshot", *DOWNSTREAM]
    assert "snapshot: " in first and "from postgresql+psycopg://" in first
    snapshot = _sha256(project / SNAPSHOT)
    assert UP_TO_DATE in pipeline("repro")

    # The same bound against an unchanged table: the same bytes, nothing after it reruns.
    pipeline("repro", "--force", "--single-item", "snapshot")
    assert _sha256(project / SNAPSHOT) == snapshot
    assert ran(pipeline("repro")) == []

    # Rows created after the bound never enter.
    server.execute(
        f"INSERT INTO {table} SELECT lead_id || '-late', form_score, email_open_rate, "  # noqa: S608
        f"session_depth, country, converted, TIMESTAMP '2027-01-01' FROM {table}"
    )
    pipeline("repro", "--force", "--single-item", "snapshot")
    assert _sha256(project / SNAPSHOT) == snapshot

    # One row changed before the bound: a new snapshot, and every stage after it reruns.
    server.execute(
        f"UPDATE {table} SET converted = 1 - converted WHERE lead_id = "  # noqa: S608
        f"(SELECT min(lead_id) FROM {table} WHERE created_at < TIMESTAMP '2026-06-01')"
    )
    pipeline("repro", "--force", "--single-item", "snapshot")
    changed = _sha256(project / SNAPSHOT)
    assert changed != snapshot
    assert ran(pipeline("repro")) == list(DOWNSTREAM)

    # A server that refuses the credentials: named, and the last snapshot kept.
    refused = pipeline(
        "repro", "--force", "--single-item", "snapshot",
        url=server.url.replace(server.password, "wrong-password"), succeeds=False,
    )  # fmt: skip
    assert "cannot connect to the database postgresql+psycopg://" in refused
    assert "wrong-password" not in refused
    assert _sha256(project / SNAPSHOT) == changed

    # The password reached no output, and no file of the project, DVC's cache included.
    assert not [printed for printed in outputs if server.password in printed]
    leaked = [
        path
        for path in project.rglob("*")
        if path.is_file()
        and ".venv" not in path.relative_to(project).parts
        and server.password.encode() in path.read_bytes()
    ]
    assert leaked == []
