"""A service process of a generated project on 127.0.0.1: started, waited for, always stopped."""

from __future__ import annotations

import contextlib
import http.client
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import child_environment

START_SECONDS = 90.0


def http_call(port: int, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
    """One request to 127.0.0.1:PORT, BODY sent as JSON; the status and the body."""
    return http_text_call(port, method, path, None if body is None else json.dumps(body))


def http_text_call(port: int, method: str, path: str, text: str | None) -> tuple[int, bytes]:
    """One request whose JSON body is written by hand (NaN and Infinity as bare literals)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {} if text is None else {"Content-Type": "application/json"}
        connection.request(method, path, text, headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def ready_status(port: int, path: str) -> int | None:
    try:
        return http_call(port, "GET", path)[0]
    except OSError:
        return None


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    """Poll CONDITION every half second; whether it held before SECONDS ran out."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


@contextlib.contextmanager
def server_process(
    command: list[str], cwd: Path, log: Path, ready_path: str, port: int
) -> Iterator[None]:
    """Run COMMAND until the block ends; wait until GET READY_PATH answers 200 first.

    Its output goes to LOG: a full pipe would stall the server.
    """
    with log.open("wb") as log_stream:
        process = subprocess.Popen(
            command, cwd=cwd, env=child_environment(), stdout=log_stream, stderr=subprocess.STDOUT
        )
        try:
            ready = wait_for(
                lambda: process.poll() is not None or ready_status(port, ready_path) == 200,
                START_SECONDS,
            )
            if process.poll() is not None or not ready:
                log_text = log.read_text(encoding="utf-8", errors="replace")
                pytest.fail(f"{command[0]} did not get ready on port {port}:\n{log_text}")
            yield
        finally:
            process.kill()
            process.wait(timeout=30)
