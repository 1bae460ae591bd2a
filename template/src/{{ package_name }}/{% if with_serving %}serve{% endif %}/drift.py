"""Drift and tensor statistics over tumbling windows of live rows, computed off the request path.

The request path only appends the tensors it already has to a list; once the stream has filled a
window, it hands the list to a background thread, which cuts windows of exactly `window_rows`
rows and updates the gauges once per window. Waking that thread once per window, not once per
request, keeps thread switches (and the GIL) off the request path.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..features import FEATURE_CONTRACT
from ..model.encoding import EncodedFeatures, encode_features
from .drift_statistics import category_drift, ks_two_sample
from .metrics import ServiceMetrics

logger = logging.getLogger(__name__)

DEFAULT_WINDOW_ROWS = 1000


@dataclass(frozen=True)
class Observation:
    """What one request fed the model and what came out."""

    features: EncodedFeatures
    probabilities: torch.Tensor  # float, (rows,)
    labels: torch.Tensor  # int64, (rows,)


class _Flush:
    """A marker: every observation before it has been counted once it is reached."""

    def __init__(self) -> None:
        self.done = threading.Event()


_STOP = object()


class DriftMonitor:
    """Windows live rows, compares them with the training reference, and sets the gauges."""

    def __init__(
        self,
        reference: pd.DataFrame,
        metrics: ServiceMetrics,
        model_version: str,
        window_rows: int = DEFAULT_WINDOW_ROWS,
    ) -> None:
        encoded = encode_features(reference)
        self._reference_numeric = encoded.numeric.to(torch.float64).numpy()
        self._reference_counts = [
            np.bincount(
                encoded.categorical[:, position].numpy(), minlength=len(feature.categories)
            ).astype(np.float64)
            for position, feature in enumerate(FEATURE_CONTRACT.categorical)
        ]
        self._metrics = metrics
        self._model_version = model_version
        self.window_rows = window_rows
        self.windows_completed = 0
        # Request side: observations not yet handed over, and the rows of the stream since the
        # last window boundary (those in the thread's carry included).
        self._lock = threading.Lock()
        self._observed: list[Observation] = []
        self._rows_in_open_window = 0
        # Thread side: rows handed over that did not fill a window yet.
        self._pending: list[Observation] = []
        self._pending_rows = 0
        self._queue: queue.SimpleQueue[list[Observation] | _Flush | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="drift-monitor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(_STOP)
        self._thread.join()

    def observe(self, observation: Observation) -> None:
        """Called on the request path: an append; a hand-over once the stream fills a window."""
        with self._lock:
            self._observed.append(observation)
            self._rows_in_open_window += observation.labels.shape[0]
            if self._rows_in_open_window < self.window_rows:
                return
            self._rows_in_open_window %= self.window_rows
            handed_over, self._observed = self._observed, []
        self._queue.put(handed_over)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything observed so far is counted (complete windows only).

        Rows still on the request side never complete a window: they are handed over as soon
        as they do."""
        marker = _Flush()
        self._queue.put(marker)
        return marker.done.wait(timeout)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, _Flush):
                item.done.set()
            elif isinstance(item, list):
                try:
                    self._add(item)
                except Exception:  # the monitor must never take the service down
                    logger.exception("drift window failed")

    def _add(self, observations: list[Observation]) -> None:
        self._pending.extend(observations)
        self._pending_rows += sum(o.labels.shape[0] for o in observations)
        if self._pending_rows < self.window_rows:
            return
        numeric = torch.cat([o.features.numeric for o in self._pending])
        categorical = torch.cat([o.features.categorical for o in self._pending])
        probabilities = torch.cat([o.probabilities for o in self._pending])
        labels = torch.cat([o.labels for o in self._pending])
        cut = self.window_rows
        while numeric.shape[0] >= cut:
            self._report_window(numeric[:cut], categorical[:cut], probabilities[:cut], labels[:cut])
            numeric, categorical = numeric[cut:], categorical[cut:]
            probabilities, labels = probabilities[cut:], labels[cut:]
        self._pending = [Observation(EncodedFeatures(numeric, categorical), probabilities, labels)]
        self._pending_rows = numeric.shape[0]

    def _report_window(
        self,
        numeric: torch.Tensor,
        categorical: torch.Tensor,
        probabilities: torch.Tensor,
        labels: torch.Tensor,
    ) -> None:
        metrics, version = self._metrics, self._model_version
        window = numeric.to(torch.float64).numpy()
        for position, feature in enumerate(FEATURE_CONTRACT.numeric):
            test = ks_two_sample(self._reference_numeric[:, position], window[:, position])
            metrics.feature_drift_score.labels(feature.name, version).set(test.score)
            metrics.feature_drift_p_value.labels(feature.name, version).set(test.p_value)
        for position, categorical_feature in enumerate(FEATURE_CONTRACT.categorical):
            counts = np.bincount(
                categorical[:, position].numpy(), minlength=len(categorical_feature.categories)
            ).astype(np.float64)
            test = category_drift(self._reference_counts[position], counts)
            metrics.feature_drift_score.labels(categorical_feature.name, version).set(test.score)
            metrics.feature_drift_p_value.labels(categorical_feature.name, version).set(
                test.p_value
            )
        # Validated inputs are finite; a count here means the encoding broke that promise.
        metrics.tensor_nonfinite.labels("input").inc(int((~torch.isfinite(numeric)).sum()))
        for stage, values in (("input", numeric), ("output", probabilities)):
            as_float64 = values.to(torch.float64)
            metrics.tensor_mean.labels(stage).set(float(as_float64.mean()))
            metrics.tensor_std.labels(stage).set(float(as_float64.std()))
        positive_share = float(labels.to(torch.float64).mean())
        metrics.prediction_label_ratio.labels("1").set(positive_share)
        metrics.prediction_label_ratio.labels("0").set(1.0 - positive_share)
        self.windows_completed += 1
