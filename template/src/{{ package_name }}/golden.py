"""The golden set: fixed rows with the predictions this model gives them.

The service's readiness check and the canary gate replay these rows and compare the head's
outputs (probabilities, or the value scaled to the label's range) within a tolerance.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .atomic import write_text_atomically
from .data.parquet import READ_BATCH_ROWS, iter_parquet
from .data.schema import validate_labelled
from .data.streaming import smallest_rows
from .errors import ModelArtifactError
from .features import FEATURE_CONTRACT
from .model.heads import HEAD
from .model.inference import predict_outputs
from .model.weights import load_model
from .params import GoldenParams

logger = logging.getLogger(__name__)


def build_golden_set(
    model_directory: Path, test_data: Path, destination: Path, params: GoldenParams
) -> dict[str, Any]:
    """Take the first ROWS test rows by identifier, record the model's prediction of each.
    The test split is read in batches: memory holds ROWS rows and one batch."""
    loaded = load_model(model_directory)
    identifier = FEATURE_CONTRACT.identifier
    frames = (
        validate_labelled(frame, f"{test_data} (batch {number})")
        for number, frame in enumerate(iter_parquet(test_data, READ_BATCH_ROWS))
    )
    chosen = smallest_rows(frames, params.rows, lambda frame: frame[identifier], str(test_data))
    outputs = torch.from_numpy(predict_outputs(loaded.network, chosen, torch.device("cpu")))
    predictions = HEAD.predictions(outputs, HEAD.decide(outputs, loaded.decision_threshold))
    features = list(FEATURE_CONTRACT.feature_names)
    golden = {
        "model_version": loaded.model_version,
        "contract_version": FEATURE_CONTRACT.version,
        "label_kind": HEAD.kind,
        "decision_threshold": loaded.decision_threshold,
        "cases": [
            # `outputs` exactly as the model gave them; `expected` as the service answers.
            {"id": identifier, "instance": instance, "expected": prediction, "outputs": row}
            for identifier, instance, prediction, row in zip(
                chosen[FEATURE_CONTRACT.identifier].tolist(),
                chosen[features].to_dict(orient="records"),
                predictions,
                outputs.reshape(len(chosen), -1).tolist(),
                strict=True,
            )
        ],
    }
    write_text_atomically(destination, json.dumps(golden, indent=2) + "\n")
    logger.info("golden set written", extra={"rows": len(chosen), "path": str(destination)})
    return golden


@dataclass(frozen=True)
class GoldenCase:
    id: str
    instance: dict[str, Any]
    expected: dict[str, Any]  # the response object the model gave, e.g. {"probability": ...}
    outputs: tuple[float, ...]  # the head's outputs for it, exactly


@dataclass(frozen=True)
class GoldenSet:
    model_version: str
    cases: tuple[GoldenCase, ...]


def read_golden_set(path: Path) -> GoldenSet:
    """The golden set written by `build_golden_set`, or an error that says how to rebuild it."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        cases = tuple(
            GoldenCase(
                id=str(case["id"]),
                instance=case["instance"],
                expected=case["expected"],
                outputs=tuple(float(output) for output in case["outputs"]),
            )
            for case in document["cases"]
        )
        if any(len(case.outputs) != HEAD.units for case in cases):
            msg = f"its cases do not hold {HEAD.units} output(s) each, as a {HEAD.kind} label has"
            raise ValueError(msg)
        return GoldenSet(str(document["model_version"]), cases)
    except FileNotFoundError as error:
        msg = f"{path} does not exist; build it with `dvc repro golden`"
        raise ModelArtifactError(msg) from error
    except (OSError, ValueError, KeyError, TypeError) as error:
        msg = f"{path} is not a valid golden set ({error}); rebuild it with `dvc repro golden`"
        raise ModelArtifactError(msg) from error
