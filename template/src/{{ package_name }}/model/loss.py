"""The training loss: binary cross-entropy on logits, with an optional weight on positives."""

from __future__ import annotations

import torch
from torch.nn import functional


def conversion_loss(
    logits: torch.Tensor, labels: torch.Tensor, positive_class_weight: float = 1.0
) -> torch.Tensor:
    """Mean BCE computed from logits (numerically stable where sigmoid would saturate)."""
    weight = torch.tensor(positive_class_weight, dtype=logits.dtype, device=logits.device)
    return functional.binary_cross_entropy_with_logits(logits, labels, pos_weight=weight)
