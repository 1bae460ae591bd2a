"""`hermetic pin`: check that every image reference of a project is pinned by digest (offline,
or asking the registries), or pin them all — every tag resolved before any file is written."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from hermetic.audit.repository import Repository, load_repository
from hermetic.errors import (
    CannotRunError,
    PathNotFoundError,
    RegistryError,
    UnpinnableReferenceError,
)
from hermetic.pin.catalogue import (
    CATALOGUE_PATH,
    catalogue_entries,
    is_tool_repository,
    tool_catalogue,
)
from hermetic.pin.edits import Edit, apply_edits, write_all_or_none
from hermetic.pin.references import FoundReference, TextSite, Update, find_references
from hermetic.registry import ImageReference, RegistryClient, parse_reference

# (registry, repository, tag): the image:tag a catalogue pins.
ImageTag = tuple[str, str, str]


@dataclass(frozen=True)
class CheckItem:
    where: str
    reference: str
    message: str


@dataclass(frozen=True)
class CheckReport:
    references: int
    problems: tuple[CheckItem, ...]
    placeholders: tuple[CheckItem, ...]
    catalogues: tuple[str, ...]
    online: bool


@dataclass(frozen=True, order=True)
class Change:
    path: str
    line: int
    old: str
    new: str
    kind: str

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass(frozen=True)
class PinReport:
    changes: tuple[Change, ...]
    files: tuple[str, ...]
    current: int
    placeholders: int
    digest_only: int
    notes: tuple[str, ...]


@dataclass(frozen=True)
class _Pinned:
    """A catalogue's digest for an image:tag, and where the catalogue says so."""

    where: str
    digest: str


def check_pins(root: Path, client: RegistryClient | None = None) -> CheckReport:
    """Offline: each reference has a digest that agrees with the catalogue. With a CLIENT,
    also: each tag still points at its pinned digest."""
    repository = _repository(root)
    references = _parsed(find_references(repository))
    catalogues, pinned = _catalogue_pins(root)
    problems: list[CheckItem] = []
    placeholders: list[CheckItem] = []
    to_ask: list[tuple[FoundReference, ImageReference]] = []
    for found, reference in references:
        if reference is None:
            unset = ", ".join(found.unset)
            problems.append(_item(found, f"depends on {unset}, which nothing here sets"))
        elif reference.is_placeholder:
            placeholders.append(_item(found, "placeholder for the project's own image (accepted)"))
        elif reference.digest is None:
            known = [p.digest for p in pinned.get(_image_tag(reference), [])]
            hint = f" (the catalogue pins {known[0]})" if known else ""
            problems.append(_item(found, f"lacks a digest{hint}; run `hermetic pin`"))
        elif reference.tag is not None:  # by digest alone, an image cannot change
            for other in pinned.get(_image_tag(reference), []):
                if other.digest != reference.digest:
                    message = f"disagrees with the catalogue: {other.where} pins {other.digest}"
                    problems.append(_item(found, message))
            to_ask.append((found, reference))
    if client is not None:
        problems.extend(_moved_tags(client, to_ask))
    return CheckReport(
        len(references), tuple(problems), tuple(placeholders), catalogues, client is not None
    )


def _moved_tags(
    client: RegistryClient, pinned: list[tuple[FoundReference, ImageReference]]
) -> Iterator[CheckItem]:
    """A problem for each tag the registry now resolves to another digest than the pinned one."""
    for found, reference in pinned:
        with _at(found):
            now = client.resolve(reference).digest
        if now != reference.digest:
            yield _item(
                found,
                f"tag {reference.tag} moved: pinned {reference.digest}, the registry now has "
                f"{now}; run `hermetic pin`",
            )


def pin_images(root: Path, client: RegistryClient, today: date) -> PinReport:
    """Rewrite every reference whose tag points elsewhere than its digest (or that has none)
    as name:tag@sha256:<what the tag points at>; all files or none."""
    repository = _repository(root)
    references = _parsed(find_references(repository))
    counts = {"placeholders": 0, "digest_only": 0, "current": 0}
    to_resolve: list[tuple[FoundReference, ImageReference]] = []
    for found, reference in references:
        if reference is None:
            raise _unpinnable(found, f"depends on {', '.join(found.unset)}, which nothing sets")
        if reference.is_placeholder:
            counts["placeholders"] += 1
        elif reference.digest is not None and reference.tag is None:
            counts["digest_only"] += 1
        elif reference.digest is None and found.site is None:
            raise _unpinnable(found, "is not written literally where it is used")
        else:
            to_resolve.append((found, reference))
    edits: list[Edit] = []
    changes: list[Change] = []
    for found, reference in to_resolve:
        with _at(found):
            resolved = client.resolve(reference)
        if resolved.digest == reference.digest:
            counts["current"] += 1
            continue
        if found.site is None:
            raise _unpinnable(found, "is not written literally where it is used")
        text = repository.text(found.path) or ""
        platforms = None
        if found.site.wants_platforms:
            with _at(found):
                platforms = client.describe_platforms(reference, resolved)
        update = Update(
            reference.pinned(resolved.digest), resolved.digest, resolved.host, today, platforms
        )
        edits.extend(found.site.edits(text, update))
        line = found.line
        if isinstance(found.site, TextSite):  # a Dockerfile ARG default: where the text changes
            line = text.count("\n", 0, found.site.start) + 1
        changes.append(Change(found.path, line, found.text, update.text, resolved.kind))
    by_path: dict[str, list[Edit]] = defaultdict(list)
    for edit in edits:
        by_path[edit.path].append(edit)
    write_all_or_none(
        root, {path: apply_edits(repository.text(path) or "", ed) for path, ed in by_path.items()}
    )
    unique = tuple(sorted(set(changes)))
    return PinReport(
        unique,
        tuple(sorted(by_path)),
        counts["current"],
        counts["placeholders"],
        counts["digest_only"],
        _catalogue_notes(root, unique),
    )


@contextmanager
def _at(found: FoundReference) -> Iterator[None]:
    """A registry's error, prefixed with where the reference it was asked about is written."""
    try:
        yield
    except RegistryError as error:
        raise type(error)(f"{found.where}: {error.problem}", error.fix) from error


def _repository(root: Path) -> Repository:
    if not root.exists():
        raise PathNotFoundError(
            f"{root} does not exist", "give the project's directory (default: the current one)"
        )
    if not root.is_dir():
        raise PathNotFoundError(
            f"{root} is not a directory", "give the project's directory, not a file in it"
        )
    return load_repository(root)


def _parsed(
    references: list[FoundReference],
) -> list[tuple[FoundReference, ImageReference | None]]:
    """Each reference parsed (None while it depends on unset variables); malformed: exit 2."""
    return [
        (found, None if found.unset else parse_reference(found.text, found.where))
        for found in references
    ]


def _item(found: FoundReference, message: str) -> CheckItem:
    return CheckItem(found.where, found.text, message)


def _unpinnable(found: FoundReference, why: str) -> UnpinnableReferenceError:
    return UnpinnableReferenceError(
        f"{found.where}: image {found.text} {why}, so hermetic pin cannot rewrite it",
        "write the reference literally on that line (a Dockerfile may take it from an ARG "
        "default: ARG BASE=IMAGE:TAG), then run hermetic pin again; nothing was changed",
    )


def _image_tag(reference: ImageReference) -> ImageTag:
    return (reference.registry, reference.repository, reference.tag or "latest")


def _catalogue_pins(
    root: Path, *, include_own: bool = True
) -> tuple[tuple[str, ...], dict[ImageTag, list[_Pinned]]]:
    """The catalogues a check compares against (the tool's; PATH's own when PATH is the tool
    repository), and what they pin."""
    sources: dict[Path, str] = {}
    tool = tool_catalogue()
    if tool is not None:
        sources[tool] = _shown(root, tool)
    own = (root / CATALOGUE_PATH).resolve()
    if include_own and is_tool_repository(root):
        sources[own] = CATALOGUE_PATH
    elif not include_own:
        sources.pop(own, None)
    pinned: dict[ImageTag, list[_Pinned]] = defaultdict(list)
    for path, shown in sources.items():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CannotRunError(
                f"the image catalogue {path} could not be read: {error}",
                "check that the hermetic-ml checkout (or $HERMETIC_TEMPLATE) is complete",
            ) from error
        for entry in catalogue_entries(shown, text):
            reference = parse_reference(entry.reference, f"{shown}:{entry.line}")
            if reference.digest is not None:
                pinned[_image_tag(reference)].append(
                    _Pinned(f"{shown}:{entry.line}", reference.digest)
                )
    return tuple(sources.values()), pinned


def _shown(root: Path, path: Path) -> str:
    """PATH relative to ROOT when it lies inside, else absolute."""
    try:
        return path.relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _catalogue_notes(root: Path, changes: tuple[Change, ...]) -> tuple[str, ...]:
    """A note for each new pin that the tool's catalogue (outside ROOT) pins otherwise."""
    _, pinned = _catalogue_pins(root, include_own=False)
    notes: list[str] = []
    for change in changes:
        reference = parse_reference(change.new, change.where)
        for other in pinned.get(_image_tag(reference), []):
            if other.digest != reference.digest:
                notes.append(
                    f"{change.where}: the tool's catalogue ({other.where}) pins {other.digest}: "
                    "`hermetic pin` in the hermetic-ml repository refreshes it, so that "
                    "`hermetic pin --check` agrees"
                )
    return tuple(notes)
