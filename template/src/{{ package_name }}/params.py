"""params.yaml, validated: a wrong value is named by its key before any work starts."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ParamsError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class SampleParams(_Section):
    seed: int = Field(ge=0)
    rows: int = Field(ge=100, le=50_000_000)


class SnapshotParams(_Section):
    """The sql source's snapshot: QUERY selects the rows, bounded by `:as_of`, bound to AS_OF."""

    query: str = Field(min_length=1)
    as_of: str

    @field_validator("as_of", mode="before")
    @classmethod
    def _quoted(cls, value: object) -> object:
        if not isinstance(value, str):
            kind = type(value).__name__
            msg = f'write it quoted, e.g. "2026-11-01" (YAML read {value!r} as a {kind})'
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _bounded_query(self) -> SnapshotParams:
        if not re.search(r"(?<![:\w]):as_of\b", self.query):
            msg = (
                "snapshot.query has no :as_of bound, so every run could read different rows: "
                "add a condition such as `WHERE created_at < :as_of` (the value is snapshot.as_of)"
            )
            raise ValueError(msg)
        try:
            datetime.fromisoformat(self.as_of)
        except ValueError as error:
            msg = (
                f"snapshot.as_of {self.as_of!r} is not an ISO 8601 date or time: write it "
                'quoted, e.g. "2026-11-01" or "2026-11-01T00:00:00"'
            )
            raise ValueError(msg) from error
        return self


class PrepareParams(_Section):
    seed: int = Field(ge=0)
    validation_fraction: float = Field(gt=0, lt=0.5)
    test_fraction: float = Field(gt=0, lt=0.5)


class ModelParams(_Section):
    embedding_dim: int = Field(ge=1, le=512)
    hidden_units: int = Field(ge=1, le=4096)


class TrainParams(_Section):
    seed: int = Field(ge=0)
    epochs: int = Field(ge=1)
    min_steps: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    learning_rate: float = Field(gt=0, le=1)
    weight_decay: float = Field(ge=0)
    positive_class_weight: float = Field(gt=0)
    checkpoint_every_steps: int = Field(ge=1)
    keep_checkpoints: int = Field(ge=1)
    log_every_steps: int = Field(ge=1)
    num_workers: int = Field(ge=0)
    cpu_threads: int = Field(ge=1, le=256)
    device: Literal["auto", "cpu", "cuda"]
    cuda_memory_fraction: float = Field(gt=0, le=1)
    decision_threshold: float = Field(gt=0, lt=1)
    deterministic: bool
    drift_reference_rows: int = Field(ge=100, le=1_000_000)


class EvaluateParams(_Section):
    batch_size: int = Field(ge=1)
    roc_bins: int = Field(ge=10, le=100_000)


class GoldenParams(_Section):
    rows: int = Field(ge=1, le=10_000)


class PipelineParams(_Section):
    sample: SampleParams | None = None  # the demo data source's; a project's own source has none
    snapshot: SnapshotParams | None = None  # the sql source's query and bound
    prepare: PrepareParams
    model: ModelParams
    train: TrainParams
    evaluate: EvaluateParams
    golden: GoldenParams

    @model_validator(mode="after")
    def _splits_leave_training_rows(self) -> PipelineParams:
        if self.prepare.validation_fraction + self.prepare.test_fraction >= 0.5:
            msg = "prepare.validation_fraction + prepare.test_fraction must stay below 0.5"
            raise ValueError(msg)
        return self


class _ParamsLoader(yaml.SafeLoader):
    """YAML 1.1 reads `1e-3` (no decimal point) as a string; parameters mean a float."""


_ParamsLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "missing":
        return f"{key}: missing"
    if error["type"] == "extra_forbidden":
        return f"{key}: not a known parameter"
    return f"{key}: {error['msg']} (got {error['input']!r})"


def load_params(path: Path) -> PipelineParams:
    """Read and validate params.yaml; every problem is reported with its dotted key."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_ParamsLoader)  # noqa: S506
    except OSError as error:
        msg = f"cannot read {path}: {error.strerror}; run from the project root or pass --params"
        raise ParamsError(msg) from error
    except yaml.YAMLError as error:
        msg = f"{path} is not valid YAML: {error}"
        raise ParamsError(msg) from error
    try:
        return PipelineParams.model_validate(raw)
    except ValidationError as error:
        problems = "\n".join(f"  - {_describe(dict(item))}" for item in error.errors())
        msg = f"{path} has invalid parameters:\n{problems}\nfix the values in {path}"
        raise ParamsError(msg) from error
