"""Helpers shared by the tests: git, the repository root, subprocess environments."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_TAG = "v0.1.0"


def git(*args: str, cwd: Path) -> str:
    """Run git in a directory and return its standard output."""
    completed = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return completed.stdout


def child_environment(**overrides: str) -> dict[str, str]:
    """The environment for a subprocess: the test's, without this tool's virtualenv."""
    environment = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    environment.update(overrides)
    return environment


def run_command(
    command: Sequence[str | Path],
    cwd: Path | None = None,
    *,
    environment: Mapping[str, str] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command in the child environment (with ENVIRONMENT's variables on top), capturing
    its text output; return it whatever its exit status: the caller asserts."""
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=child_environment(**(environment or {})),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (once this probe is closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def tree_files(root: Path) -> set[str]:
    """Every file under a directory, relative and POSIX-style, outside .git."""
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def read_answers(project: Path) -> dict[str, Any]:
    """A generated project's .copier-answers.yml."""
    loaded: dict[str, Any] = yaml.safe_load(
        (project / ".copier-answers.yml").read_text(encoding="utf-8")
    )
    return loaded


def normalized_distribution(name: str) -> str:
    """A distribution name as package indexes compare it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def http_status(url: str, timeout: float = 5) -> int | None:
    """The status of a GET of a local URL, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a local URL
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def group_requirements(pyproject: dict[str, Any], group: str) -> list[str]:
    """GROUP's requirement strings in a parsed pyproject.toml, `{include-group = ...}` entries
    expanded (PEP 735)."""
    requirements: list[str] = []
    for item in pyproject["dependency-groups"][group]:
        if isinstance(item, dict):
            requirements += group_requirements(pyproject, item["include-group"])
        else:
            requirements.append(item)
    return requirements


def tagged_copy(files: Sequence[str], repo: Path, message: str) -> Path:
    """REPO as a git repository holding FILES (paths in this checkout), committed and tagged
    TEMPLATE_TAG, as a template release is."""
    for relative in files:
        if (REPO_ROOT / relative).is_file():
            (repo / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / relative, repo / relative)
    git("init", "--quiet", cwd=repo)
    git("add", "--all", cwd=repo)
    git("commit", "--quiet", "-m", message, cwd=repo)
    git("tag", TEMPLATE_TAG, cwd=repo)
    return repo


def suppression_reason(lines: Sequence[str], number: int, trailing: str) -> str:
    """The reason a suppression comment on line NUMBER gives: the text after it (TRAILING), or
    else the comment line just above it."""
    before = lines[number - 1].strip() if number else ""
    return trailing.strip(" -:") or (before.lstrip("#").strip() if before.startswith("#") else "")


_INCLUDE = "!include"


class _IncludeMarkingLoader(yaml.SafeLoader):
    """copier.yml's loader: `!include PATTERN` becomes a marker, read in place afterwards."""


_IncludeMarkingLoader.add_constructor(
    "!include", lambda _loader, node: {_INCLUDE: str(getattr(node, "value", ""))}
)


def copier_config(template: Path) -> dict[str, Any]:
    """TEMPLATE's copier.yml as copier reads it: its documents merged in order, each
    `!include`d file read in place (their variables are `when: false`, never asked)."""
    text = (template / "copier.yml").read_text(encoding="utf-8")
    merged: dict[str, Any] = {}
    for document in yaml.load_all(text, _IncludeMarkingLoader):
        if isinstance(document, dict) and set(document) == {_INCLUDE}:
            for path in sorted(template.glob(document[_INCLUDE])):
                merged.update(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
        else:
            merged.update(document or {})
    return merged
