"""Classification metrics accumulated batch by batch in fixed memory.

Scores are counted in `bins` equal-width bins, so memory does not depend on the number of rows;
AUC and the ROC curve are exact for scores rounded down to a multiple of 1/bins.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

_CLIP = 1e-7


@dataclass
class StreamingMetrics:
    threshold: float
    bins: int = 1000
    rows: int = 0
    correct: int = 0
    log_loss_sum: float = 0.0
    confusion: dict[str, int] = field(default_factory=lambda: {"tp": 0, "fp": 0, "tn": 0, "fn": 0})
    positives_per_bin: npt.NDArray[np.int64] = field(init=False)
    negatives_per_bin: npt.NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        self.positives_per_bin = np.zeros(self.bins, dtype=np.int64)
        self.negatives_per_bin = np.zeros(self.bins, dtype=np.int64)

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
