"""LitServe serving a generated project's model: POST /predict, the service's JSON in and out.

Started by bench_model_servers.py inside the LitServe virtualenv, with the project's `src` on
PYTHONPATH:

    BENCH_MODEL_PACKAGE=leads_dev BENCH_MODEL_DIRECTORY=PATH/models \\
        python litserve_server.py --port 8001 [--fast-queue]

One inference worker on the CPU, no batching (LitServe's defaults, named here so that a
change of default cannot change the benchmark), one API server process; LitServe itself adds
a queue-manager process between the two.
"""

from __future__ import annotations

import argparse
from typing import Any

import litserve  # type: ignore[import-not-found, import-untyped, unused-ignore]
from project_model import ProjectModel

HOST = "127.0.0.1"


class ProjectModelAPI(litserve.LitAPI):  # type: ignore[misc, unused-ignore]
    """Body `{"instances": [...]}` in, `{"predictions": [...], "model_version": ...}` out."""

    def setup(self, device: str) -> None:
        self.model = ProjectModel.from_environment()

    # Unannotated on purpose: LitServe builds the endpoint from these two annotations, and
    # none means its defaults, the parsed JSON body in and a plain JSON response out.
    def decode_request(self, request, **kwargs: Any):  # type: ignore[no-untyped-def]
        instances: list[dict[str, Any]] = request["instances"]
        return instances

    def predict(self, x: list[dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
        return self.model.predict(x)

    def encode_response(self, output: dict[str, Any], **kwargs: Any):  # type: ignore[no-untyped-def]
        return output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--fast-queue", action="store_true", help="ZeroMQ between API server and worker."
    )
    arguments = parser.parse_args()
    server = litserve.LitServer(
        ProjectModelAPI(max_batch_size=1, batch_timeout=0.0),
        accelerator="cpu",
        devices=1,
        workers_per_device=1,
        fast_queue=arguments.fast_queue,
    )
    server.run(
        host=HOST,
        port=arguments.port,
        num_api_servers=1,
        log_level="warning",
        generate_client_file=False,
        access_log=False,
    )


if __name__ == "__main__":
    main()
