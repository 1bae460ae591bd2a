"""The evaluate stage: the label kind's metrics and DVC plots of the test split, in fixed memory.

The plots depend on the label kind (ROC and confusion matrix for a binary label, the confusion
matrix for classes, predicted against actual for a value), so this stage also writes their DVC
definitions: a plots-only `dvc.yaml` that `dvc plots show` reads beside the project's own.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from .atomic import atomic_file, write_text_atomically
from .contract import FeatureContract
from .data.parquet import iter_parquet
from .data.schema import validate_labelled
from .errors import DataValidationError
from .features import FEATURE_CONTRACT
from .metrics import BinaryMetrics, metrics_for
from .model.heads import Head, RegressionHead, head_for
from .model.inference import predict_outputs
from .model.weights import load_model
from .params import EvaluateParams

logger = logging.getLogger(__name__)

# DVC refuses a dvc.yaml as a stage output, so git keeps this file, with reports/.
_DEFINITIONS_HEADER = (
    "# Written by the evaluate stage for the contract's label kind: the test split's plots.\n"
    "# Do not edit: git keeps it with reports/, `dvc repro --force evaluate` writes it again.\n"
    "# The pipeline itself is ../dvc.yaml.\n"
)


def _rows_file(head: Head) -> str:
    return "predictions.csv" if isinstance(head, RegressionHead) else "confusion.csv"


def plot_definitions(head: Head, plots: Path, definitions: Path) -> dict[str, Any]:
    """The DVC `plots:` of the test split for HEAD's kind, paths relative to DEFINITIONS."""

    def relative(name: str) -> str:
        return Path(os.path.relpath(plots / name, definitions.parent)).as_posix()

    rows = relative(_rows_file(head))
    if isinstance(head, RegressionHead):
        return {
            "plots": [
                {
                    rows: {
                        "title": f"Predicted against actual {head.label_name} (test split)",
                        "template": "scatter",
                        "x": "actual",
                        "y": "predicted",
                    }
                }
            ]
        }
    confusion = {
        rows: {
            "title": "Confusion matrix (test split)",
            "template": "confusion",
            "x": "actual",
            "y": "predicted",
        }
    }
    if head.kind != "binary":
        return {"plots": [confusion]}
    roc = {
        relative("roc.json"): {
            "title": "ROC (test split)",
            "template": "simple",
            "x": "false_positive_rate",
            "y": "true_positive_rate",
        }
    }
    return {"plots": [roc, confusion]}


@dataclass(frozen=True)
class EvaluationPaths:
    model_directory: Path
    test_data: Path
    metrics_file: Path
    plots_directory: Path
    plot_definitions_file: Path  # a plots-only dvc.yaml


def evaluate(
    paths: EvaluationPaths, params: EvaluateParams, contract: FeatureContract = FEATURE_CONTRACT
) -> dict[str, float]:
    """Score the test data batch by batch; write the metrics JSON, the plot data and their DVC
    definitions."""
    loaded = load_model(paths.model_directory)
    head = head_for(contract.label)
    accumulator = metrics_for(head, loaded.decision_threshold, params.roc_bins)
    device = torch.device("cpu")
    with (
        atomic_file(paths.plots_directory / _rows_file(head)) as rows_staging,
        rows_staging.open("w", newline="", encoding="utf-8") as rows_file,
    ):
        plot_rows = csv.writer(rows_file)
        plot_rows.writerow(["actual", "predicted"])
        for batch_number, batch in enumerate(iter_parquet(paths.test_data, params.batch_size)):
            frame = validate_labelled(batch, f"{paths.test_data} (batch {batch_number})", contract)
            outputs = predict_outputs(loaded.network, frame, device, contract)
            labels = frame[contract.label.name]
            accumulator.observe(outputs, labels)
            predicted = head.predicted(outputs, loaded.decision_threshold)
            plot_rows.writerows(zip(labels.tolist(), predicted, strict=True))
        if accumulator.rows == 0:  # raised inside the block: the rows file is never published
            msg = f"{paths.test_data} has no rows to evaluate; check the prepare stage's split"
            raise DataValidationError(msg)
        try:
            summary = accumulator.summary()
        except ValueError as error:
            msg = f"{paths.test_data}: {error}; check the prepare stage's split"
            raise DataValidationError(msg) from error
    if isinstance(accumulator, BinaryMetrics):
        write_text_atomically(
            paths.plots_directory / "roc.json", json.dumps({"roc": accumulator.roc_curve()}) + "\n"
        )
    definitions = plot_definitions(head, paths.plots_directory, paths.plot_definitions_file)
    write_text_atomically(
        paths.plot_definitions_file,
        _DEFINITIONS_HEADER + yaml.safe_dump(definitions, sort_keys=False),
    )
    metrics = {
        "model_version": loaded.model_version,
        "label_kind": head.kind,
        "test": {key: value for key, value in summary.items() if key != "rows"},
        "test_rows": int(summary["rows"]),
        **accumulator.details(),
    }
    write_text_atomically(paths.metrics_file, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    logger.info("evaluated", extra={"metrics": metrics["test"], "rows": metrics["test_rows"]})
    return summary
