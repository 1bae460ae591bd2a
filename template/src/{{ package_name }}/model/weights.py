"""Weights as safetensors (no pickle, no code on load) plus a JSON file that says what they are."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from ..atomic import write_bytes_atomically, write_text_atomically
from ..errors import ModelArtifactError
from ..features import FEATURE_CONTRACT
from .network import Architecture, TabularNetwork

WEIGHTS_FILE = "model.safetensors"
METADATA_FILE = "model.json"


@dataclass(frozen=True)
class LoadedModel:
    network: TabularNetwork
    metadata: dict[str, Any]

    @property
    def decision_threshold(self) -> float:
        return float(self.metadata["decision_threshold"])

    @property
    def model_version(self) -> str:
        return str(self.metadata["model_version"])


def save_model(
    network: TabularNetwork, directory: Path, metadata: dict[str, Any]
) -> dict[str, Any]:
    """Write DIRECTORY/model.safetensors and model.json atomically; return the full metadata."""
    state = {
        name: tensor.detach().cpu().contiguous() for name, tensor in network.state_dict().items()
    }
    payload = save_tensors(state, metadata={"contract_version": FEATURE_CONTRACT.version})
    weights_sha256 = hashlib.sha256(payload).hexdigest()
    described = {
        **metadata,
        "model_version": f"{FEATURE_CONTRACT.version}-{weights_sha256[:12]}",
        "contract_version": FEATURE_CONTRACT.version,
        "contract": FEATURE_CONTRACT.as_dict(),
        "architecture": network.architecture.as_dict(),
        "weights_file": WEIGHTS_FILE,
        "weights_sha256": weights_sha256,
    }
    write_bytes_atomically(directory / WEIGHTS_FILE, payload)
    write_text_atomically(
        directory / METADATA_FILE, json.dumps(described, indent=2, sort_keys=True) + "\n"
    )
    return described


def load_model(directory: Path) -> LoadedModel:
    """Load weights whose hash and contract match their metadata, or say what is wrong."""
    try:
        metadata = json.loads((directory / METADATA_FILE).read_text(encoding="utf-8"))
        payload = (directory / WEIGHTS_FILE).read_bytes()
    except FileNotFoundError as error:
        msg = f"{error.filename} does not exist; train a model first (dvc repro train)"
        raise ModelArtifactError(msg) from error
    except (OSError, ValueError) as error:
        msg = f"cannot read the model in {directory} ({error}); retrain it or dvc pull"
        raise ModelArtifactError(msg) from error
    if hashlib.sha256(payload).hexdigest() != metadata.get("weights_sha256"):
        msg = (
            f"{directory / WEIGHTS_FILE} does not match the hash in {METADATA_FILE}; "
            "retrain it or restore both files with dvc pull"
        )
        raise ModelArtifactError(msg)
    if metadata.get("contract_version") != FEATURE_CONTRACT.version:
        msg = (
            f"the model in {directory} was trained on feature contract "
            f"{metadata.get('contract_version')}, this code has {FEATURE_CONTRACT.version}; "
            "retrain it"
        )
        raise ModelArtifactError(msg)
    network = TabularNetwork(Architecture.from_dict(metadata["architecture"]))
    try:
        network.load_state_dict(load_tensors(payload), strict=True)
    except (SafetensorError, RuntimeError) as error:
        msg = f"{directory / WEIGHTS_FILE} does not fit its architecture ({error}); retrain it"
        raise ModelArtifactError(msg) from error
    network.eval()
    return LoadedModel(network, metadata)
