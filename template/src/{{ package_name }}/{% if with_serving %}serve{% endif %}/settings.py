"""What a service instance needs to know, validated once; workers read it from the environment."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..errors import ProjectError

# Where uvicorn workers share metric values (prometheus_client reads it on import).
MULTIPROCESS_DIRECTORY_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
SETTINGS_VARIABLE = __name__.split(".", 1)[0].upper() + "_SERVICE_SETTINGS"


class ServiceSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    model_directory: Path = Path("models")
    golden_path: Path | None = None  # default: MODEL_DIRECTORY/golden.json
    drift_reference_path: Path | None = None  # default: MODEL_DIRECTORY/drift_reference.parquet
    weights_uri: str | None = None  # default: the file URI of the weights
    device: Literal["auto", "cpu", "cuda"] = "auto"
    cuda_memory_fraction: float = Field(default=0.5, gt=0, le=1)
    torch_threads: int = Field(default=1, ge=1, le=256)
    max_batch_rows: int = Field(default=1024, ge=1)  # rows of waiting requests scored together
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    readiness_interval_seconds: float = Field(default=10.0, gt=0)
    readiness_latency_budget_seconds: float = Field(default=0.25, gt=0)
    golden_tolerance: float = Field(default=1e-4, ge=0)
    breaker_threshold: int = Field(default=5, ge=1)
    breaker_open_seconds: float = Field(default=30.0, gt=0)
    drift_window_rows: int = Field(default=1000, ge=10)
    drain_seconds: float = Field(default=5.0, ge=0)
    graceful_timeout_seconds: float = Field(default=10.0, gt=0)

    @property
    def resolved_golden_path(self) -> Path:
        return self.golden_path or self.model_directory / "golden.json"

    @property
    def resolved_drift_reference_path(self) -> Path:
        return self.drift_reference_path or self.model_directory / "drift_reference.parquet"

    def to_environment(self) -> None:
        os.environ[SETTINGS_VARIABLE] = self.model_dump_json()

    @classmethod
    def from_environment(cls) -> ServiceSettings:
        raw = os.environ.get(SETTINGS_VARIABLE)
        if raw is None:
            return cls()
        try:
            return cls.model_validate_json(raw)
        except ValidationError as error:
            msg = f"{SETTINGS_VARIABLE} does not hold valid service settings: {error}"
            raise ProjectError(msg) from error
