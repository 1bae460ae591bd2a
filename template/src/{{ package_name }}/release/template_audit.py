"""The dependency gate: `hermetic audit` of this project, run by the hermetic-ml release that
generated it (the template source and commit that .copier-answers.yml records).

The tool comes from that release's own checkout and runs in the environment its hash-locked
uv.lock describes (`uv run --locked`), so the gate's rules change only when the project takes a
template update, and nothing in it is resolved afresh.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..errors import ProjectError

ANSWERS_FILE = Path(".copier-answers.yml")
# copier's shorthands for the two public forges; any other source is a URL or path git reads.
_SHORTHANDS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}


class TemplateAuditError(ProjectError):
    """The template release cannot be found, fetched or run."""

    exit_code = 2


@dataclass(frozen=True)
class TemplateRelease:
    """Where the template (and the hermetic tool beside it) came from, and at which commit."""

    source: str
    revision: str


def template_release(answers_file: Path) -> TemplateRelease:
    """The `_src_path` and `_commit` that copier recorded, as git reads them."""
    try:
        answers: Any = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise TemplateAuditError(f"{answers_file} cannot be read: {error}") from error
    source = answers.get("_src_path") if isinstance(answers, dict) else None
    revision = answers.get("_commit") if isinstance(answers, dict) else None
    if not isinstance(source, str) or not source or not isinstance(revision, str) or not revision:
        raise TemplateAuditError(
            f"{answers_file} records no template source (`_src_path`) and commit (`_commit`): "
            "the project must come from a git template source at a tagged commit "
            "(`hermetic new`, or `copier copy` from a git URL)"
        )
    source = source.removeprefix("git+")
    for shorthand, forge in _SHORTHANDS.items():
        if source.startswith(shorthand):
            source = forge + source.removeprefix(shorthand).removesuffix(".git") + ".git"
    return TemplateRelease(source, str(revision))


def _program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise TemplateAuditError(f"`{name}` is not on PATH; install it to run the audit")
    return found


def _run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # The tool's own environment, never this project's (`uv run` exports VIRTUAL_ENV).
    environment = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV"}
    return subprocess.run(  # noqa: S603 - resolved executables, arguments from the answers file
        command, cwd=cwd, env=environment, capture_output=True, text=True, check=False
    )


def fetch_release(release: TemplateRelease, destination: Path) -> Path:
    """A checkout of RELEASE in DESTINATION (a new directory)."""
    git = _program("git")
    cloned = _run([git, "clone", "--quiet", "--no-checkout", release.source, str(destination)])
    if cloned.returncode != 0:
        raise TemplateAuditError(
            f"cannot clone the template source {release.source}: {cloned.stderr.strip()}\n"
            "A project generated from a local path records that path: set `_src_path` in "
            f"{ANSWERS_FILE} to the template's git URL. A private template needs credentials "
            "git can use."
        )
    checked_out = _run(
        [git, "-c", "advice.detachedHead=false", "checkout", "--quiet", release.revision],
        cwd=destination,
    )
    if checked_out.returncode != 0:
        raise TemplateAuditError(
            f"the template source {release.source} has no commit {release.revision}: "
            f"{checked_out.stderr.strip()}"
        )
    if not (destination / "pyproject.toml").is_file():
        raise TemplateAuditError(
            f"the template source {release.source} at {release.revision} holds no hermetic tool "
            "(no pyproject.toml): record the hermetic-ml repository itself as `_src_path`"
        )
    return destination


def audit_command(checkout: Path, project: Path) -> list[str]:
    """`hermetic audit PROJECT`, from CHECKOUT's hash-locked environment (no dev group)."""
    uv = _program("uv")
    environment = ["--locked", "--no-dev", "--project", str(checkout)]
    return [uv, "run", "--quiet", *environment, "hermetic", "audit", str(project.resolve())]


def audit_with_template_release(project: Path) -> subprocess.CompletedProcess[str]:
    """Run the template release's `hermetic audit` on PROJECT; its exit status is the gate's
    (0 no finding, 1 findings, 2 it could not run)."""
    release = template_release(project / ANSWERS_FILE)
    with tempfile.TemporaryDirectory(prefix="hermetic-release-") as scratch:
        checkout = fetch_release(release, Path(scratch) / "template")
        return _run(audit_command(checkout, project))
