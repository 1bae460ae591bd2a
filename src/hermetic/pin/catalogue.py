"""The image catalogue (`devcontainer/catalogue.yml`): its entries as references, and which
catalogue a check compares against."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from hermetic.audit.rules.yaml_nodes import (
    mapping_entries,
    mapping_value,
    node_line,
    scalar_value,
    yaml_documents,
)
from hermetic.errors import CannotRunError, TemplateError
from hermetic.template_source import checkout_root, resolve_template_source

CATALOGUE_PATH = "devcontainer/catalogue.yml"


@dataclass(frozen=True)
class CatalogueEntry:
    """A mapping with `image` and `tag` (and, once pinned, `digest`) under
    `image_catalogue.default`; LINE is its digest's line (its tag's while it has none)."""

    path: str
    line: int
    reference: str
    node: yaml.Node


def catalogue_entries(path: str, text: str) -> list[CatalogueEntry]:
    """Every entry of the catalogue TEXT, read from PATH (named in messages)."""
    documents = yaml_documents(text)
    if documents is None:
        raise CannotRunError(
            f"the image catalogue {path} is not valid YAML",
            "fix its syntax (`python -c 'import yaml,sys; yaml.safe_load(open(sys.argv[1]))' "
            f"{path}` shows where), then run again",
        )
    return [
        entry
        for document in documents
        for entry in _entries(
            path, mapping_value(mapping_value(document, "image_catalogue"), "default")
        )
    ]


def _entries(path: str, node: yaml.Node | None) -> Iterator[CatalogueEntry]:
    image = scalar_value(mapping_value(node, "image"))
    tag = scalar_value(mapping_value(node, "tag"))
    if image and tag and node is not None:
        digest_node = mapping_value(node, "digest")
        digest = scalar_value(digest_node)
        tag_node = mapping_value(node, "tag")
        line = node_line(digest_node if digest_node is not None else tag_node or node)
        reference = f"{image}:{tag}{f'@{digest}' if digest else ''}"
        yield CatalogueEntry(path, line, reference, node)
        return
    for _, value in mapping_entries(node):
        yield from _entries(path, value)


def is_tool_repository(root: Path) -> bool:
    """A hermetic-ml checkout (or a template repository like it): copier.yml and a catalogue."""
    return (root / "copier.yml").is_file() and (root / CATALOGUE_PATH).is_file()


def tool_catalogue() -> Path | None:
    """The catalogue of the template `hermetic new` uses by default, when it is a local
    directory: $HERMETIC_TEMPLATE, else the checkout this code runs from."""
    try:
        source = resolve_template_source(None, os.environ, checkout_root())
    except TemplateError:
        return None
    candidate = Path(source).expanduser() / CATALOGUE_PATH
    return candidate.resolve() if candidate.is_file() else None
