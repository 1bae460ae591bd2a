"""`contract infer`: a feature contract decided from a data file, every decision said out loud.

Each column becomes a feature of the kind its type says (real numbers: numeric; whole numbers:
integer; text: categorical), or is refused with the fix when no kind fits it safely (missing
values, true/false, dates, a constant, free text). The label's kind comes from its values, or
from --label-kind when they could mean two things. Nothing ambiguous is guessed.

Margin policy for ranges: the observed [min, max] is widened by MARGIN (10%) of its span on each
side, never below 0 when no value is negative, never beyond [0, 1] when every value lies in it,
then rounded outward to three significant digits of the span (whole numbers for integers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .contract import (
    BinaryLabel,
    CategoricalFeature,
    ClassValue,
    Feature,
    FeatureContract,
    IntegerFeature,
    Label,
    MulticlassLabel,
    NumericFeature,
    RegressionLabel,
)
from .contract_profile import ColumnProfile, describe_number, profile_columns
from .contract_source import render_contract, write_contract_source
from .errors import ContractError, ContractInferenceError

LabelKind = Literal["binary", "multiclass", "regression"]
_PACKAGE = __name__.split(".", 1)[0]
SIGNIFICANT_DIGITS = 3


@dataclass(frozen=True)
class InferenceOptions:
    identifier: str
    label: str
    label_kind: LabelKind | None = None
    positive_class: str | None = None
    exclude: tuple[str, ...] = ()
    margin: float = 0.1
    max_categories: int = 50


@dataclass(frozen=True)
class InferredContract:
    contract: FeatureContract
    source: Path
    rows: int
    decisions: tuple[str, ...]  # one line per column, as printed


def declared_range(
    low: float, high: float, margin: float, *, whole: bool
) -> tuple[float, float] | tuple[int, int]:
    """The margin policy (module docstring) applied to an observed range."""
    span = high - low
    lower, upper = low - margin * span, high + margin * span
    if low >= 0:
        lower = max(lower, 0.0)
        if high <= 1:
            upper = min(upper, 1.0)
    if whole:
        return math.floor(lower), math.ceil(upper)
    exponent = math.floor(math.log10(span)) - (SIGNIFICANT_DIGITS - 1)
    step = 10.0**exponent
    digits = max(0, -exponent)
    return (
        round(math.floor(round(lower / step, 9)) * step, digits),
        round(math.ceil(round(upper / step, 9)) * step, digits),
    )


def _extremes(profile: ColumnProfile) -> tuple[float, float]:
    """The observed minimum and maximum of a number column (which has a finite value)."""
    if profile.minimum is None or profile.maximum is None:
        msg = "no finite value to take a range from"
        raise ValueError(msg)
    return profile.minimum, profile.maximum


def _missing_problem(profile: ColumnProfile) -> str | None:
    if profile.missing:
        return (
            f"{profile.missing} of {profile.rows} values are missing, and a contract has no "
            "missing values: fill or drop them in the data source"
        )
    if profile.infinite:
        return f"{profile.infinite} values are infinite: fix them in the data source"
    return None


def _type_problem(profile: ColumnProfile) -> str | None:
    if profile.type_kind == "boolean":
        return "true/false values: store them as 0/1 integers or as text in the data source"
    if profile.type_kind not in {"float", "integer", "text"}:
        return (
            f"a {profile.type_kind} column: derive numbers or categories from it in the data source"
        )
    return None


def _feature(profile: ColumnProfile, options: InferenceOptions) -> tuple[Feature, str]:
    """The feature a column becomes and the decision line; ValueError says why it cannot."""
    problem = _missing_problem(profile) or _type_problem(profile)
    if problem:
        raise ValueError(problem)
    if profile.type_kind == "text":
        if profile.distinct_overflow or len(profile.distinct) > options.max_categories:
            msg = (
                f"over {options.max_categories} distinct texts: free text or an identifier? "
                "group it into categories in the data source, or raise --max-categories"
            )
            raise ValueError(msg)
        categories = tuple(sorted(str(value) for value in profile.distinct))
        if len(categories) < 2:
            msg = f"every value is {categories[0]!r}: a constant carries no information"
            raise ValueError(msg)
        shown = ", ".join(categories[:6]) + (", ..." if len(categories) > 6 else "")
        feature: Feature = CategoricalFeature(
            profile.name, categories, f"{len(categories)} categories observed"
        )
        return feature, f"categorical, {len(categories)} categories ({shown})"
    minimum, maximum = _extremes(profile)
    if minimum == maximum:
        msg = f"every value is {describe_number(minimum)}: a constant carries no information"
        raise ValueError(msg)
    whole = profile.type_kind == "integer"
    low, high = declared_range(minimum, maximum, options.margin, whole=whole)
    observed = f"{describe_number(minimum)} to {describe_number(maximum)}"
    if whole:
        feature = IntegerFeature(profile.name, int(low), int(high), f"Observed {observed}")
        kind = "integer"
    else:
        feature = NumericFeature(profile.name, float(low), float(high), f"Observed {observed}")
        kind = "numeric"
    return feature, f"{kind}, observed {observed}, declared {low} to {high}"


def _class_values(profile: ColumnProfile) -> list[ClassValue]:
    if profile.type_kind == "integer":
        return sorted(int(value) for value in profile.distinct)
    return sorted(str(value) for value in profile.distinct)


def _binary(profile: ColumnProfile, values: list[ClassValue], positive: str | None) -> BinaryLabel:
    if positive is None:
        if values == [0, 1]:
            return BinaryLabel(profile.name, (0, 1))
        shown = ", ".join(str(v) for v in values)
        msg = (
            f"two values ({shown}): which is the positive class? pass --positive-class "
            f"{values[1]} (the model gives its probability), or --label-kind multiclass"
        )
        raise ValueError(msg)
    chosen = [v for v in values if str(v) == positive]
    if not chosen:
        msg = f"--positive-class {positive} is not one of its values {values}"
        raise ValueError(msg)
    other = [v for v in values if str(v) != positive]
    return BinaryLabel(profile.name, (other[0], chosen[0]))


def _label_kind(profile: ColumnProfile, options: InferenceOptions) -> LabelKind:
    if options.label_kind is not None:
        return options.label_kind
    if options.positive_class is not None:
        return "binary"
    count = len(profile.distinct)
    if profile.type_kind == "text":
        return "multiclass" if count != 2 else "binary"
    if profile.type_kind == "integer" and not profile.distinct_overflow and count == 2:
        return "binary"
    # Whole numbers few enough to be classes could be classes or a quantity: ask.
    if profile.whole_numbers and count <= options.max_categories:
        shown = ", ".join(describe_number(float(v)) for v in sorted(profile.distinct)[:8])
        classes = (
            "store them as integers or text in the data source"
            if profile.type_kind == "float"
            else "pass --label-kind multiclass (or binary)"
        )
        msg = (
            f"{count} distinct whole numbers ({shown}): classes, or a quantity? For classes, "
            f"{classes}; for a quantity, pass --label-kind regression"
        )
        raise ValueError(msg)
    return "regression"


def _label(profile: ColumnProfile, options: InferenceOptions) -> tuple[Label, str]:
    problem = _missing_problem(profile) or _type_problem(profile)
    if problem:
        raise ValueError(problem)
    kind = _label_kind(profile, options)
    if kind == "regression":
        if profile.type_kind == "text":
            msg = "text cannot be a regression label: pass --label-kind multiclass or binary"
            raise ValueError(msg)
        minimum, maximum = _extremes(profile)
        if minimum == maximum:
            msg = f"every value is {describe_number(minimum)}: nothing to predict"
            raise ValueError(msg)
        low, high = declared_range(minimum, maximum, options.margin, whole=False)
        observed = f"{describe_number(minimum)} to {describe_number(maximum)}"
        label: Label = RegressionLabel(
            profile.name, float(low), float(high), f"Observed {observed}"
        )
        return label, f"regression, observed {observed}, declared {low} to {high}"
    if profile.type_kind == "float":
        msg = (
            "classes must be integers or text, and these are real numbers: store them as "
            "integers or text in the data source, or pass --label-kind regression"
        )
        raise ValueError(msg)
    if profile.distinct_overflow or len(profile.distinct) > options.max_categories:
        msg = f"over {options.max_categories} classes: is it a quantity? --label-kind regression"
        raise ValueError(msg)
    values = _class_values(profile)
    if len(values) < 2:
        msg = f"every value is {values[0]!r}: one class is nothing to predict"
        raise ValueError(msg)
    if kind == "binary":
        if len(values) != 2:
            msg = f"{len(values)} classes cannot be binary: pass --label-kind multiclass"
            raise ValueError(msg)
        binary = _binary(profile, values, options.positive_class)
        return binary, f"binary, negative {binary.classes[0]!r}, positive {binary.classes[1]!r}"
    label = MulticlassLabel(profile.name, tuple(values), f"{len(values)} classes observed")
    shown = ", ".join(str(v) for v in values[:8]) + (", ..." if len(values) > 8 else "")
    return label, f"multiclass, {len(values)} classes ({shown})"


def infer_contract(source: Path, options: InferenceOptions) -> InferredContract:
    """The contract SOURCE supports; ContractInferenceError lists every column it cannot use."""
    limit = options.max_categories + 1
    profiles = profile_columns(source, limit)
    refused: list[str] = []
    missing = [
        f"--{role} {name}: no such column (columns: {', '.join(profiles)})"
        for role, name in (("identifier", options.identifier), ("label", options.label))
        if name not in profiles
    ]
    missing += [
        f"--exclude {name}: no such column" for name in options.exclude if name not in profiles
    ]
    if missing:
        raise ContractInferenceError(_refusal(source, missing))
    identifier = profiles[options.identifier]
    if identifier.rows == 0:
        msg = f"{source} has no rows: nothing to infer a contract from"
        raise ContractInferenceError(msg)
    decisions = []
    if identifier.missing or identifier.type_kind not in {"text", "integer"}:
        refused.append(
            f"identifier {identifier.name}: must be text or whole numbers with no missing value"
        )
    else:
        decisions.append(f"identifier  {identifier.name} ({identifier.type_kind})")
    features: list[Feature] = []
    for profile in profiles.values():
        if profile.name in {options.identifier, options.label}:
            continue
        if profile.name in options.exclude:
            decisions.append(f"ignored     {profile.name} (--exclude: prepare drops it)")
            continue
        try:
            feature, decision = _feature(profile, options)
        except ValueError as error:
            refused.append(
                f"column {profile.name}: {error}, or leave it out: --exclude {profile.name}"
            )
            continue
        features.append(feature)
        decisions.append(f"feature     {profile.name}: {decision}")
    try:
        label, decision = _label(profiles[options.label], options)
        decisions.append(f"label       {options.label}: {decision}")
    except ValueError as error:
        refused.append(f"label {options.label}: {error}")
    if refused:
        raise ContractInferenceError(_refusal(source, refused))
    try:
        contract = FeatureContract(
            options.identifier, tuple(features), label, ignored=tuple(options.exclude)
        )
    except ContractError as error:
        raise ContractInferenceError(error.message) from error
    return InferredContract(contract, source, identifier.rows, tuple(decisions))


def _refusal(source: Path, problems: list[str]) -> str:
    listed = "\n".join(f"  - {problem}" for problem in problems)
    return f"no contract written: {source} has columns no contract can use as they are:\n{listed}"


def command_line(source: Path, options: InferenceOptions) -> str:
    """The `contract infer` command that OPTIONS stand for."""
    parts = [
        f"{_PACKAGE} contract infer {source.as_posix()}",
        f"--identifier {options.identifier}",
        f"--label {options.label}",
    ]
    if options.label_kind is not None:
        parts.append(f"--label-kind {options.label_kind}")
    if options.positive_class is not None:
        parts.append(f"--positive-class {options.positive_class}")
    parts += [f"--exclude {name}" for name in options.exclude]
    if options.margin != InferenceOptions.margin:
        parts.append(f"--margin {options.margin}")
    if options.max_categories != InferenceOptions.max_categories:
        parts.append(f"--max-categories {options.max_categories}")
    return " ".join(parts)


def infer_and_write(
    source: Path, output: Path, options: InferenceOptions, *, force: bool
) -> tuple[InferredContract, str]:
    """Infer the contract of SOURCE and write it to OUTPUT; return it and "written"/"unchanged"."""
    inferred = infer_contract(source, options)
    provenance = (
        f"Written by `{command_line(source, options)}` from {inferred.rows} rows. Edit it "
        "freely: contract infer then replaces it only with --force."
    )
    text = render_contract(inferred.contract, provenance)
    return inferred, write_contract_source(output, text, force=force)


def _shown(path: Path) -> str:
    """PATH relative to the working directory when it is inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def report(inferred: InferredContract, output: Path, outcome: str) -> str:
    """What `contract infer` prints: the decision on each column, and what to do next."""
    contract = inferred.contract
    output_shown = _shown(output)
    if outcome == "unchanged":
        head = f"{output_shown} already holds this contract (version {contract.version})"
    else:
        head = f"wrote {output_shown} (contract version {contract.version})"
    lines = [
        f"{head}, from {inferred.source} ({inferred.rows} rows):",
        *(f"  {decision}" for decision in inferred.decisions),
        "ranges: each observed range widened by the margin (10% of its span by default) on each "
        "side, not below 0 if no value is negative, within [0, 1] if every value is, rounded "
        "outward (3 significant digits of the span; whole numbers for integers)",
        f"next: point the pipeline at {inferred.source} (README, Bring your own data), then "
        "`uv run dvc repro` retrains on this contract",
    ]
    return "\n".join(lines)
