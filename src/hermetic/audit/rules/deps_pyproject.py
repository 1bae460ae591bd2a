"""pyproject.toml as the dependency rules read it, and HM105/HM106 in it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from hermetic.audit.model import Finding
from hermetic.audit.repository import Repository
from hermetic.audit.rules.deps_files import (
    HEADER,
    as_list,
    as_strings,
    header_line,
    parse_toml,
    toml_table,
)
from hermetic.audit.rules.deps_rules import FLOATING_VCS, PRE_RELEASE
from hermetic.audit.rules.deps_specifiers import (
    FULL_SHA,
    NIGHTLY,
    Requirement,
    floating_vcs_reason,
    is_nightly_name,
    parse_requirement,
    pre_release_in,
)

LOOSE_PRE_RELEASE_POLICIES = frozenset({"allow", "if-necessary"})
UNLOCKABLE_LISTS = frozenset(
    {
        ("tool.uv", "constraint-dependencies"),
        ("tool.uv", "override-dependencies"),
        ("build-system", "requires"),
    }
)


@dataclass(frozen=True)
class Project:
    """A pyproject.toml: its path, parsed document and lines (for line numbers)."""

    path: str
    document: dict[str, Any]
    lines: list[str]

    def key_line(self, table: str, key: str) -> int:
        """The line of KEY in [TABLE], else of [TABLE.KEY], else of [TABLE], else 1."""
        start = header_line(self.lines, table)
        key_pattern = re.compile(rf"""\s*(?:{re.escape(key)}|["']{re.escape(key)}["'])\s*=""")
        for number in range(start + 1 if start else len(self.lines) + 1, len(self.lines) + 1):
            if HEADER.match(self.lines[number - 1]):
                break
            if key_pattern.match(self.lines[number - 1]):
                return number
        return header_line(self.lines, f"{table}.{key}") or start or 1

    def string_line(self, value: str, start: int = 1) -> int:
        """The first line from START holding VALUE as a TOML string, else START."""
        quoted = (json.dumps(value, ensure_ascii=False), f"'{value}'")
        for number in range(max(start, 1), len(self.lines) + 1):
            if any(form in self.lines[number - 1] for form in quoted):
                return number
        return start

    @cached_property
    def declared(self) -> list[Declared]:
        """Every PEP 508 requirement string, in file order, with its line."""
        found: list[Declared] = []
        for table, key, items in requirement_lists(self.document):
            start = self.key_line(table, key)
            for text in as_strings(items):
                line = self.string_line(text, start)
                found.append(Declared(table, key, text, line, parse_requirement(text)))
        return found


@dataclass(frozen=True)
class Declared:
    """A requirement string in pyproject.toml: the list it is in, its line, its parse."""

    table: str
    key: str
    text: str
    line: int
    requirement: Requirement | None


def projects_in(repository: Repository) -> list[Project]:
    return [
        Project(path, document, repository.lines(path))
        for path in repository.matching("pyproject.toml")
        if (document := parse_toml(repository.text(path)))
    ]


def requirement_lists(document: dict[str, Any]) -> Iterator[tuple[str, str, list[Any]]]:
    """(table, key, items) of every list of PEP 508 requirements in a pyproject.toml."""
    project = toml_table(document, "project")
    yield "project", "dependencies", as_list(project.get("dependencies"))
    for extra, items in toml_table(project, "optional-dependencies").items():
        yield "project.optional-dependencies", extra, as_list(items)
    for group, items in toml_table(document, "dependency-groups").items():
        yield "dependency-groups", group, as_list(items)
    uv = toml_table(document, "tool", "uv")
    for key in ("dev-dependencies", "constraint-dependencies", "override-dependencies"):
        yield "tool.uv", key, as_list(uv.get(key))
    yield "build-system", "requires", as_list(toml_table(document, "build-system").get("requires"))


def project_hazards(project: Project) -> Iterator[Finding]:
    for declared in project.declared:
        requirement = declared.requirement
        url = requirement.url if requirement else None
        if url and (reason := floating_vcs_reason(url)):
            yield FLOATING_VCS.at(project.path, declared.line, f"{declared.text}: {reason}")
        if requirement and (version := pre_release_in(requirement.specifier)):
            message = f"{declared.text} asks for pre-release {version}"
            yield PRE_RELEASE.at(project.path, declared.line, message)
        elif url and NIGHTLY.search(url):
            message = f"{declared.text} installs a nightly build"
            yield PRE_RELEASE.at(project.path, declared.line, message)
        elif requirement and is_nightly_name(requirement.name):
            message = f"{declared.text} is a nightly build"
            yield PRE_RELEASE.at(project.path, declared.line, message)
    yield from _floating_git_sources(project)
    yield from _pre_release_settings(project)


def uv_sources(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, value in toml_table(document, "tool", "uv", "sources").items():
        for source in value if isinstance(value, list) else [value]:
            if isinstance(source, dict):
                yield name, source


def _floating_git_sources(project: Project) -> Iterator[Finding]:
    for name, source in uv_sources(project.document):
        rev = source.get("rev")
        if "git" not in source or (isinstance(rev, str) and FULL_SHA.fullmatch(rev)):
            continue
        ref = next(((key, source[key]) for key in ("rev", "tag", "branch") if key in source), None)
        reason = f"{ref[0]} {ref[1]!r} is not a full commit SHA" if ref else "it names no rev"
        line = project.key_line("tool.uv.sources", name)
        yield FLOATING_VCS.at(project.path, line, f"{name} from {source['git']}: {reason}")


def _pre_release_settings(project: Project) -> Iterator[Finding]:
    """Nightly indexes and uv's `prerelease` policy."""
    uv = toml_table(project.document, "tool", "uv")
    indexes = [index.get("url") for index in as_list(uv.get("index")) if isinstance(index, dict)]
    indexes += [uv.get("index-url"), *as_list(uv.get("extra-index-url"))]
    for url in as_strings(indexes + as_list(uv.get("find-links"))):
        if NIGHTLY.search(url):
            message = f"index {url} serves nightly builds"
            yield PRE_RELEASE.at(project.path, project.string_line(url), message)
    policy = uv.get("prerelease")
    if policy in LOOSE_PRE_RELEASE_POLICIES:
        line = project.key_line("tool.uv", "prerelease")
        yield PRE_RELEASE.at(project.path, line, f'prerelease = "{policy}" lets pre-releases in')
