"""`hermetic new`: render the template with copier's public API, lock, commit — all or nothing."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from copier import run_copy
from copier.errors import CopierError, InteractiveSessionError

from hermetic.errors import (
    CannotRunError,
    DestinationNotEmptyError,
    InvalidAnswerError,
    LockFailedError,
    TemplateError,
)
from hermetic.external import require_tool, run_tool, tail
from hermetic.steps import StepReporter

ANSWERS_FILE = ".copier-answers.yml"
DEMO_SNAPSHOT = "data/raw/dataset.parquet"  # the file source's data, as dvc.yaml names it
# uv's wording when it cannot reach the package index (DNS, refused, timed out, TLS).
_NETWORK_FAILURE = re.compile(
    r"error sending request|failed to fetch|dns error|connection refused|timed out|"
    r"could not connect|network is unreachable|tcp connect error|offline",
    re.IGNORECASE,
)
# copier's wording for an answer that fails its question's type, choices or validator.
_ANSWER_PROBLEM = re.compile(r"question|invalid choice", re.IGNORECASE)
_BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "1", "0", "y", "n"})
REMOTE_SOURCE = re.compile(r"^(\w[\w+.-]*://|git@|gh:|gl:)")


@dataclass(frozen=True)
class NewProjectRequest:
    destination: Path
    template: str
    vcs_ref: str | None = None
    defaults: bool = False
    data: dict[str, str] = field(default_factory=dict)
    lock: bool = True


def parse_data_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """`KEY=VALUE` arguments as a mapping; a malformed or repeated key is an error."""
    data: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        key = key.strip()
        if not separator or not key:
            raise InvalidAnswerError(
                f"--data {pair!r} is not of the form KEY=VALUE",
                "write each answer as --data question=value, e.g. --data license=MIT",
            )
        if key in data:
            raise InvalidAnswerError(
                f"--data gives {key!r} more than once",
                "give each question one --data value",
            )
        data[key] = value
    return data


def new_project(request: NewProjectRequest, reporter: StepReporter) -> Path:
    """Generate a project at the destination; on any failure nothing is left behind."""
    destination = request.destination.expanduser().resolve()
    _check_destination(destination)
    request = replace(request, template=_template_source(request.template))
    git = require_tool("git")
    uv = require_tool("uv") if request.lock else None

    try:
        with _staging_directory(destination) as staging:
            render = f"Render template {request.template}"
            # Without --defaults copier asks its questions on this terminal, inside the step.
            with reporter.step(render, asks_questions=not request.defaults):
                answers = _render(request, staging, reporter)
            writes_demo_snapshot = answers.get("data_source") == "file"
            if writes_demo_snapshot and uv is None:
                raise InvalidAnswerError(
                    "data_source=file writes its demo snapshot with the project's locked "
                    "environment, which --no-lock does not create",
                    "drop --no-lock, or generate with --data data_source=synthetic",
                )
            if uv is not None:
                with reporter.step("Lock dependencies with hashes (uv lock)"):
                    _lock(uv, staging)
            run_tool([git, "init", "--quiet", "--initial-branch=main"], cwd=staging)
            if writes_demo_snapshot and uv is not None:
                with reporter.step(f"Write the demo data snapshot {DEMO_SNAPSHOT} (dvc add)"):
                    _write_demo_snapshot(uv, staging, answers["package_name"])
            with reporter.step("Create git repository with a first commit"):
                _commit(git, staging, answers)
            if destination.exists():
                destination.rmdir()  # checked empty above; replaced by the finished project
            staging.rename(destination)
    except OSError as error:
        raise CannotRunError(
            f"could not write the project at {destination}: {error.strerror or error}",
            f"make sure {destination.parent} is a directory you can write to, or choose "
            "another destination",
        ) from error
    return destination


def _check_destination(destination: Path) -> None:
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise DestinationNotEmptyError(
            f"{destination} already exists and is not an empty directory",
            "choose a new directory name; hermetic never writes over existing files "
            "(to pull template changes into an existing project use `hermetic update`)",
        )


def _template_source(template: str) -> str:
    """A remote source as given; a local one checked and made absolute, so that the answers
    file points at it from wherever `copier update` runs later."""
    if REMOTE_SOURCE.match(template):
        return template
    local = Path(template).expanduser().absolute()
    if not (local / "copier.yml").is_file():
        raise TemplateError(
            f"template {template!r} is not a directory holding a copier.yml",
            "pass --template with the path or git URL of a hermetic-ml template checkout",
        )
    return str(local)


@contextmanager
def _staging_directory(destination: Path) -> Iterator[Path]:
    """A sibling directory to build in; removed, with any parents it created, unless renamed."""
    missing = [parent for parent in destination.parents if not parent.exists()]
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        yield staging
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
        if missing and not destination.exists():
            shutil.rmtree(missing[-1], ignore_errors=True)


def _render(request: NewProjectRequest, staging: Path, reporter: StepReporter) -> dict[str, Any]:
    with reporter.warnings_as_notes():
        try:
            worker = run_copy(
                request.template,
                staging,
                data=dict(request.data),
                vcs_ref=request.vcs_ref,
                defaults=request.defaults,
                # The lock date is the UTC date (the template's own default uses local time).
                user_defaults={"exclude_newer": datetime.now(UTC).date().isoformat()},
                unsafe=True,  # the template is trusted: hermetic templates may run tasks
                quiet=True,
                cleanup_on_error=False,  # the staging directory is ours to clean
            )
        except InteractiveSessionError as error:
            raise CannotRunError(
                "questions cannot be asked: standard input is not a terminal",
                "pass --defaults (and --data KEY=VALUE for answers that differ), "
                "or run in a terminal",
            ) from error
        except (ValueError, CopierError) as error:
            if isinstance(error, ValueError) and _ANSWER_PROBLEM.search(str(error)):
                raise InvalidAnswerError(
                    str(error),
                    "pass a valid answer with --data QUESTION=VALUE; "
                    "docs/reference/questions.md lists every question and its allowed values",
                ) from error
            raise TemplateError(
                f"copier could not render {request.template!r}: {error}",
                "check the template source and --vcs-ref (a tag, branch or commit of it)",
            ) from error
    _check_data_against_questions(request.data, worker.template.questions_data)
    answers = read_answers(staging)
    if "_commit" not in answers:
        raise TemplateError(
            f"template {request.template!r} is not a git repository, so the project could "
            "never be updated from it",
            "use a git checkout or git URL of the template (releases are git tags)",
        )
    return answers


def _check_data_against_questions(data: dict[str, str], questions: dict[str, Any]) -> None:
    """Refuse what copier would accept silently: unknown keys, and booleans it would guess."""
    unknown = sorted(set(data) - set(questions))
    if unknown:
        asked = [name for name, spec in questions.items() if spec.get("when") is not False]
        raise InvalidAnswerError(
            f"--data names no question of this template: {', '.join(unknown)}",
            f"use one of: {', '.join(asked)}",
        )
    for key, value in data.items():
        if questions[key].get("type") == "bool" and value.strip().lower() not in _BOOLEAN_WORDS:
            raise InvalidAnswerError(
                f"--data {key}={value!r} is not a yes/no answer for question '{key}'",
                f"pass --data {key}=true or --data {key}=false",
            )


def read_answers(project: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
    return loaded if isinstance(loaded, dict) else {}


def _lock(uv: str, project: Path) -> None:
    try:
        run_tool([uv, "lock"], cwd=project)
    except CannotRunError as error:
        output = error.problem
        if _NETWORK_FAILURE.search(output):
            raise LockFailedError(
                f"`uv lock` could not reach the package registry:\n{tail(output)}",
                "check the network or proxy settings (UV_INDEX_URL, HTTPS_PROXY), or generate "
                "without locking with --no-lock and run `uv lock` in the project later",
            ) from error
        raise LockFailedError(
            f"`uv lock` could not resolve the project's dependencies:\n{tail(output)}",
            "when uv names an answer's effect (a distribution_name that is also a dependency's "
            "name, a package filtered by exclude-newer because exclude_newer is too early), "
            "generate again with another --data value; otherwise pass --no-lock and resolve in the "
            "project with `uv lock`",
        ) from error


def _write_demo_snapshot(uv: str, project: Path, package: str) -> None:
    """The `file` source's starting data: the demo's rows, written by the project's own `sample`
    command and tracked with `dvc add`, in a throwaway environment (one inside the project would
    point at the staging directory once it is renamed)."""
    with tempfile.TemporaryDirectory(prefix="hermetic-environment-") as environment:
        variables = {"UV_PROJECT_ENVIRONMENT": environment}
        run_tool([uv, "run", "--locked", package, "sample", "--output", DEMO_SNAPSHOT],
                 cwd=project, environment=variables)  # fmt: skip
        run_tool([uv, "run", "--locked", "dvc", "add", DEMO_SNAPSHOT],
                 cwd=project, environment=variables)  # fmt: skip


def _commit(git: str, project: Path, answers: dict[str, Any]) -> None:
    run_tool([git, "add", "--all"], cwd=project)
    identity: list[str] = []
    configured = run_tool([git, "config", "--get", "user.email"], cwd=project, check=False)
    if not configured.stdout.strip():
        # No git identity on this machine: the first commit is authored by the project's author.
        identity = [
            "-c",
            f"user.name={answers.get('author_name', 'hermetic')}",
            "-c",
            f"user.email={answers.get('author_email', 'hermetic@localhost')}",
        ]
    message = f"Generate from the hermetic-ml template ({answers['_commit']})"
    run_tool([git, *identity, "commit", "--quiet", "--no-verify", "-m", message], cwd=project)
