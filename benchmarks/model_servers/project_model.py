"""A generated project's model behind one call, loaded and run by the project's own code.

Shared by litserve_server.py and bentoml_service.py, which run inside a framework's virtualenv
where the project's package is importable (its `src` on PYTHONPATH). Which package and which
model directory come from the environment, so both frameworks' entry points can read them.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

# Absent from the tool's own environment (mypy there sees Any); present where the servers run.
import torch  # type: ignore[import-not-found, unused-ignore]

PACKAGE_VARIABLE = "BENCH_MODEL_PACKAGE"
MODEL_DIRECTORY_VARIABLE = "BENCH_MODEL_DIRECTORY"
# The generated service's default (`torch_threads`): one intra-op thread per process.
TORCH_THREADS = 1


class ProjectModel:
    """The project's `Predictor` on the CPU: instances in, the service's response body out."""

    def __init__(self, package: str, model_directory: Path) -> None:
        weights = importlib.import_module(f"{package}.model.weights")
        predictor = importlib.import_module(f"{package}.serve.predictor")
        torch.set_num_threads(TORCH_THREADS)
        loaded = weights.load_model(model_directory)
        self.model_version = str(loaded.model_version)
        self.predictor = predictor.Predictor(loaded, torch.device("cpu"))

    @classmethod
    def from_environment(cls) -> ProjectModel:
        """The model named by $BENCH_MODEL_PACKAGE and $BENCH_MODEL_DIRECTORY."""
        package = os.environ.get(PACKAGE_VARIABLE)
        directory = os.environ.get(MODEL_DIRECTORY_VARIABLE)
        if not package or not directory:
            msg = (
                f"set {PACKAGE_VARIABLE} (the project's package, e.g. leads_dev) and "
                f"{MODEL_DIRECTORY_VARIABLE} (its models/ directory) before starting the server"
            )
            raise RuntimeError(msg)
        return cls(package, Path(directory))

    def predict(self, instances: list[dict[str, Any]]) -> dict[str, Any]:
        """Score INSTANCES as the generated service does, without validating them."""
        # The project's encoder reads features as attributes, as on its validated rows.
        rows = [SimpleNamespace(**instance) for instance in instances]
        scored = self.predictor.score(self.predictor.encode(rows))
        predictions = [
            {"probability": probability, "label": label}
            for probability, label in zip(
                scored.probabilities.tolist(), scored.labels.tolist(), strict=True
            )
        ]
        return {"predictions": predictions, "model_version": self.model_version}
