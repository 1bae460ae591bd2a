"""The service's Prometheus metrics: names and labels are a contract with dashboards and alerts.

Under `serve` every uvicorn worker writes to PROMETHEUS_MULTIPROC_DIR and `/metrics` adds the
workers up; a service built in-process (tests) keeps its own registry.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)

from .settings import MULTIPROCESS_DIRECTORY_VARIABLE

# `*_created` series double the exposition and no rule or panel reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServiceMetrics:
    """Every metric the service exports, registered on one registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.prediction_latency = Histogram(
            "prediction_latency_seconds",
            "Time from request received to response ready, for POST /predict.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.prediction_requests = Counter(
            "prediction_requests",
            "POST /predict responses by HTTP status code.",
            ["status"],
            registry=r,
        )
        self.predictions = Counter("predictions", "Rows answered with a prediction.", registry=r)
        self.input_validation_failures = Counter(
            "input_validation_failures",
            "Rejected request fields, by feature name (or instances/body for the envelope).",
            ["field"],
            registry=r,
        )
        self.unknown_categories = Counter(
            "unknown_category",
            "Values of a categorical feature outside the feature contract.",
            ["feature_name"],
            registry=r,
        )
        self.tensor_nonfinite = Counter(
            "tensor_nonfinite",
            "NaN or infinite tensor elements at the model's input or output.",
            ["stage"],
            registry=r,
        )
        self.tensor_mean = Gauge(
            "tensor_mean",
            "Mean of the model's input or output tensor over the last drift window.",
            ["stage"],
            registry=r,
            multiprocess_mode="livemostrecent",
        )
        self.tensor_std = Gauge(
            "tensor_std",
            "Standard deviation of the model's input or output tensor over the last drift window.",
            ["stage"],
            registry=r,
            multiprocess_mode="livemostrecent",
        )
        self.prediction_label_ratio = Gauge(
            "prediction_label_ratio",
            "Share of each predicted label over the last drift window.",
            ["label"],
            registry=r,
            multiprocess_mode="livemostrecent",
        )
        self.feature_drift_score = Gauge(
            "feature_drift_score",
            "Drift of a feature over the last window against the training reference: "
            "KS statistic (numeric) or total variation distance (categorical), in [0, 1].",
            ["feature_name", "model_version"],
            registry=r,
            multiprocess_mode="livemostrecent",
        )
        self.feature_drift_p_value = Gauge(
            "feature_drift_p_value",
            "p-value of the drift test: two-sample KS (numeric) or chi-square (categorical).",
            ["feature_name", "model_version"],
            registry=r,
            multiprocess_mode="livemostrecent",
        )
        self.model_info = Gauge(
            "model_info",
            "The model being served (always 1).",
            ["model_version", "git_sha", "weights_uri"],
            registry=r,
            multiprocess_mode="livemax",
        )
        self.model_ready = Gauge(
            "model_ready",
            "1 when the last golden-set check passed and the service takes traffic, else 0.",
            registry=r,
            multiprocess_mode="livemin",
        )
        self.circuit_breaker_open = Gauge(
            "circuit_breaker_open",
            "1 while non-finite outputs have opened the circuit breaker, else 0.",
            registry=r,
            multiprocess_mode="livemax",
        )
        # Series that exist at 0 from the start: rate() and increase() then see the first event.
        for status in ("200", "400", "413", "415", "503"):
            self.prediction_requests.labels(status)
        for stage in ("input", "output"):
            self.tensor_nonfinite.labels(stage)


def render_metrics(metrics: ServiceMetrics) -> bytes:
    """The Prometheus text exposition: every worker's values when several workers serve."""
    if os.environ.get(MULTIPROCESS_DIRECTORY_VARIABLE):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
    return generate_latest(metrics.registry)


def forget_worker(pid: int) -> None:
    """Drop a stopped worker's live gauges so they no longer count."""
    if os.environ.get(MULTIPROCESS_DIRECTORY_VARIABLE):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
