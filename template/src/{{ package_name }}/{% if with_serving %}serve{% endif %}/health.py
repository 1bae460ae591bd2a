"""Health that tells the truth: a golden-set check behind readiness, and a circuit breaker."""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError

from ..errors import ModelArtifactError
from ..golden import read_golden_set
from ..model.encoding import EncodedFeatures
from .predictor import ModelOverloadedError, Predictor
from .request_model import Instance

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EncodedGoldenSet:
    """The golden rows encoded once, with the outputs the served model gave them when built."""

    ids: tuple[str, ...]
    features: EncodedFeatures
    outputs: torch.Tensor  # the head's outputs, float64, (rows, outputs per row)


def load_golden_set(path: Path, predictor: Predictor, model_version: str) -> EncodedGoldenSet:
    """Read, validate and encode the golden set; it must belong to the model being served."""
    golden = read_golden_set(path)
    try:
        # Row by row: the golden set may hold more rows than one request may.
        instances = [Instance.model_validate(case.instance) for case in golden.cases]
    except ValidationError as error:
        msg = f"{path} breaks the feature contract ({error}); rebuild it with `dvc repro golden`"
        raise ModelArtifactError(msg) from error
    if golden.model_version != model_version:
        msg = (
            f"{path} was recorded for model {golden.model_version}, "
            f"the service loads {model_version}; rebuild it with `dvc repro golden`"
        )
        raise ModelArtifactError(msg)
    return EncodedGoldenSet(
        ids=tuple(case.id for case in golden.cases),
        features=predictor.encode(instances),
        outputs=torch.tensor([case.outputs for case in golden.cases], dtype=torch.float64),
    )


@dataclass(frozen=True)
class ReadinessReport:
    ready: bool
    reason: str
    checked_at: float | None = None  # UNIX time of the check
    latency_seconds: float | None = None
    max_abs_error: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "reason": self.reason,
            "checked_at": self.checked_at,
            "golden_latency_ms": None
            if self.latency_seconds is None
            else round(self.latency_seconds * 1000, 3),
            "golden_max_abs_error": self.max_abs_error,
        }


WARMING_UP = ReadinessReport(False, "warming up: the golden set has not run yet")


class ReadinessCheck:
    """Runs the golden set through the model and judges the outputs and the time taken."""

    def __init__(
        self,
        predictor: Predictor,
        golden: EncodedGoldenSet,
        latency_budget_seconds: float,
        tolerance: float,
    ) -> None:
        self._predictor = predictor
        self._golden = golden
        self._budget = latency_budget_seconds
        self._tolerance = tolerance
        self.report = WARMING_UP

    def run(self) -> ReadinessReport:
        started = time.perf_counter()
        try:
            scored = self._predictor.score(self._golden.features)
        except ModelOverloadedError as error:
            return self._record(False, f"the golden set ran out of accelerator memory ({error})")
        latency = time.perf_counter() - started
        if not scored.all_finite:
            return self._record(False, "the golden set gave non-finite outputs", latency)
        expected = self._golden.outputs
        got = scored.outputs.to(torch.float64).reshape(expected.shape)
        errors = (got - expected).abs().flatten()
        worst = int(errors.argmax())
        max_error = float(errors[worst])
        if not math.isfinite(max_error) or max_error > self._tolerance:
            row = worst // expected.shape[1]
            reason = (
                f"golden case {self._golden.ids[row]} gave {float(got.flatten()[worst]):.6f}, "
                f"expected {float(expected.flatten()[worst]):.6f} (tolerance {self._tolerance})"
            )
            return self._record(False, reason, latency, max_error)
        if latency > self._budget:
            reason = (
                f"the golden set took {latency * 1000:.1f} ms, "
                f"over the {self._budget * 1000:.0f} ms budget"
            )
            return self._record(False, reason, latency, max_error)
        return self._record(True, "the golden set matched within budget", latency, max_error)

    def _record(
        self,
        ready: bool,
        reason: str,
        latency: float | None = None,
        max_error: float | None = None,
    ) -> ReadinessReport:
        self.report = ReadinessReport(ready, reason, time.time(), latency, max_error)
        if not ready:
            logger.warning("not ready", extra=self.report.as_dict())
        return self.report

    @property
    def golden(self) -> EncodedGoldenSet:
        return self._golden

    def warm_up(self) -> None:
        """One untimed pass, so lazy initialisation does not count against the budget."""
        with contextlib.suppress(ModelOverloadedError):  # the timed check reports it
            self._predictor.score(self._golden.features)


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after THRESHOLD consecutive failures; after OPEN_SECONDS lets one trial through."""

    def __init__(
        self,
        threshold: int,
        open_seconds: float,
        on_change: Callable[[BreakerState], None] = lambda _state: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._open_seconds = open_seconds
        self._on_change = on_change
        self._clock = clock
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self.state = BreakerState.CLOSED

    def allow(self) -> bool:
        if self.state is BreakerState.CLOSED:
            return True
        if (
            self.state is BreakerState.OPEN
            and self._clock() >= self._opened_at + self._open_seconds
        ):
            self._set(BreakerState.HALF_OPEN)
        if self.state is BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        self._failures = 0
        self._trial_in_flight = False
        if self.state is not BreakerState.CLOSED:
            self._set(BreakerState.CLOSED)

    def record_failure(self) -> None:
        self._failures += 1
        self._trial_in_flight = False
        if self.state is BreakerState.HALF_OPEN or self._failures >= self._threshold:
            self._opened_at = self._clock()
            self._set(BreakerState.OPEN)

    def retry_after_seconds(self) -> int:
        remaining = self._opened_at + self._open_seconds - self._clock()
        return max(1, math.ceil(remaining))

    def _set(self, state: BreakerState) -> None:
        if state is not self.state:
            logger.warning("circuit breaker %s", state.value, extra={"breaker": state.value})
            self.state = state
            self._on_change(state)
