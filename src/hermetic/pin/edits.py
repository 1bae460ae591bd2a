"""Text edits that keep everything else in a file as it was, and writing them all or none."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import stat
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from hermetic.audit.rules.yaml_nodes import mapping_entries
from hermetic.errors import CannotRunError


@dataclass(frozen=True, order=True)
class Edit:
    """Replace TEXT[START:END] of the file at PATH (an insertion when START == END)."""

    path: str
    start: int
    end: int
    replacement: str


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """TEXT with EDITS applied; the same edit twice counts once, overlapping ones are a bug."""
    ordered = sorted(set(edits), key=lambda edit: (edit.start, edit.end), reverse=True)
    for later, earlier in itertools.pairwise(ordered):
        if earlier.end > later.start:
            raise AssertionError(f"overlapping edits of {later.path}: {earlier}, {later}")
    for edit in ordered:
        text = text[: edit.start] + edit.replacement + text[edit.end :]
    return text


def mapping_edits(
    path: str, text: str, mapping: yaml.Node, values: Mapping[str, str], after: str
) -> list[Edit]:
    """Set VALUES in a YAML MAPPING node of TEXT: a key it has gets its value replaced (in the
    same quoting style); missing keys are inserted after the entry AFTER, in VALUES' order."""
    entries = {key.value: (key, value) for key, value in mapping_entries(mapping)}
    edits = [
        Edit(
            path,
            entries[key][1].start_mark.index,
            entries[key][1].end_mark.index,
            _scalar(value, getattr(entries[key][1], "style", None)),
        )
        for key, value in values.items()
        if key in entries
    ]
    missing = [(key, value) for key, value in values.items() if key not in entries]
    if missing:
        anchor_key, anchor_value = entries[after]
        edits.append(_insertion(path, text, mapping, anchor_key, anchor_value, missing))
    return edits


def _insertion(
    path: str,
    text: str,
    mapping: yaml.Node,
    anchor_key: yaml.Node,
    anchor_value: yaml.Node,
    pairs: list[tuple[str, str]],
) -> Edit:
    """New `key: value` entries after ANCHOR: `, k: v` in a flow mapping, else new lines at
    the anchor key's indentation."""
    position = anchor_value.end_mark.index
    if getattr(mapping, "flow_style", False):
        added = "".join(f", {key}: {_scalar(value, None)}" for key, value in pairs)
        return Edit(path, position, position, added)
    newline = "\r\n" if "\r\n" in text else "\n"
    line_end = min(
        (i for i in (text.find("\r", position), text.find("\n", position)) if i >= 0),
        default=len(text),
    )
    indent = " " * anchor_key.start_mark.column
    added = "".join(f"{newline}{indent}{key}: {_scalar(value, None)}" for key, value in pairs)
    return Edit(path, line_end, line_end, added)


def _scalar(value: str, style: str | None) -> str:
    """VALUE as a YAML scalar: in STYLE's quotes if it had them, else plain when that reads
    back as the same string, else double-quoted (a JSON string is a YAML one)."""
    if style == "'":
        return "'" + value.replace("'", "''") + "'"
    if style != '"' and _reads_back_plain(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _reads_back_plain(value: str) -> bool:
    try:
        return bool(yaml.safe_load(f"key: {value}") == {"key": value})
    except yaml.YAMLError:
        return False


def write_all_or_none(root: Path, texts: Mapping[str, str]) -> None:
    """Write each PATH -> TEXT under ROOT: every file to a temporary file beside it first,
    then all renamed over the originals; when any write fails, no file is touched."""
    written: list[tuple[str, Path]] = []
    try:
        for relative, text in texts.items():
            target = root / relative
            descriptor, temporary = tempfile.mkstemp(
                dir=target.parent, prefix=f".{target.name}.", suffix=".hermetic-pin"
            )
            written.append((temporary, target))
            with os.fdopen(descriptor, "wb") as stream:
                stream.write(text.encode("utf-8"))
            Path(temporary).chmod(stat.S_IMODE(target.stat().st_mode))
    except OSError as error:
        for temporary, _ in written:
            with contextlib.suppress(OSError):
                Path(temporary).unlink()
        raise CannotRunError(
            f"could not write {error.filename or root}: {error.strerror or error}",
            "check the permissions and free space of the project's directories; no file was "
            "changed",
        ) from error
    for temporary, target in written:
        Path(temporary).replace(target)
