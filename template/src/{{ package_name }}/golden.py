"""The golden set: fixed rows with the outputs this model gives them.

The service's readiness check and the canary gate replay these rows and compare.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .atomic import write_text_atomically
from .data.parquet import read_parquet
from .data.schema import validate_labelled
from .errors import ModelArtifactError
from .features import FEATURE_CONTRACT
from .model.inference import decide, predict_probabilities
from .model.weights import load_model
from .params import GoldenParams

logger = logging.getLogger(__name__)


def build_golden_set(
    model_directory: Path, test_data: Path, destination: Path, params: GoldenParams
) -> dict[str, Any]:
    """Take the first ROWS test rows by identifier, record their probabilities and labels."""
    loaded = load_model(model_directory)
    frame = validate_labelled(read_parquet(test_data), str(test_data))
    chosen = frame.sort_values(FEATURE_CONTRACT.identifier).head(params.rows).reset_index(drop=True)
    probabilities = predict_probabilities(loaded.network, chosen, torch.device("cpu"))
    labels = decide(probabilities, loaded.decision_threshold)
    features = list(FEATURE_CONTRACT.feature_names)
    golden = {
        "model_version": loaded.model_version,
        "contract_version": FEATURE_CONTRACT.version,
        "decision_threshold": loaded.decision_threshold,
        "cases": [
            {
                "id": identifier,
                "instance": instance,
                "expected": {"probability": float(probability), "label": int(label)},
            }
            for identifier, instance, probability, label in zip(
                chosen[FEATURE_CONTRACT.identifier],
                chosen[features].to_dict(orient="records"),
                probabilities,
                labels,
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
    probability: float
    label: int


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
                probability=float(case["expected"]["probability"]),
                label=int(case["expected"]["label"]),
            )
            for case in document["cases"]
        )
        return GoldenSet(str(document["model_version"]), cases)
    except FileNotFoundError as error:
        msg = f"{path} does not exist; build it with `dvc repro golden`"
        raise ModelArtifactError(msg) from error
    except (OSError, ValueError, KeyError, TypeError) as error:
        msg = f"{path} is not a valid golden set ({error}); rebuild it with `dvc repro golden`"
        raise ModelArtifactError(msg) from error
