"""The FastAPI application: POST /predict, health, metrics. See DESIGN's serving contract."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import torch
from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError

from ..drift_reference import read_drift_reference
from ..model.weights import WEIGHTS_FILE, LoadedModel, load_model
from ..training.distributed import choose_device
from .batching import BatchScorer
from .drift import DriftMonitor, Observation
from .health import BreakerState, CircuitBreaker, ReadinessCheck, load_golden_set
from .lifecycle import Lifecycle, drain_on_sigterm
from .metrics import ServiceMetrics, forget_worker, render_metrics
from .middleware import RequestContextMiddleware
from .openapi import JSON, PREDICT_OPENAPI
from .predictor import ModelOverloadedError, Predictor
from .request_model import (
    ENVELOPE_FIELD,
    MAX_INSTANCES,
    PredictRequest,
    ReadinessResponse,
    RejectedField,
    rejected_fields,
)
from .settings import ServiceSettings

logger = logging.getLogger(__name__)

_OVERSIZED_BATCH = "too_long"


@dataclass(frozen=True)
class ModelIdentity:
    model_version: str
    git_sha: str
    weights_uri: str

    @classmethod
    def of(cls, loaded: LoadedModel, settings: ServiceSettings) -> ModelIdentity:
        sha = str(loaded.metadata.get("git_sha", "unknown"))
        if loaded.metadata.get("git_dirty"):
            sha += "-dirty"
        weights = (settings.model_directory / WEIGHTS_FILE).resolve().as_uri()
        return cls(loaded.model_version, sha, settings.weights_uri or weights)

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-model-version", self.model_version.encode()),
            (b"x-model-git-sha", self.git_sha.encode()),
            (b"x-model-weights-uri", self.weights_uri.encode()),
        ]


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status_code=status, media_type=JSON, headers=headers)


class Service:
    """Everything one process needs to answer requests; built once, before serving."""

    def __init__(
        self, settings: ServiceSettings, loaded: LoadedModel, metrics: ServiceMetrics
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.identity = ModelIdentity.of(loaded, settings)
        torch.set_num_threads(settings.torch_threads)
        self.predictor = Predictor(
            loaded,
            choose_device(settings.device, 0, setting="--device"),
            settings.cuda_memory_fraction,
        )
        self.scorer = BatchScorer(self.predictor, settings.max_batch_rows)
        golden = load_golden_set(
            settings.resolved_golden_path, self.predictor, loaded.model_version
        )
        self.readiness = ReadinessCheck(
            self.predictor,
            golden,
            settings.readiness_latency_budget_seconds,
            settings.golden_tolerance,
        )
        self.breaker = CircuitBreaker(
            settings.breaker_threshold, settings.breaker_open_seconds, self._breaker_changed
        )
        self.drift = DriftMonitor(
            read_drift_reference(settings.resolved_drift_reference_path),
            metrics,
            loaded.model_version,
            settings.drift_window_rows,
        )
        self.lifecycle = Lifecycle(on_drain=self.refresh_ready_gauge)
        metrics.model_info.labels(*vars(self.identity).values()).set(1)
        self.refresh_ready_gauge()

    @property
    def ready(self) -> bool:
        return (
            self.readiness.report.ready
            and not self.lifecycle.draining
            and self.breaker.state is BreakerState.CLOSED
        )

    def refresh_ready_gauge(self) -> None:
        self.metrics.model_ready.set(1 if self.ready else 0)

    def _breaker_changed(self, state: BreakerState) -> None:
        self.metrics.circuit_breaker_open.set(0 if state is BreakerState.CLOSED else 1)
        self.refresh_ready_gauge()

    async def check_readiness_periodically(self) -> None:
        await asyncio.sleep(0)  # let the server start accepting first
        self.readiness.warm_up()
        while True:
            self.readiness.run()
            self.refresh_ready_gauge()
            await asyncio.sleep(self.settings.readiness_interval_seconds)

    async def predict(self, body: bytes) -> Response:
        """Validate, encode, score: no tensor exists until every field has passed."""
        if not self.breaker.allow():
            return self._unavailable(
                "the circuit breaker is open after non-finite outputs",
                self.breaker.retry_after_seconds(),
            )
        try:
            request = PredictRequest.model_validate_json(body)
        except ValidationError as error:
            return self._reject(rejected_fields(error))
        try:
            scored_rows = await self.scorer.score(request.instances)
        except ModelOverloadedError:
            return self._unavailable("the accelerator is out of memory for this request", 1)
        scored = scored_rows.scored
        if not scored.all_finite:
            bad = int((~torch.isfinite(scored.outputs)).sum())
            self.metrics.tensor_nonfinite.labels("output").inc(bad)
            self.breaker.record_failure()
            return self._unavailable(
                "the model produced non-finite outputs; nothing was answered",
                self.breaker.retry_after_seconds(),
            )
        self.breaker.record_success()
        self.drift.observe(Observation(scored_rows.features, scored.outputs, scored.decisions))
        self.metrics.predictions.inc(len(request.instances))
        predictions = self.predictor.head.predictions(scored.outputs, scored.decisions)
        return _json(
            200, {"predictions": predictions, "model_version": self.identity.model_version}
        )

    def _reject(self, rejected: list[RejectedField]) -> Response:
        for problem in rejected:
            self.metrics.input_validation_failures.labels(problem.metric_field).inc()
            if problem.unknown_category_of is not None:
                self.metrics.unknown_categories.labels(problem.unknown_category_of).inc()
        errors = [{"field": problem.path, "reason": problem.reason} for problem in rejected]
        if any(p.path == ENVELOPE_FIELD and p.kind == _OVERSIZED_BATCH for p in rejected):
            detail = f"too many instances: send at most {MAX_INSTANCES} per request"
            return _json(413, {"detail": detail, "errors": errors})
        detail = "the request does not match the feature contract"
        return _json(400, {"detail": detail, "errors": errors})

    def _unavailable(self, detail: str, retry_after_seconds: int) -> Response:
        headers = {"Retry-After": str(retry_after_seconds)}
        return _json(503, {"detail": detail, "errors": []}, headers)


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it grows past LIMIT bytes (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _is_json(content_type: str | None) -> bool:
    return content_type is not None and content_type.split(";", 1)[0].strip().lower() == JSON


def create_app(settings: ServiceSettings, loaded: LoadedModel | None = None) -> Any:
    """The ASGI application: FastAPI wrapped in the request-context middleware.

    LOADED defaults to the model in settings.model_directory; tests pass their own.
    """
    metrics = ServiceMetrics()
    service = Service(settings, loaded or load_model(settings.model_directory), metrics)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Start-up's objects (torch, pandas, the model) live as long as the process. Frozen, the
        # cyclic collector stops walking them again at every full pass; each such pass would
        # otherwise stall the event loop for tens of milliseconds (the p99 latency).
        gc.collect()
        gc.freeze()
        service.drift.start()
        readiness = asyncio.create_task(service.check_readiness_periodically())
        restore_signals = drain_on_sigterm(service.lifecycle, settings.drain_seconds)
        try:
            yield
        finally:
            restore_signals()
            readiness.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await readiness
            service.drift.stop()
            forget_worker(os.getpid())
            gc.unfreeze()

    package = __name__.split(".", 1)[0]
    api = FastAPI(
        title=f"{package} model service",
        version=service.identity.model_version,
        lifespan=lifespan,
    )
    api.state.service = service
    limit = settings.max_body_bytes

    @api.post("/predict", openapi_extra=PREDICT_OPENAPI, response_model=None)
    async def predict(request: Request) -> Response:
        """Score instances; invalid input is refused with 400 before any tensor exists."""
        if not _is_json(request.headers.get("content-type")):
            service.metrics.input_validation_failures.labels("body").inc()
            return _json(415, {"detail": f"send the body as {JSON}", "errors": []})
        body = await _bounded_body(request, limit)
        if body is None:
            service.metrics.input_validation_failures.labels("body").inc()
            return _json(413, {"detail": f"the body is over {limit} bytes", "errors": []})
        return await service.predict(body)

    @api.get("/health/live")
    async def live() -> dict[str, str]:
        """The process answers; the model is not touched."""
        return {"status": "alive"}

    @api.get(
        "/health/ready",
        response_model=None,
        responses={
            200: {"model": ReadinessResponse, "description": "Ready."},
            503: {"model": ReadinessResponse, "description": "Not ready; the body says why."},
        },
    )
    async def ready() -> Response:
        """The cached result of the last golden-set check, with draining and the breaker."""
        ready = service.ready
        body = ReadinessResponse(
            status="ready" if ready else "not_ready",
            **service.readiness.report.as_dict(),
            draining=service.lifecycle.draining,
            circuit_breaker=service.breaker.state.value,
            model_version=service.identity.model_version,
        )
        return Response(body.model_dump_json(), status_code=200 if ready else 503, media_type=JSON)

    @api.get("/metrics", response_class=PlainTextResponse)
    async def prometheus_metrics() -> Response:
        """Prometheus text exposition (all workers' values)."""
        return Response(render_metrics(metrics), media_type=CONTENT_TYPE_LATEST)

    return RequestContextMiddleware(
        api,
        service.identity.headers(),
        {"model_version": service.identity.model_version, "git_sha": service.identity.git_sha},
        metrics,
    )


def create_app_from_environment() -> Any:
    """uvicorn's factory for worker processes: settings come from the environment."""
    return create_app(ServiceSettings.from_environment())
