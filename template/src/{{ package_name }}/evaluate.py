"""The evaluate stage: metrics and DVC plots of the test split, streamed in fixed memory."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

import torch

from .atomic import atomic_file, write_text_atomically
from .data.parquet import iter_parquet
from .data.schema import validate_labelled
from .errors import DataValidationError
from .features import FEATURE_CONTRACT
from .metrics import StreamingMetrics
from .model.inference import decide, predict_probabilities
from .model.weights import load_model
from .params import EvaluateParams

logger = logging.getLogger(__name__)


def evaluate(
    model_directory: Path,
    test_data: Path,
    metrics_file: Path,
    plots_directory: Path,
    params: EvaluateParams,
) -> dict[str, float]:
    """Score TEST_DATA batch by batch; write metrics JSON, ROC and confusion plot data."""
    loaded = load_model(model_directory)
    accumulator = StreamingMetrics(threshold=loaded.decision_threshold, bins=params.roc_bins)
    device = torch.device("cpu")
    with (
        atomic_file(plots_directory / "confusion.csv") as confusion_staging,
        confusion_staging.open("w", newline="", encoding="utf-8") as confusion_file,
    ):
        confusion = csv.writer(confusion_file)
        confusion.writerow(["actual", "predicted"])
        for batch_number, batch in enumerate(iter_parquet(test_data, params.batch_size)):
            frame = validate_labelled(batch, f"{test_data} (batch {batch_number})")
            probabilities = predict_probabilities(loaded.network, frame, device)
            labels = frame[FEATURE_CONTRACT.label].to_numpy()
            accumulator.update(probabilities, labels)
            predicted = decide(probabilities, loaded.decision_threshold)
            confusion.writerows(zip(labels.tolist(), predicted.tolist(), strict=True))
        if accumulator.rows == 0:  # raised inside the block: confusion.csv is never published
            msg = f"{test_data} has no rows to evaluate; check the prepare stage's split"
            raise DataValidationError(msg)
    write_text_atomically(
        plots_directory / "roc.json", json.dumps({"roc": accumulator.roc_curve()}) + "\n"
    )
    summary = accumulator.summary()
    metrics = {
        "model_version": loaded.model_version,
        "test": {key: value for key, value in summary.items() if key != "rows"},
        "test_rows": int(summary["rows"]),
        "confusion": accumulator.confusion,
    }
    write_text_atomically(metrics_file, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    logger.info("evaluated", extra={"metrics": metrics["test"], "rows": metrics["test_rows"]})
    return summary
