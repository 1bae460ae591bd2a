"""`hermetic update`: copier's run_update, guarded and reported — never a silent success.

Preconditions (a git work tree at the project's root, nothing uncommitted, an answers file)
fail before anything is touched. After copier, the release's own .hermetic/after_update.py runs
the release migrations and locks again (what Renovate's template-update branches get from the
project's workflow). `--pretend` runs the same update in a throw-away clone and reports what it
would change. After a real update every changed, added, removed and conflicting file is listed;
a conflict left behind (inline markers or a .rej file) is exit 1.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from copier import run_update
from copier.errors import CopierError, InteractiveSessionError

from hermetic.errors import CannotRunError, InvalidAnswerError, TemplateError
from hermetic.external import require_tool, run_tool, tail
from hermetic.scaffold import ANSWERS_FILE
from hermetic.steps import StepReporter

CONFLICT_MARKER = re.compile(r"^(<<<<<<< |>>>>>>> )", re.MULTILINE)
# Rendered by every template release since the one that dropped copier tasks (copier.yml).
AFTER_UPDATE = Path(".hermetic") / "after_update.py"
# Its exit status when a migration failed or a conflict is left to resolve.
AFTER_UPDATE_FOUND_PROBLEM = 1


@dataclass(frozen=True)
class UpdateRequest:
    project: Path
    vcs_ref: str | None = None
    pretend: bool = False
    defaults: bool = False
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateSummary:
    changed: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]
    conflicts: tuple[str, ...]
    pretend: bool

    @property
    def touched(self) -> int:
        return len(self.changed) + len(self.added) + len(self.removed)


def update_project(request: UpdateRequest, reporter: StepReporter) -> UpdateSummary:
    project = request.project.expanduser().resolve()
    git = require_tool("git")
    _check_preconditions(git, project)
    if not request.pretend:
        # Without --defaults copier may ask the release's new questions on this terminal.
        asks = not request.defaults
        with reporter.step("Update from the template (copier update)", asks_questions=asks):
            _run_update(request, project, reporter)
        with reporter.step("Release migrations and uv.lock (.hermetic/after_update.py)"):
            _complete_update(project)
        return _summarise(git, project, pretend=False)
    with _throwaway_clone(git, project) as clone:
        pretend_step = "Update a throw-away clone from the template (pretend)"
        with reporter.step(pretend_step, asks_questions=not request.defaults):
            _run_update(request, clone, reporter)
            _complete_update(clone)
        return _summarise(git, clone, pretend=True)


def _check_preconditions(git: str, project: Path) -> None:
    if not project.is_dir():
        raise CannotRunError(f"{project} is not a directory", "give the project's directory")
    if not (project / ANSWERS_FILE).is_file():
        raise CannotRunError(
            f"{project} has no {ANSWERS_FILE}, so no template is recorded for it",
            "run `hermetic update` in a project made by `hermetic new` (or `copier copy`); "
            "`hermetic audit` works on any repository",
        )
    top = run_tool([git, "rev-parse", "--show-toplevel"], cwd=project, check=False)
    if top.returncode != 0 or Path(top.stdout.strip()).resolve() != project:
        raise CannotRunError(
            f"{project} is not the root of a git work tree",
            "an update is a merge: run it at the root of the project's git repository "
            "(`git init && git add -A && git commit` first if it has none)",
        )
    dirty = run_tool([git, "status", "--porcelain"], cwd=project).stdout
    if dirty.strip():
        listed = ", ".join(line[3:] for line in dirty.splitlines()[:5])
        raise CannotRunError(
            f"{project} has uncommitted changes ({listed})",
            "commit or stash them first (`git stash -u`), so the update is a commit of its own "
            "that you can review and revert",
        )


@contextmanager
def _throwaway_clone(git: str, project: Path) -> Iterator[Path]:
    parent = Path(tempfile.mkdtemp(prefix="hermetic-pretend-"))
    try:
        clone = parent / project.name
        run_tool([git, "clone", "--quiet", "--no-hardlinks", str(project), str(clone)], cwd=parent)
        yield clone
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def _run_update(request: UpdateRequest, project: Path, reporter: StepReporter) -> None:
    with reporter.warnings_as_notes():
        try:
            run_update(
                project,
                data=dict(request.data),
                vcs_ref=request.vcs_ref,
                defaults=request.defaults,
                overwrite=True,
                skip_answered=True,
                conflict="inline",
                # Releases before .hermetic/after_update.py locked in a copier task.
                unsafe=True,
                quiet=True,
            )
        except InteractiveSessionError as error:
            raise CannotRunError(
                "questions cannot be asked: standard input is not a terminal",
                "pass --defaults (and --data KEY=VALUE for new questions), or run in a terminal",
            ) from error
        except ValueError as error:
            raise InvalidAnswerError(
                str(error), "pass a valid answer with --data QUESTION=VALUE"
            ) from error
        except CopierError as error:
            raise TemplateError(
                f"copier could not update {project}: {error}",
                "check the template source recorded in .copier-answers.yml and --vcs-ref",
            ) from error


def _complete_update(project: Path) -> None:
    """Run the release's after-update script; a problem it leaves for the summary (a conflict
    in pyproject.toml) is reported there, a failed migration here."""
    if not (project / AFTER_UPDATE).is_file():
        return  # a release from before the script: its copier task locked
    completed = run_tool([sys.executable, str(AFTER_UPDATE)], cwd=project, check=False)
    if completed.returncode == 0:
        return
    output = completed.stderr or completed.stdout
    if completed.returncode == AFTER_UPDATE_FOUND_PROBLEM and "conflict markers" in output:
        return  # pyproject.toml is in the summary's conflicts; the script says to run it again
    raise TemplateError(
        f"{AFTER_UPDATE} failed with exit code {completed.returncode}:\n{tail(output)}",
        f"fix what it reports, then run `python3 {AFTER_UPDATE}` in {project} and commit",
    )


def _summarise(git: str, project: Path, pretend: bool) -> UpdateSummary:
    status = run_tool(
        [git, "status", "--porcelain", "--untracked-files=all", "--no-renames"], cwd=project
    ).stdout
    changed, added, removed = [], [], []
    for line in status.splitlines():
        code, path = line[:2], line[3:]
        if "D" in code:
            removed.append(path)
        elif code in {"??", "A "}:
            added.append(path)
        else:
            changed.append(path)
    conflicts = [
        path
        for path in changed + added
        if path.endswith(".rej") or _has_conflict_markers(project / path)
    ]
    return UpdateSummary(
        tuple(changed), tuple(added), tuple(removed), tuple(sorted(conflicts)), pretend
    )


def _has_conflict_markers(path: Path) -> bool:
    try:
        return bool(CONFLICT_MARKER.search(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError):
        return False
