"""Rendered-only projects (copier, no lock, no install) for the file validators: hadolint,
kubectl kustomize, kubernetes-validate, checkov, the devcontainer CLI, `hermetic pin --check`.

Each deploy variant is rendered once per test session; together they give every value of the
questions that change deploy files (`with_k8s`, `with_serving`, `ci`, `cuda_version`,
`data_source`, `dvc_remote`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from copier import run_copy

DEPLOY_VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "training-only-cuda12.6": {"cuda_version": "12.6", "with_serving": False, "ci": "none"},
    "serving-without-k8s": {"with_k8s": False, "cuda_version": "12.6"},
    # How the training pods get their data and reach the DVC remote (deploy/k8s only).
    "file-s3": {"data_source": "file", "dvc_remote": "s3"},
    "sql-gcs-training-only": {"data_source": "sql", "dvc_remote": "gcs", "with_serving": False},
    "synthetic-azure": {"dvc_remote": "azure"},
}


def render_variant(template_repo: Path, destination: Path, answers: dict[str, Any]) -> Path:
    """Render the template with ANSWERS (defaults for the rest) into DESTINATION; no tasks run."""
    run_copy(str(template_repo), destination, data=answers, defaults=True, unsafe=True, quiet=True)
    return destination
