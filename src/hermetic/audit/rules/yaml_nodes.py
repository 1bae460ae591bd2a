"""YAML read as nodes, which know their lines: what the image and Kubernetes rules (and
`hermetic pin`) walk. Each text is composed once, however many rules read it."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import NamedTuple

import yaml

TEMPLATE_MARKUP = "{{"
# libyaml's parser when PyYAML was built with it (about 10x faster), the same nodes either way.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# A line that starts a YAML document: no block scalar or flow collection spans one.
DOCUMENT_START = re.compile(r"^---(?=[ \t]|$)", re.MULTILINE)


def yaml_documents(text: str | None) -> list[yaml.Node] | None:
    """The documents of TEXT as nodes; None when it is not YAML."""
    if text is None:
        return None
    nodes = _composed(text)
    return None if nodes is None else list(nodes)


@functools.lru_cache(maxsize=4096)
def _composed(text: str) -> tuple[yaml.Node, ...] | None:
    try:
        return tuple(node for node in yaml.compose_all(text, Loader=_LOADER) if node is not None)
    except yaml.YAMLError:
        return None


class Documents(NamedTuple):
    """A multi-document text read document by document: the NODES of those that parse, and
    the line ranges (1-based, end excluded) of those that do not."""

    nodes: tuple[yaml.Node, ...]
    unparsed: tuple[tuple[int, int], ...]


@functools.lru_cache(maxsize=4096)
def each_document(text: str) -> Documents:
    """TEXT's documents, one that does not parse (a Helm template's) costing only itself: the
    whole stream is composed once, and only when that fails is it split at its `---` lines."""
    whole = _composed(text)
    if whole is not None:
        return Documents(whole, ())
    nodes: list[yaml.Node] = []
    unparsed: list[tuple[int, int]] = []
    starts = [0, *(match.start() for match in DOCUMENT_START.finditer(text))]
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        first_line = text.count("\n", 0, start)
        # Blank lines in front keep the nodes' lines those of the file.
        parsed = _composed("\n" * first_line + text[start:end])
        if parsed is None:
            unparsed.append((first_line + 1, first_line + 1 + text.count("\n", start, end)))
        else:
            nodes.extend(parsed)
    return Documents(tuple(nodes), tuple(unparsed))


def is_markup(node: yaml.Node | None) -> bool:
    """Template markup where a value belongs: a scalar holding `{{`, or the flow mapping that
    an unquoted `{{ .Values.x }}` parses into (its key is itself a mapping)."""
    if isinstance(node, yaml.ScalarNode):
        return TEMPLATE_MARKUP in str(node.value)
    return isinstance(node, yaml.MappingNode) and any(
        isinstance(key, yaml.MappingNode) for key, _ in node.value
    )


def mapping_entries(node: yaml.Node | None) -> Iterator[tuple[yaml.ScalarNode, yaml.Node]]:
    """The (key, value) pairs of a mapping node with plain keys, merge keys (`<<`) aside."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value != "<<":
                yield key, value


def mapping_value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    """The value under KEY in a mapping node, or in what it merges with `<<`; else None."""
    if not isinstance(node, yaml.MappingNode):
        return None
    for entry_key, value in mapping_entries(node):
        if entry_key.value == key:
            return value
    for entry_key, merged in node.value:
        if isinstance(entry_key, yaml.ScalarNode) and entry_key.value == "<<":
            for source in sequence_items(merged) or [merged]:
                found = mapping_value(source, key)
                if found is not None:
                    return found
    return None


def follow(node: yaml.Node | None, keys: tuple[str, ...]) -> yaml.Node | None:
    """The value at the path of mapping KEYS from NODE; None where one is missing."""
    for key in keys:
        node = mapping_value(node, key)
    return node


def scalar_value(node: yaml.Node | None) -> str | None:
    """The text of a scalar node; None for anything else."""
    return str(node.value) if isinstance(node, yaml.ScalarNode) else None


def sequence_items(node: yaml.Node | None) -> list[yaml.Node]:
    """The items of a sequence node; empty for anything else."""
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def node_line(node: yaml.Node) -> int:
    """The 1-based line a node starts on."""
    return node.start_mark.line + 1
