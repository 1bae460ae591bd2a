"""The external programs hermetic drives (git, uv): found up front, run with captured output."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from hermetic.errors import CommandFailedError, ToolMissingError

INSTALL_HINTS = {
    "git": "install git (`apt-get install git`, `brew install git`) and make sure it is on PATH",
    "uv": "install uv (`python3 -m pip install uv`, see docs.astral.sh/uv) and make sure it is "
    "on PATH, or pass --no-lock and lock later",
}


def require_tool(name: str) -> str:
    """The absolute path of a program on PATH, or a ToolMissingError that says how to get it."""
    found = shutil.which(name)
    if found is None:
        raise ToolMissingError(f"`{name}` was not found on PATH", INSTALL_HINTS[name])
    return found


def run_tool(
    args: Sequence[str],
    cwd: Path,
    *,
    check: bool = True,
    environment: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a program to completion, capturing its output; raise when it exits non-zero.
    ENVIRONMENT, when given, is added to this process's environment."""
    variables = None if environment is None else {**os.environ, **environment}
    completed = subprocess.run(
        list(args), cwd=cwd, capture_output=True, text=True, check=False, env=variables
    )
    if check and completed.returncode != 0:
        raise CommandFailedError(
            f"`{' '.join(args)}` failed with exit code {completed.returncode}:\n"
            f"{tail(completed.stderr or completed.stdout)}",
            "read the output above; fix its cause and run the command again",
        )
    return completed


def tail(text: str, lines: int = 15) -> str:
    """The last lines of a program's output, enough to see why it failed."""
    return "\n".join(text.strip().splitlines()[-lines:])
