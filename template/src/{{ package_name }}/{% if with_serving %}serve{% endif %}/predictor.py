"""The model behind the service: loaded once, run under `torch.inference_mode()`."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..model.encoding import EncodedFeatures, RowEncoder
from ..model.heads import HEAD, Head
from ..model.weights import LoadedModel
from .request_model import INSTANCE_ATTRIBUTES

logger = logging.getLogger(__name__)


class ModelOverloadedError(Exception):
    """The accelerator ran out of memory on this request; the process stays up."""


@dataclass(frozen=True)
class Scored:
    outputs: torch.Tensor  # the head's, float32 on the CPU: (rows,) or (rows, classes)
    decisions: torch.Tensor | None  # class index per row, int64 (None for a regression label)
    all_finite: bool

    def rows(self, part: slice) -> Scored:
        outputs = self.outputs[part]
        decisions = None if self.decisions is None else self.decisions[part]
        return Scored(outputs, decisions, self.all_finite or bool(outputs.isfinite().all()))


class Predictor:
    """Encodes validated rows and scores them; never builds an autograd graph."""

    def __init__(
        self,
        loaded: LoadedModel,
        device: torch.device,
        cuda_memory_fraction: float | None = None,
        head: Head = HEAD,
    ) -> None:
        if device.type == "cuda" and cuda_memory_fraction is not None:
            # A cap per process: several workers on one GPU cannot starve each other.
            torch.cuda.set_per_process_memory_fraction(cuda_memory_fraction, device)
        self.device = device
        self.network = loaded.network.to(device).eval()
        self.threshold = loaded.decision_threshold
        self.head = head
        self.encoder = RowEncoder(attributes=INSTANCE_ATTRIBUTES)

    def encode(self, rows: Sequence[object]) -> EncodedFeatures:
        return self.encoder.encode(rows)

    def score(self, features: EncodedFeatures) -> Scored:
        on_device = features.to(self.device) if self.device.type != "cpu" else features
        try:
            with torch.inference_mode():
                outputs = self.head.outputs(
                    self.network(on_device.numeric, on_device.categorical)
                ).to("cpu")
        except torch.cuda.OutOfMemoryError as error:
            torch.cuda.empty_cache()
            logger.warning("out of memory on a request", extra={"rows": features.numeric.shape[0]})
            raise ModelOverloadedError(str(error)) from error
        all_finite = bool(torch.isfinite(outputs).all())
        return Scored(outputs, self.head.decide(outputs, self.threshold), all_finite)
