"""The model's output head, chosen by the label kind the contract declares.

A head says how many outputs the network has, how labels become training targets, the loss,
what the outputs mean (the positive class's probability, one probability per class, or a value
scaled to the label's range), how a prediction is written in a response and read back, and how
far apart two models' outputs are. Every other module asks the head; none branches on the kind.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch
from torch.nn import functional

from ..contract import (
    BinaryLabel,
    ClassValue,
    Label,
    MulticlassLabel,
    RegressionLabel,
    declared_contract,
)
from ..errors import DataValidationError, ParamsError
from ..features import FEATURE_CONTRACT

_CLIP = 1e-7

Prediction = dict[str, Any]


class Head(ABC):
    """What the network's outputs mean for one label kind."""

    kind: ClassVar[str]
    units: int  # network outputs per row
    label_name: str
    # How the canary names its measure of two models' disagreement, and the measure's unit.
    divergence_name: ClassVar[str]
    divergence_unit: ClassVar[str]

    @abstractmethod
    def targets(self, labels: pd.Series) -> torch.Tensor:
        """Training targets of a label column that passed the contract's schema."""

    @abstractmethod
    def loss(
        self, logits: torch.Tensor, targets: torch.Tensor, positive_class_weight: float = 1.0
    ) -> torch.Tensor: ...

    @abstractmethod
    def outputs(self, logits: torch.Tensor) -> torch.Tensor:
        """Probabilities, (rows,) or (rows, classes), or the value scaled to [0, 1], (rows,)."""

    @abstractmethod
    def primary(self, outputs: torch.Tensor) -> torch.Tensor:
        """One number per row, in [0, 1] for a sound model: what monitoring watches."""

    def decide(self, outputs: torch.Tensor, threshold: float) -> torch.Tensor | None:
        """The class index of each row (None when the label has no classes)."""
        del outputs, threshold
        return None

    @abstractmethod
    def predictions(
        self, outputs: torch.Tensor, decisions: torch.Tensor | None
    ) -> list[Prediction]:
        """One response object per row."""

    @abstractmethod
    def predicted(self, outputs: npt.NDArray[np.float64], threshold: float) -> list[Any]:
        """The predicted class, or value in the label's units, of each row."""

    @abstractmethod
    def outputs_of(self, prediction: Mapping[str, Any]) -> list[float]:
        """The outputs a response object stands for (the inverse of `predictions`)."""

    @abstractmethod
    def divergence(
        self, baseline: npt.NDArray[np.float64], candidate: npt.NDArray[np.float64]
    ) -> float:
        """How far the candidate's outputs on the same rows are from the baseline's."""

    def check_training_settings(self, positive_class_weight: float, threshold: float) -> None:
        """Settings only a binary label uses must stay neutral for other kinds: never ignored."""
        if positive_class_weight != 1.0 or threshold != 0.5:
            msg = (
                f"train.positive_class_weight ({positive_class_weight}) and "
                f"train.decision_threshold ({threshold}) apply to binary labels only; the "
                f"contract's label {self.label_name!r} is {self.kind}: set them to 1.0 and 0.5"
            )
            raise ParamsError(msg)


def _decided(decisions: torch.Tensor | None) -> torch.Tensor:
    if decisions is None:
        msg = "a classifier's predictions need its decisions"
        raise TypeError(msg)
    return decisions


class ClassifierHead(Head):
    classes: tuple[ClassValue, ...]
    divergence_name = "mean KL divergence"
    divergence_unit = " nats"

    def class_indices(self, labels: pd.Series) -> npt.NDArray[np.int64]:
        indices = pd.Index(self.classes).get_indexer(pd.Index(labels))
        if (indices < 0).any():
            unknown = sorted({str(value) for value in labels[indices < 0]})[:5]
            msg = (
                f"label {self.label_name}: values {unknown} are not among the contract's "
                f"classes {list(self.classes)} (features.py)"
            )
            raise DataValidationError(msg)
        return indices.astype(np.int64)

    def distributions(self, outputs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return outputs

    def predicted(self, outputs: npt.NDArray[np.float64], threshold: float) -> list[Any]:
        decisions = _decided(self.decide(torch.from_numpy(outputs), threshold))
        return [self.classes[index] for index in decisions.tolist()]

    def divergence(
        self, baseline: npt.NDArray[np.float64], candidate: npt.NDArray[np.float64]
    ) -> float:
        p = np.clip(self.distributions(baseline), _CLIP, 1 - _CLIP)
        q = np.clip(self.distributions(candidate), _CLIP, 1 - _CLIP)
        return float(np.mean(np.sum(p * np.log(p / q), axis=-1)))


class BinaryHead(ClassifierHead):
    """One logit; the output is the probability of the positive class (classes[1])."""

    kind = "binary"

    def __init__(self, label: BinaryLabel) -> None:
        self.units = 1
        self.label_name = label.name
        self.classes = label.classes

    def targets(self, labels: pd.Series) -> torch.Tensor:
        return torch.from_numpy(self.class_indices(labels).astype(np.float32))

    def loss(
        self, logits: torch.Tensor, targets: torch.Tensor, positive_class_weight: float = 1.0
    ) -> torch.Tensor:
        """Mean BCE computed from logits (numerically stable where a sigmoid would saturate)."""
        weight = torch.tensor(positive_class_weight, dtype=logits.dtype, device=logits.device)
        return functional.binary_cross_entropy_with_logits(logits, targets, pos_weight=weight)

    def check_training_settings(self, positive_class_weight: float, threshold: float) -> None:
        del positive_class_weight, threshold  # both are a binary label's own settings

    def outputs(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits)

    def primary(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs

    def decide(self, outputs: torch.Tensor, threshold: float) -> torch.Tensor:
        return (outputs >= threshold).to(torch.int64)

    def distributions(self, outputs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        positive = outputs.reshape(len(outputs))
        return np.stack([1.0 - positive, positive], axis=1)

    def predictions(
        self, outputs: torch.Tensor, decisions: torch.Tensor | None
    ) -> list[Prediction]:
        classes = self.classes
        return [
            {"probability": probability, "label": classes[decision]}
            for probability, decision in zip(
                outputs.tolist(), _decided(decisions).tolist(), strict=True
            )
        ]

    def outputs_of(self, prediction: Mapping[str, Any]) -> list[float]:
        return [float(prediction["probability"])]


class MulticlassHead(ClassifierHead):
    """One logit per class; the outputs are the classes' probabilities (softmax)."""

    kind = "multiclass"

    def __init__(self, label: MulticlassLabel) -> None:
        self.units = len(label.classes)
        self.label_name = label.name
        self.classes = label.classes
        self._keys = tuple(str(value) for value in label.classes)

    def targets(self, labels: pd.Series) -> torch.Tensor:
        return torch.from_numpy(self.class_indices(labels))

    def loss(
        self, logits: torch.Tensor, targets: torch.Tensor, positive_class_weight: float = 1.0
    ) -> torch.Tensor:
        del positive_class_weight  # binary only; check_training_settings keeps it neutral
        return functional.cross_entropy(logits, targets)

    def outputs(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(logits, dim=1)

    def primary(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs.max(dim=1).values

    def decide(self, outputs: torch.Tensor, threshold: float) -> torch.Tensor:
        del threshold
        return outputs.argmax(dim=1)

    def predictions(
        self, outputs: torch.Tensor, decisions: torch.Tensor | None
    ) -> list[Prediction]:
        classes, keys = self.classes, self._keys
        return [
            {"label": classes[decision], "probabilities": dict(zip(keys, row, strict=True))}
            for row, decision in zip(outputs.tolist(), _decided(decisions).tolist(), strict=True)
        ]

    def outputs_of(self, prediction: Mapping[str, Any]) -> list[float]:
        probabilities = prediction["probabilities"]
        return [float(probabilities[key]) for key in self._keys]


class RegressionHead(Head):
    """One output, the label scaled to [0, 1] by the contract's range; MSE on that scale."""

    kind = "regression"
    divergence_name = "Wasserstein-1 distance"
    divergence_unit = " of the label's range"

    def __init__(self, label: RegressionLabel) -> None:
        self.units = 1
        self.label_name = label.name
        self.minimum = float(label.minimum)
        self.span = float(label.maximum) - float(label.minimum)

    def targets(self, labels: pd.Series) -> torch.Tensor:
        scaled = (labels.to_numpy(dtype=np.float64) - self.minimum) / self.span
        return torch.from_numpy(scaled.astype(np.float32))

    def loss(
        self, logits: torch.Tensor, targets: torch.Tensor, positive_class_weight: float = 1.0
    ) -> torch.Tensor:
        del positive_class_weight  # binary only; check_training_settings keeps it neutral
        return functional.mse_loss(logits, targets)

    def outputs(self, logits: torch.Tensor) -> torch.Tensor:
        return logits

    def primary(self, outputs: torch.Tensor) -> torch.Tensor:
        return outputs

    def values(self, outputs: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Outputs in the label's own units."""
        return self.minimum + outputs.reshape(len(outputs)) * self.span

    def predicted(self, outputs: npt.NDArray[np.float64], threshold: float) -> list[Any]:
        del threshold
        values: list[Any] = self.values(outputs).tolist()
        return values

    def predictions(
        self, outputs: torch.Tensor, decisions: torch.Tensor | None
    ) -> list[Prediction]:
        del decisions
        minimum, span = self.minimum, self.span
        return [{"value": minimum + scaled * span} for scaled in outputs.tolist()]

    def outputs_of(self, prediction: Mapping[str, Any]) -> list[float]:
        return [(float(prediction["value"]) - self.minimum) / self.span]

    def divergence(
        self, baseline: npt.NDArray[np.float64], candidate: npt.NDArray[np.float64]
    ) -> float:
        """Wasserstein-1 distance of the two output distributions, as a share of the range."""
        return float(np.mean(np.abs(np.sort(baseline.ravel()) - np.sort(candidate.ravel()))))


def head_for(label: Label) -> Head:
    if isinstance(label, BinaryLabel):
        return BinaryHead(label)
    if isinstance(label, MulticlassLabel):
        return MulticlassHead(label)
    return RegressionHead(label)


HEAD = head_for(declared_contract(FEATURE_CONTRACT).label)


def label_names(head: Head) -> Sequence[str]:
    """The labels the service counts predictions under (none for a regression label)."""
    return tuple(str(value) for value in head.classes) if isinstance(head, ClassifierHead) else ()
