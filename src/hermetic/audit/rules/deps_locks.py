"""Lock files: what they lock (HM101 for what nothing locks) and the pre-releases they pin
(HM107)."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any

from hermetic.audit.model import Finding
from hermetic.audit.repository import Repository
from hermetic.audit.rules.deps_files import (
    HEADER,
    as_list,
    header_line,
    join_path,
    parse_toml,
    toml_table,
)
from hermetic.audit.rules.deps_pyproject import UNLOCKABLE_LISTS, Project, requirement_lists
from hermetic.audit.rules.deps_requirements import RequirementsFile
from hermetic.audit.rules.deps_rules import LOCKED_PRE_RELEASE, UNLOCKED
from hermetic.audit.rules.deps_specifiers import is_pre_release, normalized_name

LOCK_FILES = ("uv.lock", "poetry.lock", "pdm.lock", "pylock.toml", "pylock.*.toml")
PACKAGE_HEADER = re.compile(r"\[\[packages?\]\]\s*$")
LOCAL_SOURCES = ("editable", "virtual", "directory")


def _declaration_line(project: Project) -> int | None:
    """The line of the first dependency list a lock would pin; None when there is none."""
    for table, key, items in requirement_lists(project.document):
        if items and (table, key) not in UNLOCKABLE_LISTS:
            return project.key_line(table, key)
    poetry = toml_table(project.document, "tool", "poetry")
    tables = {key: toml_table(poetry, key) for key in ("dependencies", "dev-dependencies")}
    for group, body in toml_table(poetry, "group").items():
        tables[f"group.{group}.dependencies"] = toml_table(body, "dependencies")
    for name, dependencies in tables.items():
        if set(dependencies) - {"python"}:
            return header_line(project.lines, f"tool.poetry.{name}") or 1
    return None


def _locked_directories(repository: Repository, files: list[RequirementsFile]) -> set[str]:
    """Folders a lock covers: one beside it, a uv.lock naming it, hash-pinned requirements."""
    locked: set[str] = set()
    for path in repository.matching(*LOCK_FILES):
        directory = posixpath.dirname(path)
        locked.add(directory)
        if posixpath.basename(path) == "uv.lock":
            packages = as_list(parse_toml(repository.text(path)).get("package"))
            locked.update(join_path(directory, source) for source in local_sources(packages))
    for requirements in files:
        if requirements.is_hash_pinned:
            directory = posixpath.dirname(requirements.path)
            locked.add(directory)
            if posixpath.basename(directory) == "requirements":
                locked.add(posixpath.dirname(directory))
    return locked


def unlocked_projects(
    repository: Repository, projects: list[Project], files: list[RequirementsFile]
) -> Iterator[Finding]:
    locked = _locked_directories(repository, files)
    for project in projects:
        line = _declaration_line(project)
        directory = posixpath.dirname(project.path)
        if line is None or directory in locked:
            continue
        on_disk = [name for name in LOCK_FILES if (repository.root / directory / name).is_file()]
        why = f" ({', '.join(on_disk)} exists but git ignores it)" if on_disk else ""
        message = f"dependencies are declared but nothing beside pyproject.toml locks them{why}"
        yield UNLOCKED.at(project.path, line, message)


def unlocked_pipfiles(repository: Repository) -> Iterator[Finding]:
    files = set(repository.files)
    for path in repository.matching("Pipfile"):
        document = parse_toml(repository.text(path))
        tables = [table for table in ("packages", "dev-packages") if toml_table(document, table)]
        if tables and join_path(posixpath.dirname(path), "Pipfile.lock") not in files:
            line = header_line(repository.lines(path), tables[0]) or 1
            yield UNLOCKED.at(path, line, "Pipfile declares dependencies but no Pipfile.lock")


def local_sources(packages: list[Any]) -> Iterator[str]:
    """The folders of the packages a lock records from local source trees."""
    for package in packages:
        source = package.get("source") if isinstance(package, dict) else None
        for kind in LOCAL_SOURCES:
            if isinstance(source, dict) and isinstance(source.get(kind), str):
                yield source[kind]


def locked_pre_releases(repository: Repository, asked: frozenset[str]) -> Iterator[Finding]:
    """Pre-releases a lock file pins that no manifest asked for."""
    for path in repository.matching(*LOCK_FILES):
        document, lines = parse_toml(repository.text(path)), repository.lines(path)
        packages = as_list(document.get("package") or document.get("packages"))
        starts = [n for n, line in enumerate(lines, 1) if PACKAGE_HEADER.match(line)]
        for package, start in zip(packages, starts, strict=False):
            if not isinstance(package, dict) or _is_local_package(package):
                continue
            name, version = str(package.get("name", "")), str(package.get("version", ""))
            if is_pre_release(version) and normalized_name(name) not in asked:
                line = _version_line(lines, start)
                message = f"{name} is locked at pre-release {version}"
                yield LOCKED_PRE_RELEASE.at(path, line, message)


def _is_local_package(package: dict[str, Any]) -> bool:
    source = package.get("source")
    if not isinstance(source, dict):
        return "directory" in package  # pylock.toml
    return bool({*LOCAL_SOURCES, "path"} & set(source)) or source.get("type") in (
        "directory",
        "file",
    )


def _version_line(lines: list[str], start: int) -> int:
    """The `version = ...` line of the [[package]] table starting at START, else START."""
    for number in range(start + 1, len(lines) + 1):
        if HEADER.match(lines[number - 1]):
            break
        if re.match(r"version\s*=", lines[number - 1]):
            return number
    return start
