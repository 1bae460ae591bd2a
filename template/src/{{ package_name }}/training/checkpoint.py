"""Checkpoints as single safetensors files: tensors plus a JSON header, never pickle.

A checkpoint holds the model, optimizer and scheduler states, every RNG state, the data
position and the step. It is written to a temporary file, fsynced and renamed, so a crash
leaves the previous checkpoint intact; a file that fails its digest is skipped on resume.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from ..atomic import write_bytes_atomically
from .seeding import RandomState

logger = logging.getLogger(__name__)

_PATTERN = "step-*.safetensors"
_HEADER_KEY = "checkpoint"


class CorruptCheckpointError(Exception):
    """The file is truncated, unreadable or does not match its own digest."""


@dataclass
class Progress:
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    loss_history: list[tuple[int, float]] = field(default_factory=list)


@dataclass(frozen=True)
class Checkpoint:
    fingerprint: str
    progress: Progress
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    random_state: RandomState


def checkpoint_directory(root: Path, fingerprint: str) -> Path:
    """Checkpoints of different configurations never mix: one directory per fingerprint."""
    return root / fingerprint[:16]


def _flatten(checkpoint: Checkpoint) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors = {
        f"model.{name}": t.detach().cpu().contiguous() for name, t in checkpoint.model.items()
    }
    optimizer_scalars: dict[str, dict[str, Any]] = {}
    for parameter, entries in checkpoint.optimizer["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{parameter}.{key}"] = value.detach().cpu().contiguous()
            else:
                optimizer_scalars.setdefault(str(parameter), {})[key] = value
    tensors["rng.torch_cpu"] = checkpoint.random_state.torch_cpu
    for index, state in enumerate(checkpoint.random_state.torch_cuda):
        tensors[f"rng.torch_cuda.{index}"] = state
    header = {
        "fingerprint": checkpoint.fingerprint,
        "progress": {
            "step": checkpoint.progress.step,
            "epoch": checkpoint.progress.epoch,
            "batch_in_epoch": checkpoint.progress.batch_in_epoch,
            "loss_history": checkpoint.progress.loss_history,
        },
        "optimizer_param_groups": checkpoint.optimizer["param_groups"],
        "optimizer_scalars": optimizer_scalars,
        "scheduler": checkpoint.scheduler,
        "rng_python": checkpoint.random_state.python,
        "rng_numpy": checkpoint.random_state.numpy,
        "cuda_devices": len(checkpoint.random_state.torch_cuda),
    }
    return tensors, header


def _digest(tensors: dict[str, torch.Tensor], header: dict[str, Any]) -> str:
    """One digest over every tensor and every header value, so no part can change unnoticed."""
    digest = hashlib.sha256(save_tensors(tensors))
    digest.update(json.dumps(header, sort_keys=True).encode())
    return digest.hexdigest()


def encode_checkpoint(checkpoint: Checkpoint) -> bytes:
    tensors, header = _flatten(checkpoint)
    header = {**header, "sha256": _digest(tensors, header)}
    return save_tensors(tensors, metadata={_HEADER_KEY: json.dumps(header)})


def _read_header(payload: bytes) -> dict[str, Any]:
    (length,) = struct.unpack("<Q", payload[:8])
    metadata = json.loads(payload[8 : 8 + length])["__metadata__"]
    header: dict[str, Any] = json.loads(metadata[_HEADER_KEY])
    return header


def decode_checkpoint(payload: bytes) -> Checkpoint:
    try:
        return _decode(payload)
    except CorruptCheckpointError:
        raise
    except Exception as error:  # any unreadable part makes the whole file unusable
        raise CorruptCheckpointError(f"{type(error).__name__}: {error}") from error


def _decode(payload: bytes) -> Checkpoint:
    header = _read_header(payload)
    tensors = load_tensors(payload)
    recorded = header.pop("sha256")
    if _digest(tensors, header) != recorded:
        msg = "digest mismatch"
        raise CorruptCheckpointError(msg)
    optimizer_state: dict[int, dict[str, Any]] = {}
    for name, tensor in tensors.items():
        if name.startswith("optimizer."):
            _, parameter, key = name.split(".", 2)
            optimizer_state.setdefault(int(parameter), {})[key] = tensor
    for parameter, scalars in header["optimizer_scalars"].items():
        optimizer_state.setdefault(int(parameter), {}).update(scalars)
    progress = header["progress"]
    return Checkpoint(
        fingerprint=header["fingerprint"],
        progress=Progress(
            step=progress["step"],
            epoch=progress["epoch"],
            batch_in_epoch=progress["batch_in_epoch"],
            loss_history=[(int(step), float(loss)) for step, loss in progress["loss_history"]],
        ),
        model={n[len("model.") :]: t for n, t in tensors.items() if n.startswith("model.")},
        optimizer={"state": optimizer_state, "param_groups": header["optimizer_param_groups"]},
        scheduler=header["scheduler"],
        random_state=RandomState(
            python=header["rng_python"],
            numpy=header["rng_numpy"],
            torch_cpu=tensors["rng.torch_cpu"],
            torch_cuda=tuple(tensors[f"rng.torch_cuda.{i}"] for i in range(header["cuda_devices"])),
        ),
    )


def _step_files(directory: Path) -> list[Path]:
    """Finished checkpoints, newest first (temporary files start with '.' and never match)."""
    return sorted(directory.glob(_PATTERN), reverse=True)


def save_checkpoint(directory: Path, checkpoint: Checkpoint, keep: int) -> Path:
    """Write a checkpoint atomically, then drop all but the newest KEEP."""
    destination = directory / f"step-{checkpoint.progress.step:09d}.safetensors"
    write_bytes_atomically(destination, encode_checkpoint(checkpoint))
    for stale in _step_files(directory)[keep:]:
        stale.unlink()
    return destination


def remove_unfinished_writes(directory: Path) -> None:
    """Temporary files are writes a crash interrupted; they are never resumed from."""
    for leftover in directory.glob(".step-*.tmp"):
        logger.warning("removing an unfinished checkpoint write", extra={"path": str(leftover)})
        leftover.unlink()


def load_latest_checkpoint(directory: Path, fingerprint: str) -> tuple[Checkpoint, Path] | None:
    """The newest checkpoint that reads back whole and belongs to FINGERPRINT, if any."""
    for candidate in _step_files(directory):
        try:
            checkpoint = decode_checkpoint(candidate.read_bytes())
        except CorruptCheckpointError as error:
            logger.warning(
                "skipping a corrupt checkpoint",
                extra={"path": str(candidate), "reason": str(error)},
            )
            continue
        if checkpoint.fingerprint != fingerprint:
            logger.warning("skipping a checkpoint of another run", extra={"path": str(candidate)})
            continue
        return checkpoint, candidate
    return None
