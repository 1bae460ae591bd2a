"""Every image reference of a project, and where each one is written so that it can be
rewritten: the audit's image uses (Dockerfiles, compose, dev containers, Kubernetes,
kustomizations), plus the image catalogue's entries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import yaml

from hermetic.audit.repository import Repository
from hermetic.audit.rules import images
from hermetic.audit.rules.yaml_nodes import mapping_value, node_line
from hermetic.pin.catalogue import CATALOGUE_PATH, CatalogueEntry, catalogue_entries
from hermetic.pin.edits import Edit, mapping_edits

CONTINUATION_ENDINGS = ("\\", "`")
JINJA_MARKUP = ("{{", "{%")


@dataclass(frozen=True)
class Update:
    """What a reference becomes: its new TEXT (name:tag@digest), DIGEST, and, for catalogue
    entries, how and when it was resolved and the platforms the digest covers."""

    text: str
    digest: str
    host: str
    resolved_on: date
    platforms: str | None = None


@dataclass(frozen=True)
class TextSite:
    """The reference is the text at START:END of PATH: replaced by the new reference."""

    path: str
    start: int
    end: int
    wants_platforms = False

    def edits(self, text: str, update: Update) -> list[Edit]:
        return [Edit(self.path, self.start, self.end, update.text)]


@dataclass(frozen=True)
class KustomizeSite:
    """A kustomization `images:` entry: its `digest` is set (added after newTag if absent)."""

    path: str
    entry: yaml.Node
    wants_platforms = False

    def edits(self, text: str, update: Update) -> list[Edit]:
        return mapping_edits(self.path, text, self.entry, {"digest": update.digest}, "newTag")


@dataclass(frozen=True)
class CatalogueSite:
    """A catalogue entry: `digest`, `resolved` (when, and from which registry) and, when the
    entry records it, `platform`."""

    path: str
    entry: yaml.Node
    wants_platforms = True

    def edits(self, text: str, update: Update) -> list[Edit]:
        values = {
            "digest": update.digest,
            "resolved": f"{update.resolved_on.isoformat()}, resolved by hermetic pin from "
            f"{update.host}",
        }
        if update.platforms is not None and mapping_value(self.entry, "platform") is not None:
            values["platform"] = update.platforms
        return mapping_edits(self.path, text, self.entry, values, "tag")


Site = TextSite | KustomizeSite | CatalogueSite


@dataclass(frozen=True)
class FoundReference:
    """An image reference at PATH:LINE as the file means it (Dockerfile ARGs substituted);
    UNSET names the variables nothing sets; SITE is None when it is not written literally."""

    path: str
    line: int
    text: str
    unset: tuple[str, ...]
    site: Site | None

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def find_references(repository: Repository) -> list[FoundReference]:
    """Every image reference in REPOSITORY, in file order; references holding template markup
    (`{{`) and every reference of a `.jinja` file with markup are left out."""
    dockerfiles = set(repository.matching(*images.DOCKERFILES))
    kustomized = {
        (image.path, node_line(image.entry)): image.entry
        for image in images.kustomize_images(repository)
    }
    found: list[FoundReference] = []
    for use in images.image_uses(repository):
        if _is_jinja_template(repository, use.path):
            continue
        entry = kustomized.get((use.path, use.line))
        site: Site | None
        if entry is not None:
            site = KustomizeSite(use.path, entry)
        else:
            site = _text_site(repository, use, is_dockerfile=use.path in dockerfiles)
        found.append(FoundReference(use.path, use.line, use.reference, use.unset, site))
    for catalogued in _catalogue_entries(repository):
        found.append(
            FoundReference(
                catalogued.path,
                catalogued.line,
                catalogued.reference,
                (),
                CatalogueSite(catalogued.path, catalogued.node),
            )
        )
    return sorted(dict.fromkeys(found), key=lambda reference: (reference.path, reference.line))


def _catalogue_entries(repository: Repository) -> list[CatalogueEntry]:
    return [
        entry
        for path in repository.matching(CATALOGUE_PATH, f"*/{CATALOGUE_PATH}")
        for entry in catalogue_entries(path, repository.text(path) or "")
    ]


def _is_jinja_template(repository: Repository, path: str) -> bool:
    """A `.jinja` file with template markup: its stages, ARGs and structure are known only
    once rendered (`FROM {{ image }} AS uv` declares a stage `uv` no parser here can see)."""
    text = repository.text(path) or ""
    return path.endswith(".jinja") and any(mark in text for mark in JINJA_MARKUP)


def _text_site(
    repository: Repository, use: images.ImageUse, *, is_dockerfile: bool
) -> TextSite | None:
    """Where USE's reference is written: on its line (and a Dockerfile instruction's
    continuation lines), else, in a Dockerfile, as the default of an earlier ARG."""
    text = repository.text(use.path) or ""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    token = re.compile(r"(?<![^\s\"'=,\[{])" + re.escape(use.reference) + r"(?![^\s\"',\]}])")
    index = use.line - 1
    last = index
    while (
        is_dockerfile
        and last + 1 < len(lines)
        and lines[last].rstrip().endswith(CONTINUATION_ENDINGS)
    ):
        last += 1
    match = token.search(text, starts[index], starts[min(last + 1, len(lines))])
    if match is None and is_dockerfile:
        arg_lines = [n for n in range(index) if re.match(r"\s*ARG\s", lines[n], re.IGNORECASE)]
        for number in reversed(arg_lines):
            match = token.search(text, starts[number], starts[number + 1])
            if match is not None:
                break
    return None if match is None else TextSite(use.path, match.start(), match.end())
