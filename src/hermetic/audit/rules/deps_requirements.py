"""pip requirements files, read as pip reads them: HM102, HM104, and HM105/HM106 there."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from types import MappingProxyType

from hermetic.audit.model import Finding
from hermetic.audit.repository import Repository
from hermetic.audit.rules.deps_files import join_path
from hermetic.audit.rules.deps_rules import (
    FLOATING_VCS,
    LOCKED_PRE_RELEASE,
    PRE_RELEASE,
    RANGED,
    UNHASHED,
)
from hermetic.audit.rules.deps_specifiers import (
    NIGHTLY,
    Requirement,
    floating_vcs_reason,
    is_exact_pin,
    is_nightly_name,
    parse_requirement,
    pre_release_in,
)

REMOTE = re.compile(r"https?://", re.IGNORECASE)
COMMENT = re.compile(r"(^|\s+)#.*$")
SHORT_OPTIONS = {"-r": "--requirement", "-c": "--constraint", "-e": "--editable"}
SHORT_OPTIONS |= {"-i": "--index-url", "-f": "--find-links"}
INDEX_OPTIONS = frozenset({"--index-url", "--extra-index-url", "--find-links"})
# Requirements files by name, in any case: requirement(s)/ folders, names that start with
# requirement(s) or constraints, end with them, or hold requirement(s) between separators.
REQUIREMENTS_PATH = re.compile(
    r"""(?:.*/)?(?:
        requirements?/[^/]*
        | (?:requirements?|constraints)[^/]*
        | [^/]*(?:requirements?|constraints)
        | [^/]*[-_.]requirements?[-_.][^/]*
    )\.txt""",
    re.IGNORECASE | re.VERBOSE,
)
EXPLICIT = re.compile(r"^@EXPLICIT\s*$", re.MULTILINE)


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
    """A requirements file, or the `pip:` list of a conda environment file (EMBEDDED), which
    the environment's lock covers: it gets no HM102 and locks nothing itself."""

    path: str
    is_constraints: bool
    entries: tuple[Entry, ...]
    embedded: bool = False

    def referenced(self, option: str) -> list[str]:
        """Repository paths of the files this one names with OPTION (`--requirement`...)."""
        directory = posixpath.dirname(self.path)
        return [
            join_path(directory, e.value.removeprefix("file:"))
            for e in self.entries
            if e.option == option
        ]

    @cached_property
    def is_hash_pinned(self) -> bool:
        """A compiled lock: every requirement that can carry a hash carries one."""
        if self.is_constraints or self.embedded:
            return False
        needing = [entry for entry in self.entries if needs_hash(entry)]
        return bool(needing) and all(e.hashed for e in needing)


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


def requirement_files(
    repository: Repository, included: Mapping[str, bool] = MappingProxyType({})
) -> list[RequirementsFile]:
    """Files named like requirements or constraints, the files they include (`-r`, `-c`) and
    INCLUDED (path -> is constraints) by other manifests; conda's `@EXPLICIT` lists are no
    requirements files, whatever their name."""
    known = set(repository.files)
    kinds = {
        path: _is_constraints_name(path)
        for path in known
        if path[-4:].lower() == ".txt" and REQUIREMENTS_PATH.fullmatch(path)
    }
    kinds |= {path: is_constraints for path, is_constraints in included.items() if path in known}
    pending = list(kinds)
    parsed: dict[str, RequirementsFile] = {}
    while pending:
        path = pending.pop()
        if is_conda_explicit(repository.text(path)):
            continue
        entries = tuple(requirements_entries(repository.lines(path)))
        parsed[path] = RequirementsFile(path, kinds[path], entries)
        for option, is_constraints in (("--requirement", False), ("--constraint", True)):
            for target in parsed[path].referenced(option):
                if target in known and target not in kinds:
                    kinds[target] = is_constraints
                    pending.append(target)
    return sorted(parsed.values(), key=lambda requirements: requirements.path)


def is_conda_explicit(text: str | None) -> bool:
    """TEXT is a conda explicit spec (`conda list --explicit`): package URLs, a conda lock."""
    return text is not None and "@EXPLICIT" in text and EXPLICIT.search(text) is not None


def _is_constraints_name(path: str) -> bool:
    name = posixpath.basename(path).lower()
    return name.startswith("constraints") or name.endswith("constraints.txt")


def requirements_file_hazards(
    requirements: RequirementsFile, every_file: list[RequirementsFile], asked: frozenset[str]
) -> Iterator[Finding]:
    path = requirements.path
    if not requirements.is_constraints:
        if not requirements.embedded:
            yield from unhashed(requirements)
        yield from ranged(requirements, constrained_pins(requirements, every_file))
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
        elif option := pre_release_option(entry):
            yield PRE_RELEASE.at(path, entry.line, option)


def needs_hash(entry: Entry) -> bool:
    """A registry requirement or a remote archive; VCS, local and editable installs take none."""
    return not entry.option and (entry.url is None or REMOTE.match(entry.url) is not None)


def unhashed(requirements: RequirementsFile) -> Iterator[Finding]:
    needing = [entry for entry in requirements.entries if needs_hash(entry)]
    missing = [entry for entry in needing if not entry.hashed]
    if missing:
        message = (
            f"{len(missing)} of {len(needing)} requirements carry no --hash, so pip installs"
            f" whatever the index serves (first: {missing[0].value})"
        )
        yield UNHASHED.at(requirements.path, missing[0].line, message)


def constrained_pins(
    requirements: RequirementsFile, every_file: list[RequirementsFile]
) -> frozenset[str]:
    """Names pinned with `==` by the constraints files REQUIREMENTS includes with `-c`."""
    included = set(requirements.referenced("--constraint"))
    return frozenset(
        entry.requirement.name
        for constraints in every_file
        if constraints.path in included
        for entry in constraints.entries
        if entry.requirement and is_exact_pin(entry.requirement.specifier)
    )


def ranged(requirements: RequirementsFile, pinned: frozenset[str]) -> Iterator[Finding]:
    for entry in requirements.entries:
        requirement = entry.requirement
        if requirement is None or requirement.url or requirement.name in pinned:
            continue
        if not requirement.specifier:
            message = f"{entry.value} has no version: any release can be installed"
        elif not is_exact_pin(requirement.specifier):
            message = f"{entry.value} allows a range of versions"
        else:
            continue
        yield RANGED.at(requirements.path, entry.line, message)


def pre_release_option(entry: Entry) -> str | None:
    if entry.option == "--pre":
        return "--pre lets pip install pre-releases of every requirement"
    if entry.option in INDEX_OPTIONS and NIGHTLY.search(entry.value):
        return f"{entry.option} {entry.value} serves nightly builds"
    if entry.url and NIGHTLY.search(entry.url):
        return f"{entry.value} installs a nightly build"
    if entry.requirement and is_nightly_name(entry.requirement.name):
        return f"{entry.value} is a nightly build"
    return None
