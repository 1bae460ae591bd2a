"""The request and response bodies, derived from the feature contract (never written twice).

Validation is strict: no coercion of "0.5" to 0.5 or of true to 1, no extra fields, no NaN or
Infinity (the bare JSON literals are parsed, then refused by name), ranges and categories as
the contract says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ..features import FEATURE_CONTRACT, FeatureContract

MAX_INSTANCES = 1024
ENVELOPE_FIELD = "instances"
BODY_FIELD = "body"
UNKNOWN_FIELD = "unknown_field"


def build_instance_model(contract: FeatureContract) -> type[BaseModel]:
    """One row of features: the contract's names, types, ranges and categories."""
    fields: dict[str, Any] = {}
    for numeric in contract.numeric:
        fields[numeric.name] = (
            Annotated[
                float,
                Field(
                    ge=numeric.minimum,
                    le=numeric.maximum,
                    allow_inf_nan=False,
                    description=numeric.description,
                ),
            ],
            ...,
        )
    for categorical in contract.categorical:
        fields[categorical.name] = (
            Annotated[
                Literal[categorical.categories],
                Field(description=categorical.description),
            ],
            ...,
        )
    # allow_inf_nan lets the JSON parser read NaN/Infinity so that each field can refuse it.
    config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=True)
    model: type[BaseModel] = create_model("Instance", __config__=config, **fields)
    return model


Instance = build_instance_model(FEATURE_CONTRACT)


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    instances: list[Instance] = Field(  # type: ignore[valid-type]
        min_length=1, max_length=MAX_INSTANCES, description="Rows to score, in order."
    )


class Prediction(BaseModel):
    probability: float = Field(ge=0.0, le=1.0, description="Probability of conversion.")
    label: Literal[0, 1] = Field(description="1 when probability >= the decision threshold.")


class PredictResponse(BaseModel):
    predictions: list[Prediction]
    model_version: str


class FieldProblem(BaseModel):
    field: str = Field(description="Path of the offending value, e.g. instances[3].country.")
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
    golden_max_abs_error: float | None
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
