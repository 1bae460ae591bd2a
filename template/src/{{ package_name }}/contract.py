"""The language a feature contract is written in, and the checks that refuse one that cannot work.

`features.py` declares this project's contract with these types. A contract is checked when it is
built, so a contract that cannot work stops every command at import, before any data moves, with
each problem named.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .errors import ContractError

ClassValue = int | str
CONTRACT_FILE = "features.py"
_EXACT_INTEGERS = 2**53  # float64 represents every whole number below it
_PACKAGE = __name__.split(".", 1)[0]


@dataclass(frozen=True)
class NumericFeature:
    """A real number within [minimum, maximum]."""

    name: str
    minimum: float
    maximum: float
    description: str = ""
    kind: ClassVar[str] = "numeric"


@dataclass(frozen=True)
class IntegerFeature:
    """A whole number within [minimum, maximum] (a count, a rank, a year)."""

    name: str
    minimum: int
    maximum: int
    description: str = ""
    kind: ClassVar[str] = "integer"


@dataclass(frozen=True)
class CategoricalFeature:
    """One of a fixed list of text values; anything else is refused, never guessed."""

    name: str
    categories: tuple[str, ...]
    description: str = ""
    kind: ClassVar[str] = "categorical"


Feature = NumericFeature | IntegerFeature | CategoricalFeature
RangedFeature = NumericFeature | IntegerFeature


@dataclass(frozen=True)
class BinaryLabel:
    """Two classes, (negative, positive); the model gives the probability of the positive one."""

    name: str
    classes: tuple[ClassValue, ClassValue] = (0, 1)
    description: str = ""
    kind: ClassVar[str] = "binary"


@dataclass(frozen=True)
class MulticlassLabel:
    """One of two or more named classes; the model gives a probability for each."""

    name: str
    classes: tuple[ClassValue, ...]
    description: str = ""
    kind: ClassVar[str] = "multiclass"


@dataclass(frozen=True)
class RegressionLabel:
    """A real number within [minimum, maximum]; the model gives a value."""

    name: str
    minimum: float
    maximum: float
    description: str = ""
    kind: ClassVar[str] = "regression"


Label = BinaryLabel | MulticlassLabel | RegressionLabel
ClassLabel = BinaryLabel | MulticlassLabel


@dataclass(frozen=True)
class FeatureContract:
    """What one row of the data is: an identifier, the features in order, and the label.

    IGNORED names columns a data file may hold that are none of these (a free-text note, a
    timestamp): `prepare` drops them. Any other column the contract does not name is refused.
    """

    identifier: str
    features: tuple[Feature, ...]
    label: Label
    ignored: tuple[str, ...] = ()
    version: str = field(init=False)

    def __post_init__(self) -> None:
        problems = contract_problems(self)
        if problems:
            raise ContractError(describe_problems(problems))
        canonical = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        object.__setattr__(self, "version", hashlib.sha256(canonical.encode()).hexdigest()[:16])

    @property
    def numeric(self) -> tuple[RangedFeature, ...]:
        """Numeric and integer features, in contract order: the model sees them scaled to [0, 1]."""
        return tuple(f for f in self.features if isinstance(f, NumericFeature | IntegerFeature))

    @property
    def categorical(self) -> tuple[CategoricalFeature, ...]:
        return tuple(f for f in self.features if isinstance(f, CategoricalFeature))

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Every column of a labelled data file, in file order."""
        return (self.identifier, *self.feature_names, self.label.name)

    def as_dict(self) -> dict[str, Any]:
        """Everything that changes what the model sees or says (descriptions and ignored
        columns do not)."""
        return {
            "identifier": self.identifier,
            "features": [_feature_dict(feature) for feature in self.features],
            "label": _label_dict(self.label),
        }


def _feature_dict(feature: Feature) -> dict[str, Any]:
    if isinstance(feature, CategoricalFeature):
        return {"kind": feature.kind, "name": feature.name, "categories": list(feature.categories)}
    # 0 and 0.0 bound a real feature alike: the version must not tell them apart.
    convert = int if isinstance(feature, IntegerFeature) else float
    return {
        "kind": feature.kind,
        "name": feature.name,
        "minimum": convert(feature.minimum),
        "maximum": convert(feature.maximum),
    }


def _label_dict(label: Label) -> dict[str, Any]:
    if isinstance(label, RegressionLabel):
        return {
            "kind": label.kind,
            "name": label.name,
            "minimum": float(label.minimum),
            "maximum": float(label.maximum),
        }
    return {"kind": label.kind, "name": label.name, "classes": list(label.classes)}


def declared_contract(declared: object) -> FeatureContract:
    """FEATURE_CONTRACT as features.py declares it, if it is written in this module's types."""
    if isinstance(declared, FeatureContract):
        return declared
    msg = (
        f"src/{_PACKAGE}/{CONTRACT_FILE} declares FEATURE_CONTRACT as a "
        f"{type(declared).__module__}.{type(declared).__name__}, not with the types of "
        f"contract.py (the form before label kinds): rewrite it in the form contract.py "
        f"documents, or write it from your data with `{_PACKAGE} contract infer DATA "
        "--identifier COLUMN --label COLUMN --force`"
    )
    raise ContractError(msg)


def describe_problems(problems: list[str]) -> str:
    listed = "\n".join(f"  - {problem}" for problem in problems)
    return (
        f"the feature contract (src/{_PACKAGE}/{CONTRACT_FILE}) cannot work:\n{listed}\n"
        f"fix FEATURE_CONTRACT in {CONTRACT_FILE}, or write it from a data file with "
        f"`{_PACKAGE} contract infer DATA --identifier COLUMN --label COLUMN`"
    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _name_problem(what: str, name: object) -> str | None:
    if not isinstance(name, str) or not name:
        return f"{what} name {name!r} must be a non-empty string"
    if any(ord(character) < 32 for character in name):
        return f"{what} name {name!r} holds a control character (a newline or a tab)"
    return None


def _range_problems(what: str, minimum: object, maximum: object, *, whole: bool) -> list[str]:
    accepted, noun = (_is_whole, "whole numbers") if whole else (_is_number, "numbers")
    if not accepted(minimum) or not accepted(maximum):
        return [f"{what}: minimum and maximum must be {noun}, got {minimum!r} and {maximum!r}"]
    low, high = float(minimum), float(maximum)  # type: ignore[arg-type]
    checks = (
        (
            not (math.isfinite(low) and math.isfinite(high)),
            f"{what}: minimum and maximum must be finite, got {minimum!r} and {maximum!r}",
        ),
        (low > high, f"{what}: minimum {minimum!r} is above maximum {maximum!r}; swap them"),
        (
            low == high,
            f"{what}: minimum and maximum are both {minimum!r}, so the range holds one value; "
            "a constant carries no information: drop it, or widen the range",
        ),
        (
            whole and max(abs(low), abs(high)) >= _EXACT_INTEGERS,
            f"{what}: whole numbers from 2**53 on cannot all be told apart once scaled for the "
            "model; store them in a coarser unit (seconds, not nanoseconds)",
        ),
        (
            not math.isfinite(high - low),
            f"{what}: the range {minimum!r} to {maximum!r} is too wide to scale",
        ),
    )
    return next(([message] for failed, message in checks if failed), [])


def _feature_problems(position: int, feature: object) -> list[str]:
    if not isinstance(feature, NumericFeature | IntegerFeature | CategoricalFeature):
        return [
            f"features[{position}] is {type(feature).__name__} {feature!r}: declare each feature "
            "as NumericFeature, IntegerFeature or CategoricalFeature"
        ]
    problems = [p for p in [_name_problem("a feature", feature.name)] if p]
    what = f"feature {feature.name!r}"
    if isinstance(feature, CategoricalFeature):
        categories = feature.categories
        if not isinstance(categories, tuple | list) or not categories:
            problems.append(f"{what}: the category list is empty; list every allowed value")
        elif not all(isinstance(category, str) for category in categories):
            problems.append(f"{what}: categories must be strings, got {list(categories)!r}")
        elif len(categories) == 1:
            problems.append(
                f"{what}: one category only ({categories[0]!r}) is a constant, which carries no "
                "information: drop the feature, or list the other values it takes"
            )
        else:
            repeated = sorted(c for c, count in Counter(categories).items() if count > 1)
            if repeated:
                problems.append(f"{what}: categories {repeated!r} are listed more than once")
    else:
        whole = isinstance(feature, IntegerFeature)
        problems += _range_problems(what, feature.minimum, feature.maximum, whole=whole)
    return problems


def _class_problems(label: ClassLabel) -> list[str]:
    what = f"label {label.name!r} ({label.kind})"
    classes: Any = label.classes  # as written, which may not be what the type says
    if not isinstance(classes, tuple | list):
        return [f"{what}: classes must be a tuple of values, got {classes!r}"]
    expected = 2 if isinstance(label, BinaryLabel) else None
    if expected is not None and len(classes) != expected:
        return [
            f"{what}: a binary label has exactly two classes (negative, positive), got "
            f"{list(classes)!r}; declare MulticlassLabel for more"
        ]
    if len(classes) < 2:
        return [f"{what}: at least two classes are needed, got {list(classes)!r}"]
    if not (all(_is_whole(c) for c in classes) or all(isinstance(c, str) for c in classes)):
        return [f"{what}: classes must be all integers or all strings, got {list(classes)!r}"]
    repeated = sorted(str(c) for c, count in Counter(classes).items() if count > 1)
    if repeated:
        return [f"{what}: classes {repeated} are listed more than once"]
    return []


def _label_problems(label: object) -> list[str]:
    if not isinstance(label, BinaryLabel | MulticlassLabel | RegressionLabel):
        return [
            f"label is {type(label).__name__} {label!r}: declare it as BinaryLabel, "
            "MulticlassLabel or RegressionLabel, e.g. label=BinaryLabel('converted')"
        ]
    problems = [p for p in [_name_problem("the label", label.name)] if p]
    if isinstance(label, RegressionLabel):
        what = f"label {label.name!r} (regression)"
        return problems + _range_problems(what, label.minimum, label.maximum, whole=False)
    return problems + _class_problems(label)


def _hashable_name(feature: object) -> str | None:
    name = getattr(feature, "name", None)
    return name if isinstance(name, str) or name is None else repr(name)


def contract_problems(contract: FeatureContract) -> list[str]:
    """Every reason CONTRACT cannot work; empty when it can."""
    problems = [p for p in [_name_problem("the identifier", contract.identifier)] if p]
    features = contract.features
    if not isinstance(features, tuple | list) or not features:
        problems.append("no features: declare at least one in `features=(...)`")
        features = ()
    for position, feature in enumerate(features):
        problems += _feature_problems(position, feature)
    problems += _label_problems(contract.label)
    names = [_hashable_name(feature) for feature in features]
    for name, count in Counter(names).items():
        if count > 1:
            problems.append(f"feature name {name!r} is declared {count} times")
    label_name = getattr(contract.label, "name", None)
    if contract.identifier in names:
        problems.append(
            f"the identifier {contract.identifier!r} is also listed as a feature; an identifier "
            "says which row it is, never what the row is: remove it from the features"
        )
    if label_name in names:
        problems.append(
            f"the label {label_name!r} is also listed as a feature: the model would be given "
            "the answer; remove it from the features"
        )
    if label_name is not None and label_name == contract.identifier:
        problems.append(f"the identifier and the label are both {label_name!r}")
    return problems + _ignored_problems(contract, {contract.identifier, label_name, *names})


def _ignored_problems(contract: FeatureContract, used: set[str | None]) -> list[str]:
    ignored: Any = contract.ignored  # as written, which may not be what the type says
    if not isinstance(ignored, tuple | list) or not all(isinstance(n, str) for n in ignored):
        return [f"ignored must be a tuple of column names, got {ignored!r}"]
    clashing = sorted(name for name in ignored if name in used)
    if clashing:
        return [f"ignored columns {clashing} are also used by the contract: keep one"]
    return []
