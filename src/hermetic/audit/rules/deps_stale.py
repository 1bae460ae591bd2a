"""HM103: a uv.lock whose recorded requirements disagree with its pyproject.toml."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any

from hermetic.audit.model import Finding
from hermetic.audit.repository import Repository
from hermetic.audit.rules.deps_files import (
    as_list,
    as_strings,
    header_line,
    join_path,
    parse_toml,
    toml_table,
)
from hermetic.audit.rules.deps_locks import local_sources
from hermetic.audit.rules.deps_pyproject import Declared, Project, uv_sources
from hermetic.audit.rules.deps_rules import STALE_LOCK
from hermetic.audit.rules.deps_specifiers import Requirement, normalized_name, specifier_set

DIRECT_SOURCES = frozenset({"git", "url", "path", "directory", "editable", "virtual"})


# A requirement as uv.lock records it: name, extras, specifier (None: from a direct source).
Key = tuple[str, frozenset[str], frozenset[str] | None]


def stale_locks(repository: Repository, projects: dict[str, Project]) -> Iterator[Finding]:
    for lock_path in repository.matching("uv.lock"):
        directory = posixpath.dirname(lock_path)
        for package in as_list(parse_toml(repository.text(lock_path)).get("package")):
            metadata = package.get("metadata") if isinstance(package, dict) else None
            folders = list(local_sources([package]))
            if not folders or not isinstance(metadata, dict):
                continue  # uv may lock without metadata: then there is nothing to compare
            project = projects.get(join_path(directory, folders[0], "pyproject.toml"))
            if project is not None:
                yield from _first_disagreement(project, metadata, lock_path)


def _first_disagreement(
    project: Project, metadata: dict[str, Any], lock_path: str
) -> Iterator[Finding]:
    """One finding at the first requirement where PROJECT and the lock's METADATA differ."""
    loose = frozenset(
        normalized_name(name)
        for name, source in uv_sources(project.document)
        if set(source) - {"index", "marker", "extra", "group"}
    )
    for label, anchor, declared, locked_items in _compared_lists(project, metadata):
        locked = _locked_keys(locked_items, loose)
        keyed = [(_key(d.requirement, loose), d) for d in declared if d.requirement]
        added = [(key, d) for key, d in keyed if key not in locked]
        removed = locked - {key for key, _ in keyed}
        if added or removed:
            differing = {key[0] for key, _ in added} | {key[0] for key in removed}
            line, detail = _stale_detail(added, removed, locked, anchor)
            count = "1 requirement differs" if len(differing) == 1 else f"{len(differing)} differ"
            message = f"{lock_path} is stale in {label}: {detail} ({count})"
            yield STALE_LOCK.at(project.path, line, message)
            return


def _stale_detail(
    added: list[tuple[Key, Declared]], removed: frozenset[Key], locked: frozenset[Key], anchor: int
) -> tuple[int, str]:
    """Where to report a stale lock and what to say: the first added requirement, else ANCHOR."""
    if added:
        key, declared = added[0]
        same_name = sorted(_described(k) for k in locked if k[0] == key[0])
        recorded = f"records {same_name[0]!r}" if same_name else "has no such requirement"
        return declared.line, f"{declared.text!r} is declared but the lock {recorded}"
    dropped = min(_described(key) for key in removed)
    return anchor, f"the lock still records {dropped!r}, which pyproject.toml dropped"


def _compared_lists(
    project: Project, metadata: dict[str, Any]
) -> Iterator[tuple[str, int, list[Declared], object]]:
    """(label, line, declared, locked) of requires-dist and each group (flattened, as uv)."""
    document = project.document
    dynamic = set(as_strings(toml_table(document, "project").get("dynamic")))
    if not dynamic & {"dependencies", "optional-dependencies"}:
        dist = [d for d in project.declared if d.table.startswith("project")]
        anchor = project.key_line("project", "dependencies")
        yield "[project] dependencies", anchor, dist, metadata.get("requires-dist")
    raw_groups = {normalized_name(raw): raw for raw in toml_table(document, "dependency-groups")}
    locked_groups = {normalized_name(g): i for g, i in toml_table(metadata, "requires-dev").items()}
    has_uv_dev = bool(as_list(toml_table(document, "tool", "uv").get("dev-dependencies")))
    names = [*raw_groups, *(["dev"] if has_uv_dev else []), *locked_groups]
    for group in dict.fromkeys(names):
        raw = raw_groups.get(group)
        if raw:
            anchor = project.key_line("dependency-groups", raw)
        elif group == "dev" and has_uv_dev:
            anchor = project.key_line("tool.uv", "dev-dependencies")
        else:
            anchor = header_line(project.lines, "dependency-groups") or 1
        declared = list(_group_requirements(project, group, set()))
        yield f"dependency group {group!r}", anchor, declared, locked_groups.get(group)


def _group_requirements(project: Project, group: str, seen: set[str]) -> Iterator[Declared]:
    """GROUP's requirement strings with `{include-group = ...}` expanded (PEP 735)."""
    seen.add(group)
    yield from (declared for declared in project.declared if _group_of(declared) == group)
    for raw, items in toml_table(project.document, "dependency-groups").items():
        if normalized_name(raw) != group:
            continue
        for item in as_list(items):
            included = item.get("include-group") if isinstance(item, dict) else None
            if isinstance(included, str) and normalized_name(included) not in seen:
                yield from _group_requirements(project, normalized_name(included), seen)


def _group_of(declared: Declared) -> str | None:
    """The dependency group a requirement string belongs to (uv's dev-dependencies: `dev`)."""
    if declared.table == "dependency-groups":
        return normalized_name(declared.key)
    return "dev" if (declared.table, declared.key) == ("tool.uv", "dev-dependencies") else None


def _key(requirement: Requirement, loose: frozenset[str]) -> Key:
    direct = requirement.url is not None or requirement.name in loose
    specifier = None if direct else specifier_set(requirement.specifier)
    return requirement.name, requirement.extras, specifier


def _locked_keys(items: object, loose: frozenset[str]) -> frozenset[Key]:
    keys: set[Key] = set()
    for item in as_list(items):
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            name = normalized_name(item["name"])
            direct = bool(DIRECT_SOURCES & set(item)) or name in loose
            specifier = None if direct else specifier_set(str(item.get("specifier", "")))
            extras = frozenset(normalized_name(e) for e in as_strings(item.get("extras")))
            keys.add((name, extras, specifier))
    return frozenset(keys)


def _described(key: Key) -> str:
    name, extras, specifier = key
    shown = f"{name}[{','.join(sorted(extras))}]" if extras else name
    return f"{shown} (direct source)" if specifier is None else shown + ",".join(sorted(specifier))
