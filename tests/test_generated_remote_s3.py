"""A generated project's DVC remote on S3, exercised for real: `dvc push` to an S3-compatible
object store on 127.0.0.1, then `dvc pull` into a new clone gives the same data, weights and
metrics, byte for byte, with nothing to rerun.

The store is moto's server (`moto[server]`, PyPI, a dev dependency of this tool): an HTTP server
that speaks the S3 API, the one DVC's own test suite pushes to. MinIO, SeaweedFS and Garage ship
no package on PyPI, npm or Debian; Debian's radosgw needs a Ceph cluster.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.generation import (
    REPRODUCIBLE_OUTPUTS,
    UP_TO_DATE,
    Reproduced,
    dvc,
    fresh_clone,
    sha256_of,
)
from tests.helpers import free_port, git, run_command
from tests.service_process import http_text_call, server_process

BUCKET = "hermetic-dvc"
# The answered URL of the "minimal" variant is s3://models/churn; this store's bucket replaces it.
REMOTE_URL = f"s3://{BUCKET}/churn"
# Credentials reach DVC from the environment only: never a file in git, never dvc.lock.
ACCESS_KEY = "hermetic-test-access-key"
SECRET_KEY = "hermetic-test-secret-key"  # noqa: S105 - a test store's, on 127.0.0.1


@pytest.fixture
def s3_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """An empty bucket in a fresh S3-compatible server; its endpoint URL."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = Path(sys.executable).with_name("moto_server")
    assert server.is_file(), f"{server} is missing: uv sync installs moto[server]"
    command = [str(server), "-H", "127.0.0.1", "-p", str(port)]
    with server_process(command, tmp_path, tmp_path / "s3-server.log", "/", port):
        status, body = http_text_call(port, "PUT", f"/{BUCKET}", None)
        assert status == 200, body
        yield f"http://127.0.0.1:{port}"


def _stored_keys(endpoint: str) -> list[str]:
    port = int(endpoint.rsplit(":", 1)[1])
    status, body = http_text_call(port, "GET", f"/{BUCKET}?list-type=2", None)
    assert status == 200, body
    return re.findall(r"<Key>([^<]+)</Key>", body.decode())


def test_a_new_clone_pulls_data_weights_and_metrics_from_an_s3_store_byte_for_byte(
    reproduced_source: Callable[[str], Reproduced], s3_endpoint: str, tmp_path: Path
) -> None:
    # The sql source's clean clone, reproduced: its remote becomes the store.
    first = reproduced_source("minimal").project
    for key, value in {"url": REMOTE_URL, "endpointurl": s3_endpoint}.items():
        dvc(first, "remote", "modify", "--local", "storage", key, value)
    git("add", "dvc.lock", "reports", cwd=first)
    git("commit", "--quiet", "-m", "Reproduce the pipeline", cwd=first)
    dvc(first, "push")
    assert _stored_keys(s3_endpoint), "the bucket received the outputs"

    # Only git, the lock and the store: nothing is recomputed.
    newcomer = fresh_clone(first, tmp_path / "newcomer", REMOTE_URL, endpointurl=s3_endpoint)
    assert not (newcomer / REPRODUCIBLE_OUTPUTS[0]).exists()
    dvc(newcomer, "pull")
    assert sha256_of(newcomer) == sha256_of(first)
    again = dvc(newcomer, "repro")
    assert UP_TO_DATE in again and "Running stage" not in again, again
    for tracked in (first / ".dvc" / "config", first / "dvc.lock"):
        text = tracked.read_text(encoding="utf-8")
        assert ACCESS_KEY not in text and SECRET_KEY not in text, tracked

    # A store that cannot be reached fails the push, and says where it tried.
    closed = f"http://127.0.0.1:{free_port()}"
    dvc(first, "remote", "modify", "--local", "storage", "endpointurl", closed)
    completed = run_command(["uv", "run", "--frozen", "dvc", "push"], first, timeout=300)
    assert completed.returncode != 0, completed.stdout
    assert closed in completed.stdout + completed.stderr, completed.stdout + completed.stderr
