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
from ..model.heads import HEAD, Head, label_names
from .drift_statistics import category_drift, ks_two_sample
from .metrics import ServiceMetrics

logger = logging.getLogger(__name__)

DEFAULT_WINDOW_ROWS = 1000


@dataclass(frozen=True)
class Observation:
    """What one request fed the model and what came out."""

    features: EncodedFeatures
    outputs: torch.Tensor  # the head's: (rows,) or (rows, classes)
    decisions: torch.Tensor | None  # class index per row, int64 (None for a regression label)

    @property
    def rows(self) -> int:
        return int(self.outputs.shape[0])


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
        head: Head = HEAD,
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
        self._head = head
        self._label_names = label_names(head)
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
            self._rows_in_open_window += observation.rows
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
        self._pending_rows += sum(o.rows for o in observations)
        if self._pending_rows < self.window_rows:
            return
        numeric = torch.cat([o.features.numeric for o in self._pending])
        categorical = torch.cat([o.features.categorical for o in self._pending])
        outputs = torch.cat([o.outputs for o in self._pending])
        decided = [o.decisions for o in self._pending if o.decisions is not None]
        decisions = torch.cat(decided) if decided else None
        cut = self.window_rows
        while numeric.shape[0] >= cut:
            window = Observation(
                EncodedFeatures(numeric[:cut], categorical[:cut]),
                outputs[:cut],
                None if decisions is None else decisions[:cut],
            )
            self._report_window(window)
            numeric, categorical, outputs = numeric[cut:], categorical[cut:], outputs[cut:]
            decisions = None if decisions is None else decisions[cut:]
        self._pending = [Observation(EncodedFeatures(numeric, categorical), outputs, decisions)]
        self._pending_rows = numeric.shape[0]

    def _report_window(self, window: Observation) -> None:
        metrics, version = self._metrics, self._model_version
        numeric, categorical = window.features.numeric, window.features.categorical
        as_float64 = numeric.to(torch.float64).numpy()
        for position, feature in enumerate(FEATURE_CONTRACT.numeric):
            test = ks_two_sample(self._reference_numeric[:, position], as_float64[:, position])
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
        primary = self._head.primary(window.outputs)
        for stage, values in (("input", numeric), ("output", primary)):
            if values.numel() == 0:  # a contract without numeric features has no input numbers
                continue
            as_float = values.to(torch.float64)
            metrics.tensor_mean.labels(stage).set(float(as_float.mean()))
            metrics.tensor_std.labels(stage).set(float(as_float.std()))
        if window.decisions is not None:
            predicted = np.bincount(window.decisions.numpy(), minlength=len(self._label_names))
            for name, count in zip(self._label_names, predicted.tolist(), strict=True):
                metrics.prediction_label_ratio.labels(name).set(count / window.rows)
        self.windows_completed += 1
