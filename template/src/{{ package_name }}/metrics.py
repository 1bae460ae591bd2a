"""Metrics of the label kind the contract declares, accumulated batch by batch in fixed memory.

binary: AUC, accuracy, log loss (scores counted in `bins` equal-width bins, so AUC and the ROC
curve are exact for scores rounded down to a multiple of 1/bins); multiclass: accuracy, macro-F1,
log loss and the confusion matrix; regression: RMSE, MAE (in the label's units) and R².
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from .model.heads import BinaryHead, Head, MulticlassHead, RegressionHead

_CLIP = 1e-7


class Metrics(Protocol):
    """What evaluation and training's validation need of any label kind's metrics."""

    rows: int

    def observe(self, outputs: npt.NDArray[np.float64], labels: pd.Series) -> None:
        """Add a batch: the head's outputs and the label column's values, row for row."""

    def summary(self) -> dict[str, float]: ...

    def details(self) -> dict[str, Any]:
        """What metrics.json holds beside the summary (a confusion matrix)."""


@dataclass
class BinaryMetrics:
    threshold: float
    bins: int = 1000
    rows: int = 0
    correct: int = 0
    log_loss_sum: float = 0.0
    confusion: dict[str, int] = field(default_factory=lambda: {"tp": 0, "fp": 0, "tn": 0, "fn": 0})
    positives_per_bin: npt.NDArray[np.int64] = field(init=False)
    negatives_per_bin: npt.NDArray[np.int64] = field(init=False)

    head: BinaryHead | None = None  # maps label values to 0/1 in `observe`

    def __post_init__(self) -> None:
        self.positives_per_bin = np.zeros(self.bins, dtype=np.int64)
        self.negatives_per_bin = np.zeros(self.bins, dtype=np.int64)

    def observe(self, outputs: npt.NDArray[np.float64], labels: pd.Series) -> None:
        indices = self.head.class_indices(labels) if self.head else labels.to_numpy(dtype=np.int64)
        self.update(outputs.reshape(len(outputs)), indices)

    def update(self, probabilities: npt.NDArray[np.float64], labels: npt.NDArray[np.int64]) -> None:
        positive = labels == 1
        predicted = probabilities >= self.threshold
        self.rows += len(labels)
        self.correct += int((predicted == positive).sum())
        self.confusion["tp"] += int((predicted & positive).sum())
        self.confusion["fp"] += int((predicted & ~positive).sum())
        self.confusion["tn"] += int((~predicted & ~positive).sum())
        self.confusion["fn"] += int((~predicted & positive).sum())
        clipped = np.clip(probabilities, _CLIP, 1 - _CLIP)
        self.log_loss_sum -= float(np.where(positive, np.log(clipped), np.log1p(-clipped)).sum())
        bins = np.minimum((probabilities * self.bins).astype(np.int64), self.bins - 1)
        self.positives_per_bin += np.bincount(bins[positive], minlength=self.bins)
        self.negatives_per_bin += np.bincount(bins[~positive], minlength=self.bins)

    def roc_curve(self) -> list[dict[str, float]]:
        """(false positive rate, true positive rate, threshold), from the strictest threshold."""
        true_positives = np.concatenate([[0], np.cumsum(self.positives_per_bin[::-1])])
        false_positives = np.concatenate([[0], np.cumsum(self.negatives_per_bin[::-1])])
        positives = max(int(true_positives[-1]), 1)
        negatives = max(int(false_positives[-1]), 1)
        thresholds = np.arange(self.bins, -1, -1) / self.bins
        # Keep the corners of the curve only: empty bins add points that change nothing.
        moved = np.ones(len(thresholds), dtype=bool)
        moved[1:-1] = (np.diff(true_positives)[1:] > 0) | (np.diff(false_positives)[1:] > 0)
        return [
            {
                "false_positive_rate": float(fp) / negatives,
                "true_positive_rate": float(tp) / positives,
                "threshold": float(threshold),
            }
            for fp, tp, threshold in zip(
                false_positives[moved], true_positives[moved], thresholds[moved], strict=True
            )
        ]

    def auc(self) -> float:
        curve = self.roc_curve()
        fpr = np.array([point["false_positive_rate"] for point in curve])
        tpr = np.array([point["true_positive_rate"] for point in curve])
        return float(np.trapezoid(tpr, fpr))

    def summary(self) -> dict[str, float]:
        if self.rows == 0:
            msg = "no rows were scored"
            raise ValueError(msg)
        return {
            "auc": self.auc(),
            "accuracy": self.correct / self.rows,
            "log_loss": self.log_loss_sum / self.rows,
            "rows": float(self.rows),
        }

    def details(self) -> dict[str, Any]:
        return {"confusion": dict(self.confusion)}


@dataclass
class MulticlassMetrics:
    head: MulticlassHead
    rows: int = 0
    log_loss_sum: float = 0.0
    confusion: npt.NDArray[np.int64] = field(init=False)  # [actual, predicted]

    def __post_init__(self) -> None:
        self.confusion = np.zeros((self.head.units, self.head.units), dtype=np.int64)

    def observe(self, outputs: npt.NDArray[np.float64], labels: pd.Series) -> None:
        actual = self.head.class_indices(labels)
        predicted = outputs.argmax(axis=1)
        np.add.at(self.confusion, (actual, predicted), 1)
        chosen = np.clip(outputs[np.arange(len(actual)), actual], _CLIP, 1.0)
        self.log_loss_sum -= float(np.log(chosen).sum())
        self.rows += len(actual)

    def summary(self) -> dict[str, float]:
        if self.rows == 0:
            msg = "no rows were scored"
            raise ValueError(msg)
        true_positives = np.diag(self.confusion).astype(np.float64)
        false_positives = self.confusion.sum(axis=0) - true_positives
        false_negatives = self.confusion.sum(axis=1) - true_positives
        seen = (true_positives + false_positives + false_negatives) > 0
        f1 = (
            2
            * true_positives
            / np.maximum(2 * true_positives + false_positives + false_negatives, 1)
        )
        return {
            "accuracy": float(true_positives.sum()) / self.rows,
            "macro_f1": float(f1[seen].mean()),
            "log_loss": self.log_loss_sum / self.rows,
            "rows": float(self.rows),
        }

    def details(self) -> dict[str, Any]:
        keys = [str(value) for value in self.head.classes]
        return {
            "confusion": {
                actual: dict(zip(keys, (int(n) for n in row), strict=True))
                for actual, row in zip(keys, self.confusion, strict=True)
            }
        }


@dataclass
class RegressionMetrics:
    """Errors in the label's units; R² from a running mean and sum of squares (Chan et al.)."""

    head: RegressionHead
    rows: int = 0
    squared_error_sum: float = 0.0
    absolute_error_sum: float = 0.0
    label_mean: float = 0.0
    label_squares: float = 0.0  # sum of squared deviations from the running mean

    def observe(self, outputs: npt.NDArray[np.float64], labels: pd.Series) -> None:
        actual = labels.to_numpy(dtype=np.float64)
        errors = self.head.values(outputs) - actual
        self.squared_error_sum += float(np.square(errors).sum())
        self.absolute_error_sum += float(np.abs(errors).sum())
        count = len(actual)
        if count == 0:
            return
        batch_mean = float(actual.mean())
        batch_squares = float(np.square(actual - batch_mean).sum())
        total = self.rows + count
        delta = batch_mean - self.label_mean
        self.label_squares += batch_squares + delta * delta * self.rows * count / total
        self.label_mean += delta * count / total
        self.rows = total

    def summary(self) -> dict[str, float]:
        if self.rows == 0:
            msg = "no rows were scored"
            raise ValueError(msg)
        if self.label_squares == 0:
            msg = "every scored row has the same label value, so R² is undefined"
            raise ValueError(msg)
        return {
            "rmse": math.sqrt(self.squared_error_sum / self.rows),
            "mae": self.absolute_error_sum / self.rows,
            "r2": 1.0 - self.squared_error_sum / self.label_squares,
            "rows": float(self.rows),
        }

    def details(self) -> dict[str, Any]:
        return {}


def metrics_for(head: Head, threshold: float, bins: int = 1000) -> Metrics:
    """A fresh accumulator for HEAD's label kind."""
    if isinstance(head, BinaryHead):
        return BinaryMetrics(threshold=threshold, bins=bins, head=head)
    if isinstance(head, MulticlassHead):
        return MulticlassMetrics(head)
    if isinstance(head, RegressionHead):
        return RegressionMetrics(head)
    msg = f"no metrics for a {head.kind} label"
    raise TypeError(msg)
