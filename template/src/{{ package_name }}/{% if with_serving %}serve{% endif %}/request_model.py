"""The request and response bodies, derived from the feature contract (never written twice).

Validation is strict: no coercion of "0.5" to 0.5 or of true to 1, no extra fields, no NaN or
Infinity (the bare JSON literals are parsed, then refused by name), ranges and categories as
the contract says.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from ..contract import (
    BinaryLabel,
    CategoricalFeature,
    FeatureContract,
    IntegerFeature,
    Label,
    MulticlassLabel,
    declared_contract,
)
from ..features import FEATURE_CONTRACT

MAX_INSTANCES = 1024
ENVELOPE_FIELD = "instances"
BODY_FIELD = "body"
UNKNOWN_FIELD = "unknown_field"


def _usable_as_attribute(name: str) -> bool:
    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith(("_", "model_"))
        and not hasattr(BaseModel, name)
    )


def instance_attributes(contract: FeatureContract) -> dict[str, str]:
    """Feature name -> the attribute a validated row holds it in: the name itself when Python
    and pydantic allow it, else `feature_<position>` (the JSON keeps the name, as an alias)."""
    taken = {f.name for f in contract.features if _usable_as_attribute(f.name)}
    attributes = {}
    for position, feature in enumerate(contract.features):
        attribute = feature.name
        if attribute not in taken:
            attribute = f"feature_{position}"
            while attribute in taken:
                attribute += "_"
            taken.add(attribute)
        attributes[feature.name] = attribute
    return attributes


def _whole_number(value: object) -> object:
    """2009.0 is the integer 2009, as JSON Schema says; 2009.5, "2009" and true are refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _field_type(feature: Any) -> Any:
    if isinstance(feature, CategoricalFeature):
        return Literal[tuple(feature.categories)]
    if isinstance(feature, IntegerFeature):
        # The bounds before the validator: JSON Schema then names them minimum and maximum.
        return Annotated[
            int, Field(ge=feature.minimum, le=feature.maximum), BeforeValidator(_whole_number)
        ]
    return Annotated[float, Field(ge=feature.minimum, le=feature.maximum, allow_inf_nan=False)]


def build_instance_model(contract: FeatureContract) -> type[BaseModel]:
    """One row of features: the contract's names, types, ranges and categories."""
    attributes = instance_attributes(contract)
    fields: dict[str, Any] = {}
    for feature in contract.features:
        attribute = attributes[feature.name]
        alias = None if attribute == feature.name else feature.name
        fields[attribute] = (
            Annotated[_field_type(feature), Field(description=feature.description, alias=alias)],
            ...,
        )
    # allow_inf_nan lets the JSON parser read NaN/Infinity so that each field can refuse it.
    config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=True)
    model: type[BaseModel] = create_model("Instance", __config__=config, **fields)
    return model


INSTANCE_ATTRIBUTES = instance_attributes(declared_contract(FEATURE_CONTRACT))
Instance = build_instance_model(FEATURE_CONTRACT)


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    instances: list[Instance] = Field(  # type: ignore[valid-type]
        min_length=1, max_length=MAX_INSTANCES, description="Rows to score, in order."
    )


def build_prediction_model(label: Label) -> type[BaseModel]:
    """One prediction, as the label kind writes it (see model/heads.py)."""
    probability = Annotated[float, Field(ge=0.0, le=1.0)]
    if isinstance(label, BinaryLabel):
        fields: dict[str, Any] = {
            "probability": (
                probability,
                Field(description=f"Probability that {label.name} is {label.classes[1]!r}."),
            ),
            "label": (
                Literal[tuple(label.classes)],
                Field(description="The positive class when probability >= the threshold."),
            ),
        }
    elif isinstance(label, MulticlassLabel):
        per_class_fields: dict[str, Any] = {
            f"class_{position}": (probability, Field(alias=str(value)))
            for position, value in enumerate(label.classes)
        }
        per_class = create_model(
            "ClassProbabilities", __config__=ConfigDict(extra="forbid"), **per_class_fields
        )
        fields = {
            "label": (Literal[tuple(label.classes)], Field(description="The likeliest class.")),
            "probabilities": (per_class, Field(description="Probability of each class.")),
        }
    else:
        fields = {
            "value": (
                float,
                Field(description=f"Predicted {label.name}, in its own units."),
            )
        }
    model: type[BaseModel] = create_model("Prediction", **fields)
    return model


Prediction = build_prediction_model(FEATURE_CONTRACT.label)


class PredictResponse(BaseModel):
    predictions: list[Prediction]  # type: ignore[valid-type]
    model_version: str


class FieldProblem(BaseModel):
    field: str = Field(description="Path of the offending value, e.g. instances[3].age.")
    reason: str


class ErrorResponse(BaseModel):
    detail: str
    errors: list[FieldProblem] = Field(default_factory=list)


class ReadinessResponse(BaseModel):
    status: Literal["ready", "not_ready"]
    ready: bool = Field(description="The last golden-set check passed.")
    reason: str
    checked_at: float | None = Field(description="UNIX time of the last check.")
    golden_latency_ms: float | None
    golden_max_abs_error: float | None = Field(
        description="Largest difference of an output (probability, or value as a share of the "
        "label's range) from the golden set's."
    )
    draining: bool
    circuit_breaker: Literal["closed", "open", "half_open"]
    model_version: str


@dataclass(frozen=True)
class RejectedField:
    """One refused value: where it is, why, and the bounded label it is counted under."""

    path: str
    reason: str
    kind: str  # pydantic's error type, e.g. too_long
    metric_field: str
    unknown_category_of: str | None


def _path(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or BODY_FIELD


def rejected_fields(
    error: ValidationError, contract: FeatureContract = FEATURE_CONTRACT
) -> list[RejectedField]:
    """Each validation error as a field path and reason, with a metric label of bounded range."""
    categorical = {feature.name for feature in contract.categorical}
    features = set(contract.feature_names)
    rejected = []
    for problem in error.errors(include_url=False, include_input=False):
        location = tuple(problem["loc"])
        name = location[-1] if location else BODY_FIELD
        if name in features:
            metric_field = str(name)
        elif location == (ENVELOPE_FIELD,) or not location:
            metric_field = ENVELOPE_FIELD if location else BODY_FIELD
        else:
            metric_field = UNKNOWN_FIELD
        unknown_category = (
            name if name in categorical and problem["type"] == "literal_error" else None
        )
        rejected.append(
            RejectedField(
                _path(location), problem["msg"], problem["type"], metric_field, unknown_category
            )
        )
    return rejected
