"""BentoML serving a generated project's model: POST /predict, the service's JSON in and out.

Started by bench_model_servers.py inside the BentoML virtualenv:

    BENCH_MODEL_PACKAGE=leads_dev BENCH_MODEL_DIRECTORY=PATH/models \\
        bentoml serve bentoml_service:ProjectModelService --host 127.0.0.1 --port 8002

One worker process on the CPU, one thread for the synchronous endpoint (BentoML's default,
named here), no adaptive batching; BentoML's supervisor is a second process.
"""

from __future__ import annotations

from typing import Any

import bentoml  # type: ignore[import-not-found, unused-ignore]
from project_model import ProjectModel


@bentoml.service(
    workers=1,
    threads=1,
    resources={"cpu": "1"},
    traffic={"timeout": 30},
    logging={"access": {"enabled": False}},
)
class ProjectModelService:
    """Body `{"instances": [...]}` in, `{"predictions": [...], "model_version": ...}` out."""

    def __init__(self) -> None:
        self.model = ProjectModel.from_environment()

    @bentoml.api  # type: ignore[untyped-decorator, unused-ignore]
    def predict(self, instances: list[dict[str, Any]]) -> dict[str, Any]:
        return self.model.predict(instances)
