"""`hermetic check`: is a project behind its template's latest release?

The project's `.copier-answers.yml` names the template (`_src_path`) and the version last
rendered from it (`_commit`). `git ls-remote --tags` lists the template's releases without
cloning it, from a URL or a local path alike; tags and `_commit` are ordered as copier orders
them: PEP 440 versions, pre-releases never the latest, a `git describe` form past its tag.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from packaging.version import InvalidVersion, Version

from hermetic.errors import CannotRunError, TemplateError
from hermetic.external import require_tool, run_tool, tail
from hermetic.scaffold import ANSWERS_FILE, REMOTE_SOURCE, read_answers

# copier's URL shortcuts; ls-remote understands only what they stand for.
_SHORTCUTS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}
# What copier records when the template was between releases: `<tag>-<count>-g<hash>`.
_DESCRIBE = re.compile(r"^(?P<tag>.+)-(?P<count>\d+)-g(?P<hash>\w+)$")


class CheckFormat(StrEnum):
    TEXT = "text"
    JSON = "json"


@dataclass(frozen=True)
class TemplateStatus:
    project: Path
    template: str
    current: str  # `_commit` as recorded
    latest: str
    newer: tuple[str, ...]  # releases after `current`, ascending

    @property
    def behind(self) -> bool:
        return bool(self.newer)


def check_project(project: Path) -> TemplateStatus:
    root = project.expanduser().resolve()
    source, commit = _recorded_template(root)
    current = commit_version(commit, root)
    releases = release_tags(source, root)
    latest = releases[-1][1]
    newer = tuple(tag for version, tag in releases if version > current)
    return TemplateStatus(root, source, commit, latest, newer)


def commit_version(commit: str, project: Path) -> Version:
    """`_commit` as a version: a tag, or `<tag>-<count>-g<hash>` as copier reads it
    (`<tag>.post<count>+<hash>`: past that tag, before the next)."""
    described = _DESCRIBE.match(commit)
    text = commit
    if described:
        text = f"{described['tag']}.post{described['count']}+{described['hash']}"
    try:
        return Version(text)
    except InvalidVersion as error:
        raise TemplateError(
            f"{project / ANSWERS_FILE} records _commit {commit!r}, which is not a release "
            "version, so it cannot be compared with the template's releases",
            "move the project onto a release: `hermetic update --vcs-ref <tag>` with one of "
            "the template's version tags (`git ls-remote --tags SOURCE` lists them)",
        ) from error


def release_tags(source: str, project: Path) -> list[tuple[Version, str]]:
    """The template's release tags, oldest first: PEP 440 versions that are not pre-releases."""
    git = require_tool("git")
    listed = run_tool(
        [git, "ls-remote", "--tags", "--refs", "--", _git_location(source, project)],
        cwd=project,
        check=False,
        environment={"GIT_TERMINAL_PROMPT": "0"},  # a source that wants a password fails
    )
    if listed.returncode != 0:
        raise TemplateError(
            f"the template source {source!r} could not be reached:\n"
            f"{tail(listed.stderr or listed.stdout)}",
            f"check _src_path in {project / ANSWERS_FILE}: a git URL you can read "
            "(`git ls-remote --tags SOURCE` must work) or the path of a template checkout",
        )
    releases: list[tuple[Version, str]] = []
    for line in listed.stdout.splitlines():
        tag = line.partition("\t")[2].removeprefix("refs/tags/")
        try:
            version = Version(tag)
        except InvalidVersion:
            continue
        if not version.is_prerelease:
            releases.append((version, tag))
    if not releases:
        raise TemplateError(
            f"the template source {source!r} has no release tags (PEP 440 versions such as "
            "v1.2.0), so there is no latest release to compare with",
            "tag the template's releases (`git tag v0.1.0 && git push --tags`), or check that "
            f"_src_path in {project / ANSWERS_FILE} names the template",
        )
    return sorted(releases)


def _recorded_template(project: Path) -> tuple[str, str]:
    answers_file = project / ANSWERS_FILE
    if not answers_file.is_file():
        raise CannotRunError(
            f"{project} has no {ANSWERS_FILE}, so no template is recorded for it",
            "run `hermetic check` in a project made by `hermetic new` (or `copier copy`), "
            "or pass the project's directory",
        )
    try:
        answers: dict[str, Any] = read_answers(project)
    except yaml.YAMLError as error:
        raise CannotRunError(
            f"{answers_file} is not valid YAML: {error}",
            f"restore {ANSWERS_FILE} from git (`git checkout -- {ANSWERS_FILE}`)",
        ) from error
    missing = [key for key in ("_src_path", "_commit") if not answers.get(key)]
    if missing:
        raise CannotRunError(
            f"{answers_file} records no {' or '.join(missing)}, so the template or the "
            "version the project came from is unknown",
            "restore them from git, or, for a project made from a template that was not a "
            "tagged git repository, generate it again from a release "
            "(`hermetic new DEST --template SOURCE --vcs-ref <tag>`)",
        )
    return str(answers["_src_path"]), str(answers["_commit"])


def _git_location(source: str, project: Path) -> str:
    """What ls-remote accepts for a copier source: a URL, or an absolute path (a relative one
    is read from the project)."""
    for shortcut, expansion in _SHORTCUTS.items():
        if source.startswith(shortcut):
            return expansion + source.removeprefix(shortcut).lstrip("/")
    if REMOTE_SOURCE.match(source):
        return source.removeprefix("git+")
    return str(project / Path(source).expanduser())


def update_command(status: TemplateStatus) -> str:
    at = "" if status.project == Path.cwd().resolve() else f" {shlex.quote(str(status.project))}"
    return f"hermetic update{at} --vcs-ref {shlex.quote(status.latest)}"


def as_json(status: TemplateStatus) -> dict[str, Any]:
    return {
        "project": str(status.project),
        "template": status.template,
        "current": status.current,
        "latest": status.latest,
        "behind": status.behind,
        "newer": list(status.newer),
    }


def render_status(status: TemplateStatus, check_format: CheckFormat) -> str:
    if check_format is CheckFormat.JSON:
        return json.dumps(as_json(status), indent=2) + "\n"
    if not status.behind:
        return (
            f"up to date: {status.project} is on {status.current}; the latest release of "
            f"{status.template} is {status.latest}\n"
        )
    return (
        f"behind: {status.project} is on {status.current}; the latest release of "
        f"{status.template} is {status.latest} ({len(status.newer)} newer: "
        f"{', '.join(status.newer)})\n"
        f"update: {update_command(status)}\n"
    )
