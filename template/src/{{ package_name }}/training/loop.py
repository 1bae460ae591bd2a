"""The training run: seeded, deterministic, checkpointed, resumable, single- or multi-process."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import sys
import uuid
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch.optim import AdamW
from torch.optim.lr_scheduler import CosineAnnealingLR
from torch.utils.data import DataLoader

from ..atomic import write_text_atomically
from ..data.parquet import read_parquet
from ..data.schema import validate_labelled
from ..drift_reference import DRIFT_REFERENCE_FILE, write_drift_reference
from ..errors import DataValidationError, TrainingPreemptedError
from ..features import FEATURE_CONTRACT
from ..metrics import metrics_for
from ..model.encoding import encode_features
from ..model.heads import HEAD
from ..model.inference import predict_outputs
from ..model.network import Architecture, TabularNetwork
from ..model.weights import save_model
from ..params import ModelParams, TrainParams
from ..provenance import file_sha256, git_revision, library_versions
from .batches import ResumableBatchSampler, TensorBatches
from .checkpoint import (
    Checkpoint,
    Progress,
    checkpoint_directory,
    load_latest_checkpoint,
    remove_unfinished_writes,
    save_checkpoint,
)
from .distributed import (
    ProcessGroup,
    any_rank,
    average_gradients,
    broadcast_parameters,
    join_process_group,
    leave_process_group,
    mean_across_ranks,
    same_on_every_rank,
    synchronize,
)
from .preemption import StopRequest
from .seeding import RandomState, make_deterministic, seed_data_loader_worker

logger = logging.getLogger(__name__)

# Settings that change how a run is carried out, never its result: a resume may change them.
_RESULT_NEUTRAL_PARAMS = {
    "num_workers",
    "keep_checkpoints",
    "checkpoint_every_steps",
    "cuda_memory_fraction",
}


@dataclass(frozen=True)
class TrainingPaths:
    data_directory: Path
    model_directory: Path
    checkpoint_root: Path
    plots_directory: Path


@dataclass(frozen=True)
class TrainingResult:
    steps: int
    resumed_from_step: int | None
    metadata: dict[str, Any] | None  # only the writing rank (rank 0) has it


class _RunLogger(logging.LoggerAdapter[logging.Logger]):
    """Adds the run id to every record without dropping the caller's `extra=`."""

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


def run_fingerprint(
    model_params: ModelParams, params: TrainParams, data_sha256: str, group: ProcessGroup
) -> str:
    """Identifies the result a run will produce; checkpoints of another fingerprint are ignored.

    The device actually used and the torch version are part of it: floating-point results
    differ between CPU and GPU kernels, so a run never resumes across them.
    """
    relevant = {
        "contract": FEATURE_CONTRACT.version,
        "model": model_params.model_dump(),
        "train": params.model_dump(exclude=_RESULT_NEUTRAL_PARAMS),
        "data": data_sha256,
        "world_size": group.world_size,
        "device": group.device.type,
        "torch": torch.__version__,
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


def _load_split(directory: Path, name: str) -> pd.DataFrame:
    """A split, validated against the contract before any training starts."""
    path = directory / f"{name}.parquet"
    return validate_labelled(read_parquet(path), str(path))


def _batches(frame: pd.DataFrame) -> TensorBatches:
    features = encode_features(frame)
    targets = HEAD.targets(frame[FEATURE_CONTRACT.label.name])
    return TensorBatches(features.numeric, features.categorical, targets)


def epochs_for(params: TrainParams, batches_per_epoch: int) -> int:
    """train.epochs, or more when a small dataset would give fewer than train.min_steps steps."""
    return max(params.epochs, math.ceil(params.min_steps / batches_per_epoch))


@contextlib.contextmanager
def _progress_bar(total: int, done: int, enabled: bool) -> Iterator[Callable[[], None]]:
    """A progress bar on an interactive terminal; nothing at all in logs and CI."""
    if not enabled:
        yield lambda: None
        return
    from rich.console import Console  # noqa: PLC0415 - only on a terminal
    from rich.progress import Progress as Bar  # noqa: PLC0415

    with Bar(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("training", total=total, completed=done)
        yield lambda: bar.advance(task)


def _validation_metrics(
    network: TabularNetwork, frame: pd.DataFrame, threshold: float, device: torch.device
) -> dict[str, float]:
    metrics = metrics_for(HEAD, threshold)
    metrics.observe(predict_outputs(network, frame, device), frame[FEATURE_CONTRACT.label.name])
    summary = metrics.summary()
    return {f"validation_{key}": value for key, value in summary.items() if key != "rows"}


def train(
    paths: TrainingPaths,
    model_params: ModelParams,
    params: TrainParams,
    *,
    on_step: Callable[[int], None] | None = None,
) -> TrainingResult:
    """Train to the end, resuming from the newest valid checkpoint of the same configuration.

    On SIGTERM/SIGINT, checkpoint at the next step boundary and raise TrainingPreemptedError.
    """
    HEAD.check_training_settings(params.positive_class_weight, params.decision_threshold)
    # Before joining the process group, which starts CUDA: cuBLAS reads its workspace setting once.
    make_deterministic(params.seed, deterministic=params.deterministic)
    torch.set_num_threads(params.cpu_threads)
    with StopRequest().installed() as stop:
        group = join_process_group(params.device)
        try:
            return _train(group, paths, model_params, params, stop=stop, on_step=on_step)
        finally:
            leave_process_group(group)


def _train(  # noqa: PLR0913, PLR0915 - one linear run reads better than scattered pieces
    group: ProcessGroup,
    paths: TrainingPaths,
    model_params: ModelParams,
    params: TrainParams,
    *,
    stop: StopRequest,
    on_step: Callable[[int], None] | None,
) -> TrainingResult:
    run_id = os.environ.get("TORCHELASTIC_RUN_ID") or uuid.uuid4().hex[:12]
    log = _RunLogger(logger, {"run_id": run_id, "rank": group.rank})
    if group.device.type == "cuda":
        torch.cuda.set_per_process_memory_fraction(params.cuda_memory_fraction, group.device)

    dataset = _batches(_load_split(paths.data_directory, "train"))
    validation = _load_split(paths.data_directory, "validation")
    data_sha256 = file_sha256(paths.data_directory / "train.parquet")
    fingerprint = run_fingerprint(model_params, params, data_sha256, group)
    checkpoints = checkpoint_directory(paths.checkpoint_root, fingerprint)

    network = TabularNetwork(
        Architecture.for_contract(model_params.embedding_dim, model_params.hidden_units)
    ).to(group.device)
    optimizer = AdamW(
        network.parameters(), lr=params.learning_rate, weight_decay=params.weight_decay
    )
    sampler = ResumableBatchSampler(
        dataset, params.batch_size, group.rank, group.world_size, params.seed
    )
    epochs = epochs_for(params, sampler.batches_per_epoch)
    total_steps = epochs * sampler.batches_per_epoch
    scheduler = CosineAnnealingLR(optimizer, T_max=total_steps)

    progress = Progress()
    resumed_from: int | None = None
    if group.is_writer:
        remove_unfinished_writes(checkpoints)
    synchronize(group)
    latest = load_latest_checkpoint(checkpoints, fingerprint)
    if latest is not None:
        checkpoint, source = latest
        network.load_state_dict(checkpoint.model)
        optimizer.load_state_dict(checkpoint.optimizer)
        scheduler.load_state_dict(checkpoint.scheduler)
        checkpoint.random_state.restore(group.device)
        progress = checkpoint.progress
        resumed_from = progress.step
        log.info("resuming", extra={"checkpoint": str(source), "step": progress.step})
    if not same_on_every_rank(group, progress.step):
        msg = (
            f"the ranks found different checkpoints in {checkpoints}; "
            "put --checkpoint-directory on storage every node shares"
        )
        raise DataValidationError(msg)
    broadcast_parameters(group, network)
    loader_generator = torch.Generator()
    loader = DataLoader(
        dataset,
        sampler=sampler,
        batch_size=None,
        num_workers=params.num_workers,
        generator=loader_generator,
        worker_init_fn=seed_data_loader_worker,
        pin_memory=group.device.type == "cuda",
    )

    def write_checkpoint() -> None:
        if group.is_writer:
            state = Checkpoint(
                fingerprint=fingerprint,
                progress=progress,
                model=network.state_dict(),
                optimizer=optimizer.state_dict(),
                scheduler=scheduler.state_dict(),
                random_state=RandomState.capture(group.device),
            )
            save_checkpoint(checkpoints, state, params.keep_checkpoints)
        synchronize(group)

    log.info(
        "training",
        extra={
            "device": str(group.device),
            "world_size": group.world_size,
            "steps": total_steps,
            "epochs": epochs,
            "start_step": progress.step,
            "fingerprint": fingerprint[:16],
        },
    )
    interactive = group.is_writer and sys.stderr.isatty()
    network.train()
    with _progress_bar(total_steps, progress.step, interactive) as advance:
        for epoch in range(progress.epoch, epochs):
            sampler.set_epoch(epoch, progress.batch_in_epoch)
            loader_generator.manual_seed(params.seed + epoch)
            for numeric, categorical, labels in loader:
                optimizer.zero_grad(set_to_none=True)
                logits = network(numeric.to(group.device), categorical.to(group.device))
                loss = HEAD.loss(logits, labels.to(group.device), params.positive_class_weight)
                loss.backward()
                average_gradients(group, network)
                optimizer.step()
                scheduler.step()
                progress.step += 1
                progress.batch_in_epoch += 1
                if progress.batch_in_epoch == sampler.batches_per_epoch:
                    progress.epoch, progress.batch_in_epoch = epoch + 1, 0
                if progress.step % params.log_every_steps == 0:
                    value = mean_across_ranks(group, loss)
                    progress.loss_history.append((progress.step, value))
                    log.info("step", extra={"step": progress.step, "epoch": epoch, "loss": value})
                advance()
                if on_step is not None:
                    on_step(progress.step)
                stopping = any_rank(group, stop.requested)
                if stopping or progress.step % params.checkpoint_every_steps == 0:
                    write_checkpoint()
                if stopping:
                    log.warning("preempted", extra={"step": progress.step})
                    msg = (
                        f"training stopped on {stop.signal_name or 'a signal on another rank'} "
                        f"after step {progress.step} and wrote a checkpoint in {checkpoints}; "
                        "run train again to resume"
                    )
                    raise TrainingPreemptedError(msg)

    metadata = None
    if group.is_writer:
        validation_metrics = _validation_metrics(
            network, validation, params.decision_threshold, group.device
        )
        metrics: dict[str, float | None] = dict(validation_metrics)
        metrics["final_train_loss"] = (
            progress.loss_history[-1][1] if progress.loss_history else None
        )
        revision = git_revision(Path.cwd())
        metadata = save_model(
            network,
            paths.model_directory,
            {
                "git_sha": revision["sha"],
                "git_dirty": revision["dirty"],
                "data_sha256": {
                    "train": data_sha256,
                    "validation": file_sha256(paths.data_directory / "validation.parquet"),
                },
                "params": {"model": model_params.model_dump(), "train": params.model_dump()},
                "seed": params.seed,
                "decision_threshold": params.decision_threshold,
                "library_versions": library_versions(),
                "metrics": metrics,
                "training": {
                    "steps": progress.step,
                    "world_size": group.world_size,
                    "device": str(group.device),
                    "deterministic": params.deterministic,
                },
            },
        )
        curve = "step,loss\n" + "".join(
            f"{step},{loss!r}\n" for step, loss in progress.loss_history
        )
        write_text_atomically(paths.plots_directory / "train_loss.csv", curve)
        write_drift_reference(
            paths.data_directory / "train.parquet",
            paths.model_directory / DRIFT_REFERENCE_FILE,
            rows=params.drift_reference_rows,
            seed=params.seed,
        )
        log.info("trained", extra={"metrics": metrics, "model_version": metadata["model_version"]})
    synchronize(group)
    return TrainingResult(steps=progress.step, resumed_from_step=resumed_from, metadata=metadata)
