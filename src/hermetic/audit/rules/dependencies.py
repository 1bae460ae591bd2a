"""Dependency hazards (HM101-HM107) in requirements files, pyproject.toml, Pipfile and locks.

Requirements files are `requirements*.txt`, `*requirements.txt`, `requirements/*.txt`,
`constraints*.txt`, `*constraints.txt`, and any file another one includes with `-r`/`-c`
(`-c` makes it a constraints file). They are read as pip does: `\\` continues a line, ` #`
starts a comment, options follow the requirement. `.in` files are inputs, not audited.

- HM101 fires once per pyproject.toml (at its first dependency list) that declares
  dependencies ([project] dependencies or optional-dependencies, [dependency-groups],
  [tool.uv] dev-dependencies, Poetry's dependency tables other than `python`) with no uv.lock,
  poetry.lock, pdm.lock, pylock.toml or pylock.*.toml beside it, no uv.lock that records its
  folder as a workspace member, and no hash-pinned requirements file beside it (or in
  `requirements/` beside it); and per Pipfile without Pipfile.lock. A lock git ignores does
  not count. Requirements files never get HM101: without hashes they get HM102.
- HM102: one finding per requirements file, at the first requirement without `--hash`, with
  the count. Only registry requirements and remote archives need hashes; VCS, local-path and
  editable lines cannot take one. Constraints files are exempt: pip does not reliably
  enforce hashes there.
- HM103 compares, for each package uv.lock records from a local folder (`editable`, `virtual`,
  `directory`), the names, extras and specifiers (PEP 440-normalised, order- and
  whitespace-insensitive) of [package.metadata] requires-dist and requires-dev with the
  folder's pyproject.toml; markers and direct URLs are not compared (uv rewrites both), and
  requirements [tool.uv.sources] redirects are compared by name and extras only. One finding
  per pyproject.toml, at its first differing requirement, or at the list's key when the lock
  has a requirement pyproject.toml dropped.
- HM104: each requirement line without an exact `==`/`===` pin (a wildcard `==1.*` is a range)
  in a requirements file, unless a constraints file it includes with `-c` pins the package.
- HM105: a `git+`/`hg+` URL whose `@ref` is not a full 40- (or 64-) hex commit, in
  requirements files and pyproject.toml requirement strings; a [tool.uv.sources] git source
  without a full-SHA `rev` (a tag, branch, short rev or nothing).
- HM106: what a person asked for: a pre-release or dev version in a specifier (except after
  `<`/`!=`, which only bound a range) in pyproject.toml or a hand-written (unhashed)
  requirements file, `--pre`, a nightly index or URL, uv's `prerelease = "allow"` or
  `"if-necessary"`.
- HM107: what a resolver picked: a pre-release in uv.lock, poetry.lock, pdm.lock, pylock or a
  hash-pinned (compiled) requirements file that no pyproject.toml or hand-written requirements
  file asks for; local packages (the project itself) are skipped.
"""

from __future__ import annotations

import json
import posixpath
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from hermetic.audit.model import Finding, Rule, Severity
from hermetic.audit.repository import Repository

UNLOCKED = Rule(
    "HM101",
    "unlocked-dependencies",
    "Dependencies without a lock file",
    Severity.WARNING,
    "Commit a lock beside the manifest, not git-ignored: `uv lock` (or `poetry lock`, `pdm lock`,"
    " `pipenv lock`), or hash-pinned requirements from `uv pip compile --generate-hashes`.",
)
UNHASHED = Rule(
    "HM102",
    "unhashed-requirements",
    "Requirements without hashes",
    Severity.WARNING,
    "Compile the file with hashes (`uv pip compile --generate-hashes requirements.in -o "
    "requirements.txt` or `pip-compile --generate-hashes`); install with `--require-hashes`.",
)
STALE_LOCK = Rule(
    "HM103",
    "stale-lock",
    "Stale lock: uv.lock disagrees with pyproject.toml",
    Severity.ERROR,
    "Run `uv lock`, commit pyproject.toml and uv.lock together, and check them in CI with "
    "`uv lock --check`.",
)
RANGED = Rule(
    "HM104",
    "unpinned-requirement",
    "Requirement not pinned with ==",
    Severity.WARNING,
    "Pin the exact version with `==`: compile the file from a requirements.in with "
    "`uv pip compile`, or pin the package in a constraints file included with `-c`.",
)
FLOATING_VCS = Rule(
    "HM105",
    "floating-vcs-dependency",
    "VCS dependency not pinned to a commit",
    Severity.WARNING,
    'Pin the full commit SHA: `name @ git+https://host/org/repo@<40-hex sha>`, or `rev = "<sha>"`'
    " in [tool.uv.sources].",
)
PRE_RELEASE = Rule(
    "HM106",
    "pre-release-dependency",
    "Pre-release or nightly dependency",
    Severity.WARNING,
    'Depend on a stable release; drop `--pre`, nightly indexes and `prerelease = "allow"`. If a'
    " nightly is unavoidable, pin its exact version with a hash and mirror the wheel: nightly"
    " indexes delete old builds.",
)
LOCKED_PRE_RELEASE = Rule(
    "HM107",
    "locked-pre-release",
    "Pre-release pinned by a lock",
    Severity.NOTE,
    "If a stable release exists, bound the package below the pre-release (e.g. `<2.0a0`) in "
    "pyproject.toml or requirements.in and re-lock; if it ships only pre-releases, suppress "
    "this with the reason.",
)
RULES: tuple[Rule, ...] = (
    UNLOCKED,
    UNHASHED,
    STALE_LOCK,
    RANGED,
    FLOATING_VCS,
    PRE_RELEASE,
    LOCKED_PRE_RELEASE,
)

LOCK_FILES = ("uv.lock", "poetry.lock", "pdm.lock", "pylock.toml", "pylock.*.toml")
NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*")
CLAUSE = re.compile(r"\s*(===|~=|==|!=|<=|>=|<|>)\s*([^,;\s()]+)\s*")
VERSION = re.compile(
    r"""v?(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)
    (?P<pre>[-_.]?(?P<pre_l>alpha|beta|preview|pre|rc|a|b|c)[-_.]?(?P<pre_n>\d+)?)?
    (?P<post>-(?P<post_n1>\d+)|[-_.]?(?:post|rev|r)[-_.]?(?P<post_n2>\d+)?)?
    (?P<dev>[-_.]?dev[-_.]?(?P<dev_n>\d+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?""",
    re.VERBOSE | re.IGNORECASE,
)
PRE_LABELS = {"alpha": "a", "beta": "b", "c": "rc", "pre": "rc", "preview": "rc"}
ARCHIVE = re.compile(r"\.(whl|zip|tar|tar\.gz|tgz|tar\.bz2|tar\.xz)$", re.IGNORECASE)
VCS_URL = re.compile(r"(git|hg)\+", re.IGNORECASE)
FULL_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}", re.IGNORECASE)
NIGHTLY = re.compile(r"nightl(y|ies)", re.IGNORECASE)
REMOTE = re.compile(r"https?://", re.IGNORECASE)
COMMENT = re.compile(r"(^|\s+)#.*$")
HEADER = re.compile(r"\s*\[\[?([^\[\]]+)\]\]?\s*(#.*)?$")
PACKAGE_HEADER = re.compile(r"\[\[packages?\]\]\s*$")
SHORT_OPTIONS = {"-r": "--requirement", "-c": "--constraint", "-e": "--editable"}
SHORT_OPTIONS |= {"-i": "--index-url", "-f": "--find-links"}
INDEX_OPTIONS = frozenset({"--index-url", "--extra-index-url", "--find-links"})
BOUNDING_OPERATORS = frozenset({"<", "!="})  # `<2.0a0` keeps pre-releases out
LOOSE_PRE_RELEASE_POLICIES = frozenset({"allow", "if-necessary"})
LOCAL_SOURCES = ("editable", "virtual", "directory")
DIRECT_SOURCES = frozenset({"git", "url", "path", "directory", "editable", "virtual"})
UNLOCKABLE_LISTS = frozenset(
    {
        ("tool.uv", "constraint-dependencies"),
        ("tool.uv", "override-dependencies"),
        ("build-system", "requires"),
    }
)

# A requirement as uv.lock records it: name, extras, specifier (None: from a direct source).
Key = tuple[str, frozenset[str], frozenset[str] | None]


def check(repository: Repository) -> Iterator[Finding]:
    """Every dependency hazard in REPOSITORY, each once, where a user would fix it."""
    requirement_files = _requirement_files(repository)
    projects = _projects(repository)
    asked = _asked_pre_releases(projects, requirement_files)
    yield from _unlocked_projects(repository, projects, requirement_files)
    yield from _unlocked_pipfiles(repository)
    for requirements in requirement_files:
        yield from _requirements_file_hazards(requirements, requirement_files, asked)
    for project in projects:
        yield from _project_hazards(project)
    yield from _stale_locks(repository, {project.path: project for project in projects})
    yield from _locked_pre_releases(repository, asked)


# Versions, specifiers, PEP 508 requirements and VCS URLs.


@dataclass(frozen=True)
class Requirement:
    """A PEP 508 requirement: normalised name and extras, specifier as written, or a URL."""

    name: str
    extras: frozenset[str]
    specifier: str
    url: str | None


def parse_requirement(text: str) -> Requirement | None:
    """TEXT as a PEP 508 requirement; None for a path, a bare URL, a file name or garbage."""
    match = NAME.match(text)
    if match is None or ARCHIVE.search(match[1]):
        return None
    extras = frozenset(normalized_name(e) for e in (match[2] or "").split(",") if e.strip())
    rest = text[match.end() :]
    if rest.startswith("@"):
        url = rest[1:].split()
        return Requirement(normalized_name(match[1]), extras, "", url[0]) if url else None
    specifier = rest.partition(";")[0].strip().removeprefix("(").removesuffix(")")
    if specifier and not all(CLAUSE.fullmatch(part) for part in specifier.split(",")):
        return None
    return Requirement(normalized_name(match[1]), extras, specifier.strip(), None)


def normalized_name(name: str) -> str:
    """A distribution, extra or group name as tools compare it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def canonical_version(text: str) -> str | None:
    """TEXT in PEP 440's normal form (`1.0-RC1` -> `1.0rc1`); None when it is no version."""
    match = VERSION.fullmatch(text.strip())
    if match is None:
        return None
    epoch = int(match["epoch"] or 0)
    parts = [
        f"{epoch}!" if epoch else "",
        ".".join(str(int(n)) for n in match["release"].split(".")),
    ]
    if match["pre"]:
        label = match["pre_l"].lower()
        parts.append(f"{PRE_LABELS.get(label, label)}{int(match['pre_n'] or 0)}")
    if match["post"]:
        parts.append(f".post{int(match['post_n1'] or match['post_n2'] or 0)}")
    if match["dev"]:
        parts.append(f".dev{int(match['dev_n'] or 0)}")
    if match["local"]:
        parts.append("+" + re.sub(r"[-_]", ".", match["local"].lower()))
    return "".join(parts)


def is_pre_release(version: str) -> bool:
    """A PEP 440 pre- or dev release (`1.0rc1`, `2.5.0.dev20240101`), or a `+nightly` build."""
    match = VERSION.fullmatch(version.strip())
    return bool(match and (match["pre"] or match["dev"] or NIGHTLY.search(match["local"] or "")))


def pre_release_in(specifier: str) -> str | None:
    """The first pre-release version SPECIFIER lets in, if any."""
    for match in CLAUSE.finditer(specifier):
        if match[1] not in BOUNDING_OPERATORS and is_pre_release(match[2]):
            return match[2]
    return None


def _specifier_set(specifier: str) -> frozenset[str]:
    return frozenset(
        f"{m[1]}{canonical_version(m[2]) or m[2].lower()}" for m in CLAUSE.finditer(specifier)
    )


def _is_exact_pin(specifier: str) -> bool:
    return any(m[1] in ("==", "===") and "*" not in m[2] for m in CLAUSE.finditer(specifier))


def floating_vcs_reason(url: str) -> str | None:
    """Why a git+/hg+ URL is not pinned to a commit; None when it is, or is no VCS URL."""
    if not VCS_URL.match(url):
        return None
    location = url.split("#", 1)[0].partition("+")[2]
    path = (location.partition("://")[2] or location).partition("/")[2]
    ref = path.rpartition("@")[2] if "@" in path else ""
    if FULL_SHA.fullmatch(ref):
        return None
    if not ref:
        return "names no ref, so it installs whatever the default branch holds"
    return f"ref {ref!r} is a branch, tag or short SHA, not a full commit SHA"


# Requirements files, read as pip reads them.


@dataclass(frozen=True)
class Entry:
    """One logical line of a requirements file: a requirement, or an option such as `-r`."""

    line: int
    option: str  # "" for a requirement; the long option name otherwise
    value: str  # the requirement as written, or the option's value
    hashed: bool = False

    @cached_property
    def requirement(self) -> Requirement | None:
        return parse_requirement(self.value) if not self.option else None

    @property
    def url(self) -> str | None:
        """The URL or path this line installs from, when it names one."""
        if self.option:
            return self.value if self.option == "--editable" else None
        return self.value if self.requirement is None else self.requirement.url


@dataclass(frozen=True)
class RequirementsFile:
    path: str
    is_constraints: bool
    entries: tuple[Entry, ...]

    def referenced(self, option: str) -> list[str]:
        """Repository paths of the files this one names with OPTION (`--requirement`...)."""
        directory = posixpath.dirname(self.path)
        return [_join(directory, e.value) for e in self.entries if e.option == option]

    @cached_property
    def is_hash_pinned(self) -> bool:
        """A compiled lock: every requirement that can carry a hash carries one."""
        needing = [entry for entry in self.entries if _needs_hash(entry)]
        return not self.is_constraints and bool(needing) and all(e.hashed for e in needing)


def requirements_entries(lines: Iterable[str]) -> Iterator[Entry]:
    """The entries of a requirements file, with continuations joined and comments dropped."""
    for number, text in _logical_lines(lines):
        tokens = text.split()
        if tokens and tokens[0].startswith("-"):
            head = tokens[0]
            long = head.startswith("--")
            name, _, value = head.partition("=") if long else (head[:2], "", head[2:])
            value = value or (tokens[1] if len(tokens) > 1 else "")
            yield Entry(number, SHORT_OPTIONS.get(name, name), value)
        elif tokens:
            first = next((i for i, t in enumerate(tokens) if t.startswith("-")), len(tokens))
            hashed = any(token.startswith("--hash") for token in tokens[first:])
            yield Entry(number, "", " ".join(tokens[:first]), hashed)


def _logical_lines(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each logical line, joined and stripped as pip does."""
    pending: list[str] = []
    start = 1
    for number, line in enumerate(lines, 1):
        start = start if pending else number
        is_comment = COMMENT.match(line) is not None
        if line.endswith("\\") and not is_comment:
            pending.append(line[:-1])
            continue
        pending.append(f" {line}" if is_comment else line)
        yield start, COMMENT.sub("", "".join(pending)).strip()
        pending = []
    if pending:
        yield start, COMMENT.sub("", "".join(pending)).strip()


def _is_requirements_name(path: str) -> bool:
    name = posixpath.basename(path).lower()
    in_folder = posixpath.basename(posixpath.dirname(path)).lower() == "requirements"
    return name.endswith(".txt") and (
        in_folder
        or name.startswith(("requirements", "constraints"))
        or name.endswith(("requirements.txt", "constraints.txt"))
    )


def _is_constraints_name(path: str) -> bool:
    name = posixpath.basename(path).lower()
    return name.startswith("constraints") or name.endswith("constraints.txt")


def _requirement_files(repository: Repository) -> list[RequirementsFile]:
    """Files named like requirements or constraints, and the files they include (`-r`, `-c`)."""
    known = set(repository.files)
    kinds = {path: _is_constraints_name(path) for path in known if _is_requirements_name(path)}
    pending = list(kinds)
    parsed: dict[str, RequirementsFile] = {}
    while pending:
        path = pending.pop()
        entries = tuple(requirements_entries(repository.lines(path)))
        parsed[path] = RequirementsFile(path, kinds[path], entries)
        for option, is_constraints in (("--requirement", False), ("--constraint", True)):
            for target in parsed[path].referenced(option):
                if target in known and target not in kinds:
                    kinds[target] = is_constraints
                    pending.append(target)
    return sorted(parsed.values(), key=lambda requirements: requirements.path)


def _requirements_file_hazards(
    requirements: RequirementsFile, every_file: list[RequirementsFile], asked: frozenset[str]
) -> Iterator[Finding]:
    path = requirements.path
    if not requirements.is_constraints:
        yield from _unhashed(requirements)
        yield from _ranged(requirements, _constrained_pins(requirements, every_file))
    for entry in requirements.entries:
        reason = floating_vcs_reason(entry.url) if entry.url else None
        if reason:
            yield FLOATING_VCS.at(path, entry.line, f"{entry.value}: {reason}")
        requirement = entry.requirement
        version = pre_release_in(requirement.specifier) if requirement else None
        if version and requirements.is_hash_pinned:
            if requirement and requirement.name not in asked:
                locked = f"{requirement.name} is locked at pre-release {version}"
                yield LOCKED_PRE_RELEASE.at(path, entry.line, locked)
        elif version:
            yield PRE_RELEASE.at(path, entry.line, f"{entry.value} asks for pre-release {version}")
        elif option := _pre_release_option(entry):
            yield PRE_RELEASE.at(path, entry.line, option)


def _needs_hash(entry: Entry) -> bool:
    """A registry requirement or a remote archive; VCS, local and editable installs take none."""
    return not entry.option and (entry.url is None or REMOTE.match(entry.url) is not None)


def _unhashed(requirements: RequirementsFile) -> Iterator[Finding]:
    needing = [entry for entry in requirements.entries if _needs_hash(entry)]
    missing = [entry for entry in needing if not entry.hashed]
    if missing:
        message = (
            f"{len(missing)} of {len(needing)} requirements carry no --hash, so pip installs"
            f" whatever the index serves (first: {missing[0].value})"
        )
        yield UNHASHED.at(requirements.path, missing[0].line, message)


def _constrained_pins(
    requirements: RequirementsFile, every_file: list[RequirementsFile]
) -> frozenset[str]:
    """Names pinned with `==` by the constraints files REQUIREMENTS includes with `-c`."""
    included = set(requirements.referenced("--constraint"))
    return frozenset(
        entry.requirement.name
        for constraints in every_file
        if constraints.path in included
        for entry in constraints.entries
        if entry.requirement and _is_exact_pin(entry.requirement.specifier)
    )


def _ranged(requirements: RequirementsFile, pinned: frozenset[str]) -> Iterator[Finding]:
    for entry in requirements.entries:
        requirement = entry.requirement
        if requirement is None or requirement.url or requirement.name in pinned:
            continue
        if not requirement.specifier:
            message = f"{entry.value} has no version: any release can be installed"
        elif not _is_exact_pin(requirement.specifier):
            message = f"{entry.value} allows a range of versions"
        else:
            continue
        yield RANGED.at(requirements.path, entry.line, message)


def _pre_release_option(entry: Entry) -> str | None:
    if entry.option == "--pre":
        return "--pre lets pip install pre-releases of every requirement"
    if entry.option in INDEX_OPTIONS and NIGHTLY.search(entry.value):
        return f"{entry.option} {entry.value} serves nightly builds"
    if entry.url and NIGHTLY.search(entry.url):
        return f"{entry.value} installs a nightly build"
    return None


# pyproject.toml and Pipfile.


@dataclass(frozen=True)
class Project:
    """A pyproject.toml: its path, parsed document and lines (for line numbers)."""

    path: str
    document: dict[str, Any]
    lines: list[str]

    def key_line(self, table: str, key: str) -> int:
        """The line of KEY in [TABLE], else of [TABLE.KEY], else of [TABLE], else 1."""
        start = _header_line(self.lines, table)
        key_pattern = re.compile(rf"""\s*(?:{re.escape(key)}|["']{re.escape(key)}["'])\s*=""")
        for number in range(start + 1 if start else len(self.lines) + 1, len(self.lines) + 1):
            if HEADER.match(self.lines[number - 1]):
                break
            if key_pattern.match(self.lines[number - 1]):
                return number
        return _header_line(self.lines, f"{table}.{key}") or start or 1

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
        for table, key, items in _requirement_lists(self.document):
            start = self.key_line(table, key)
            for text in _strings(items):
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


def _projects(repository: Repository) -> list[Project]:
    return [
        Project(path, document, repository.lines(path))
        for path in repository.matching("pyproject.toml")
        if (document := _toml(repository.text(path)))
    ]


def _requirement_lists(document: dict[str, Any]) -> Iterator[tuple[str, str, list[Any]]]:
    """(table, key, items) of every list of PEP 508 requirements in a pyproject.toml."""
    project = _table(document, "project")
    yield "project", "dependencies", _list(project.get("dependencies"))
    for extra, items in _table(project, "optional-dependencies").items():
        yield "project.optional-dependencies", extra, _list(items)
    for group, items in _table(document, "dependency-groups").items():
        yield "dependency-groups", group, _list(items)
    uv = _table(document, "tool", "uv")
    for key in ("dev-dependencies", "constraint-dependencies", "override-dependencies"):
        yield "tool.uv", key, _list(uv.get(key))
    yield "build-system", "requires", _list(_table(document, "build-system").get("requires"))


def _declaration_line(project: Project) -> int | None:
    """The line of the first dependency list a lock would pin; None when there is none."""
    for table, key, items in _requirement_lists(project.document):
        if items and (table, key) not in UNLOCKABLE_LISTS:
            return project.key_line(table, key)
    poetry = _table(project.document, "tool", "poetry")
    tables = {key: _table(poetry, key) for key in ("dependencies", "dev-dependencies")}
    for group, body in _table(poetry, "group").items():
        tables[f"group.{group}.dependencies"] = _table(body, "dependencies")
    for name, dependencies in tables.items():
        if set(dependencies) - {"python"}:
            return _header_line(project.lines, f"tool.poetry.{name}") or 1
    return None


def _locked_directories(repository: Repository, files: list[RequirementsFile]) -> set[str]:
    """Folders a lock covers: one beside it, a uv.lock naming it, hash-pinned requirements."""
    locked: set[str] = set()
    for path in repository.matching(*LOCK_FILES):
        directory = posixpath.dirname(path)
        locked.add(directory)
        if posixpath.basename(path) == "uv.lock":
            packages = _list(_toml(repository.text(path)).get("package"))
            locked.update(_join(directory, source) for source in _local_sources(packages))
    for requirements in files:
        if requirements.is_hash_pinned:
            directory = posixpath.dirname(requirements.path)
            locked.add(directory)
            if posixpath.basename(directory) == "requirements":
                locked.add(posixpath.dirname(directory))
    return locked


def _unlocked_projects(
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


def _unlocked_pipfiles(repository: Repository) -> Iterator[Finding]:
    files = set(repository.files)
    for path in repository.matching("Pipfile"):
        document = _toml(repository.text(path))
        tables = [table for table in ("packages", "dev-packages") if _table(document, table)]
        if tables and _join(posixpath.dirname(path), "Pipfile.lock") not in files:
            line = _header_line(repository.lines(path), tables[0]) or 1
            yield UNLOCKED.at(path, line, "Pipfile declares dependencies but no Pipfile.lock")


def _project_hazards(project: Project) -> Iterator[Finding]:
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
    yield from _floating_git_sources(project)
    yield from _pre_release_settings(project)


def _uv_sources(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, value in _table(document, "tool", "uv", "sources").items():
        for source in value if isinstance(value, list) else [value]:
            if isinstance(source, dict):
                yield name, source


def _floating_git_sources(project: Project) -> Iterator[Finding]:
    for name, source in _uv_sources(project.document):
        rev = source.get("rev")
        if "git" not in source or (isinstance(rev, str) and FULL_SHA.fullmatch(rev)):
            continue
        ref = next(((key, source[key]) for key in ("rev", "tag", "branch") if key in source), None)
        reason = f"{ref[0]} {ref[1]!r} is not a full commit SHA" if ref else "it names no rev"
        line = project.key_line("tool.uv.sources", name)
        yield FLOATING_VCS.at(project.path, line, f"{name} from {source['git']}: {reason}")


def _pre_release_settings(project: Project) -> Iterator[Finding]:
    """Nightly indexes and uv's `prerelease` policy."""
    uv = _table(project.document, "tool", "uv")
    indexes = [index.get("url") for index in _list(uv.get("index")) if isinstance(index, dict)]
    indexes += [uv.get("index-url"), *_list(uv.get("extra-index-url"))]
    for url in _strings(indexes + _list(uv.get("find-links"))):
        if NIGHTLY.search(url):
            message = f"index {url} serves nightly builds"
            yield PRE_RELEASE.at(project.path, project.string_line(url), message)
    policy = uv.get("prerelease")
    if policy in LOOSE_PRE_RELEASE_POLICIES:
        line = project.key_line("tool.uv", "prerelease")
        yield PRE_RELEASE.at(project.path, line, f'prerelease = "{policy}" lets pre-releases in')


def _asked_pre_releases(projects: list[Project], files: list[RequirementsFile]) -> frozenset[str]:
    """Names a manifest asks a pre-release of: reported there (HM106), not again in locks."""
    requirements = [d.requirement for project in projects for d in project.declared]
    for requirements_file in files:
        if not requirements_file.is_hash_pinned:
            requirements += [entry.requirement for entry in requirements_file.entries]
    return frozenset(r.name for r in requirements if r and pre_release_in(r.specifier))


# Lock files.


def _local_sources(packages: list[Any]) -> Iterator[str]:
    """The folders of the packages a lock records from local source trees."""
    for package in packages:
        source = package.get("source") if isinstance(package, dict) else None
        for kind in LOCAL_SOURCES:
            if isinstance(source, dict) and isinstance(source.get(kind), str):
                yield source[kind]


def _stale_locks(repository: Repository, projects: dict[str, Project]) -> Iterator[Finding]:
    for lock_path in repository.matching("uv.lock"):
        directory = posixpath.dirname(lock_path)
        for package in _list(_toml(repository.text(lock_path)).get("package")):
            metadata = package.get("metadata") if isinstance(package, dict) else None
            folders = list(_local_sources([package]))
            if not folders or not isinstance(metadata, dict):
                continue  # uv may lock without metadata: then there is nothing to compare
            project = projects.get(_join(directory, folders[0], "pyproject.toml"))
            if project is not None:
                yield from _first_disagreement(project, metadata, lock_path)


def _first_disagreement(
    project: Project, metadata: dict[str, Any], lock_path: str
) -> Iterator[Finding]:
    """One finding at the first requirement where PROJECT and the lock's METADATA differ."""
    loose = frozenset(
        normalized_name(name)
        for name, source in _uv_sources(project.document)
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
    dynamic = set(_strings(_table(document, "project").get("dynamic")))
    if not dynamic & {"dependencies", "optional-dependencies"}:
        dist = [d for d in project.declared if d.table.startswith("project")]
        anchor = project.key_line("project", "dependencies")
        yield "[project] dependencies", anchor, dist, metadata.get("requires-dist")
    raw_groups = {normalized_name(raw): raw for raw in _table(document, "dependency-groups")}
    locked_groups = {normalized_name(g): i for g, i in _table(metadata, "requires-dev").items()}
    has_uv_dev = bool(_list(_table(document, "tool", "uv").get("dev-dependencies")))
    names = [*raw_groups, *(["dev"] if has_uv_dev else []), *locked_groups]
    for group in dict.fromkeys(names):
        raw = raw_groups.get(group)
        if raw:
            anchor = project.key_line("dependency-groups", raw)
        elif group == "dev" and has_uv_dev:
            anchor = project.key_line("tool.uv", "dev-dependencies")
        else:
            anchor = _header_line(project.lines, "dependency-groups") or 1
        declared = list(_group_requirements(project, group, set()))
        yield f"dependency group {group!r}", anchor, declared, locked_groups.get(group)


def _group_requirements(project: Project, group: str, seen: set[str]) -> Iterator[Declared]:
    """GROUP's requirement strings with `{include-group = ...}` expanded (PEP 735)."""
    seen.add(group)
    yield from (declared for declared in project.declared if _group_of(declared) == group)
    for raw, items in _table(project.document, "dependency-groups").items():
        if normalized_name(raw) != group:
            continue
        for item in _list(items):
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
    specifier = None if direct else _specifier_set(requirement.specifier)
    return requirement.name, requirement.extras, specifier


def _locked_keys(items: object, loose: frozenset[str]) -> frozenset[Key]:
    keys: set[Key] = set()
    for item in _list(items):
        if isinstance(item, dict) and isinstance(item.get("name"), str):
            name = normalized_name(item["name"])
            direct = bool(DIRECT_SOURCES & set(item)) or name in loose
            specifier = None if direct else _specifier_set(str(item.get("specifier", "")))
            extras = frozenset(normalized_name(e) for e in _strings(item.get("extras")))
            keys.add((name, extras, specifier))
    return frozenset(keys)


def _described(key: Key) -> str:
    name, extras, specifier = key
    shown = f"{name}[{','.join(sorted(extras))}]" if extras else name
    return f"{shown} (direct source)" if specifier is None else shown + ",".join(sorted(specifier))


def _locked_pre_releases(repository: Repository, asked: frozenset[str]) -> Iterator[Finding]:
    """Pre-releases a lock file pins that no manifest asked for."""
    for path in repository.matching(*LOCK_FILES):
        document, lines = _toml(repository.text(path)), repository.lines(path)
        packages = _list(document.get("package") or document.get("packages"))
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


# TOML helpers.


def _toml(text: str | None) -> dict[str, Any]:
    try:
        return tomllib.loads(text) if text else {}
    except tomllib.TOMLDecodeError:
        return {}


def _table(value: object, *keys: str) -> dict[str, Any]:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: object) -> list[str]:
    return [item for item in _list(value) if isinstance(item, str)]


def _join(*parts: str) -> str:
    joined = posixpath.normpath(posixpath.join(*parts))
    return "" if joined == "." else joined


def _header_line(lines: list[str], table: str) -> int | None:
    for number, line in enumerate(lines, 1):
        match = HEADER.match(line)
        if match and re.sub(r"[\s\"']", "", match[1]) == table:
            return number
    return None
