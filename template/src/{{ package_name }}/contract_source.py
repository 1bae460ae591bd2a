"""features.py as Python source: written by `contract infer`, formatted as ruff formats it.

The file ends with a `# contract-sha256:` line, the hash of everything above it. `contract infer`
replaces the file only while that line still matches, so a contract changed by hand is never
overwritten without --force.
"""

from __future__ import annotations

import hashlib
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from .atomic import write_text_atomically
from .contract import (
    CategoricalFeature,
    ClassValue,
    Feature,
    FeatureContract,
    Label,
    RegressionLabel,
)
from .errors import ContractInferenceError

LINE_LENGTH = 100
_INDENT = "    "
_MARKER = re.compile(r"\n# contract-sha256: ([0-9a-f]{16})\n\Z")
_PURPOSE = (
    "The Pandera schemas, the model's input encoding and output head, the request and response "
    "bodies, the drift reference, the metrics and plots, the golden set and the tests are all "
    "derived from `FEATURE_CONTRACT`; change it here and everything follows. The types are in "
    "`contract.py`."
)


def marker_line(text: str) -> str:
    """The hash line that ends a file whose other lines are TEXT."""
    return f"# contract-sha256: {hashlib.sha256(text.encode()).hexdigest()[:16]}\n"


def is_as_written(text: str) -> bool:
    """Whether TEXT still ends with the hash of everything above its hash line."""
    found = _MARKER.search(text)
    if found is None:
        return False
    return marker_line(text[: found.start() + 1]) == text[found.start() + 1 :]


def _literal(value: ClassValue | float) -> str:
    if isinstance(value, str):
        text = repr(value)
        # ruff's preference: double quotes, unless they would need more escapes than single.
        if text.startswith("'") and '"' not in value:
            text = '"' + text[1:-1].replace("\\'", "'") + '"'
        return text
    return repr(value)


def _tuple(values: Sequence[ClassValue]) -> str:
    items = ", ".join(_literal(value) for value in values)
    return f"({items},)" if len(values) == 1 else f"({items})"


def _exploded_tuple(values: Sequence[ClassValue], indent: str) -> list[str]:
    inner = indent + _INDENT
    return [f"{indent}(", *(f"{inner}{_literal(value)}," for value in values), f"{indent}),"]


def _call(
    prefix: str, name: str, arguments: list[str | Sequence[ClassValue]], indent: str
) -> list[str]:
    """NAME(ARGUMENTS) on one line when it fits, else one argument per line, as ruff does."""
    rendered = [a if isinstance(a, str) else _tuple(a) for a in arguments]
    one_line = f"{indent}{prefix}{name}({', '.join(rendered)}),"
    if len(one_line) <= LINE_LENGTH:
        return [one_line]
    inner = indent + _INDENT
    lines = [f"{indent}{prefix}{name}("]
    for argument, text in zip(arguments, rendered, strict=True):
        if isinstance(argument, str) or len(f"{inner}{text},") <= LINE_LENGTH:
            lines.append(f"{inner}{text},")
        else:
            lines.extend(_exploded_tuple(argument, inner))
    lines.append(f"{indent}),")
    return lines


def _feature(feature: Feature) -> list[str]:
    name, description = _literal(feature.name), _literal(feature.description)
    if isinstance(feature, CategoricalFeature):
        arguments: list[str | Sequence[ClassValue]] = [name, feature.categories, description]
    else:
        arguments = [name, _literal(feature.minimum), _literal(feature.maximum), description]
    return _call("", type(feature).__name__, arguments, _INDENT * 2)


def _features(features: tuple[Feature, ...]) -> list[str]:
    """The features tuple: one line for a single feature that fits there, as ruff does (the
    comma of a one-element tuple is not a magic trailing comma), else one feature per line."""
    lines = [line for feature in features for line in _feature(feature)]
    if len(lines) == 1:
        one_line = f"{_INDENT}features=({lines[0].strip()}),"
        if len(one_line) <= LINE_LENGTH:
            return [one_line]
    return [f"{_INDENT}features=(", *lines, f"{_INDENT}),"]


def _label(label: Label) -> list[str]:
    name, description = _literal(label.name), _literal(label.description)
    if isinstance(label, RegressionLabel):
        arguments: list[str | Sequence[ClassValue]] = [
            name,
            _literal(label.minimum),
            _literal(label.maximum),
            description,
        ]
    else:
        arguments = [name, label.classes, description]
    return _call("label=", type(label).__name__, arguments, _INDENT)


def _ignored(names: tuple[str, ...]) -> list[str]:
    if not names:
        return []
    line = f"{_INDENT}ignored={_tuple(names)},"
    if len(line) <= LINE_LENGTH:
        return [line]
    return [f"{_INDENT}ignored=(", *(f"{_INDENT * 2}{_literal(n)}," for n in names), f"{_INDENT}),"]


def _imports(contract: FeatureContract) -> list[str]:
    names = sorted(
        {"FeatureContract", type(contract.label).__name__}
        | {type(feature).__name__ for feature in contract.features}
    )
    one_line = f"from .contract import {', '.join(names)}"
    if len(one_line) <= LINE_LENGTH:
        return [one_line]
    return ["from .contract import (", *(f"{_INDENT}{name}," for name in names), ")"]


def render_contract(contract: FeatureContract, provenance: str) -> str:
    """features.py declaring CONTRACT, its docstring saying PROVENANCE (how it was written)."""
    summary = (
        "The feature contract: what one row of this project's data is. Written once, used "
        "everywhere."
    )
    paragraphs = [provenance, _PURPOSE]
    body = "\n\n".join(textwrap.fill(p, LINE_LENGTH, break_on_hyphens=False) for p in paragraphs)
    lines = [
        f'"""{summary}',
        "",
        body,
        '"""',
        "",
        *_imports(contract),
        "",
        "FEATURE_CONTRACT = FeatureContract(",
        f"{_INDENT}identifier={_literal(contract.identifier)},",
        *_features(contract.features),
        *_label(contract.label),
        *_ignored(contract.ignored),
        ")",
    ]
    text = "\n".join(lines) + "\n"
    return text + marker_line(text)


def write_contract_source(path: Path, text: str, *, force: bool) -> Literal["written", "unchanged"]:
    """Write TEXT to PATH atomically, unless PATH holds a contract changed by hand (and not
    FORCE): ContractInferenceError then says so, and nothing is written."""
    if path.is_file():
        current = path.read_text(encoding="utf-8")
        if current == text:
            return "unchanged"
        if not force and not is_as_written(current):
            msg = (
                f"{path} was changed by hand since it was written (its contract-sha256 line no "
                "longer matches it), so it is not replaced: keep what you need from it, then "
                "rerun with --force"
            )
            raise ContractInferenceError(msg)
    write_text_atomically(path, text)
    return "written"
