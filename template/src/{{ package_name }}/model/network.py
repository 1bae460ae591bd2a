"""The network: scaled numbers and one embedding per categorical feature, through an MLP, into
the output head the label kind asks for (one logit, one per class, or one value)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from ..contract import FeatureContract
from ..features import FEATURE_CONTRACT
from .heads import head_for


@dataclass(frozen=True)
class Architecture:
    numeric_features: int
    category_counts: tuple[int, ...]
    embedding_dim: int
    hidden_units: int
    outputs: int

    @classmethod
    def for_contract(
        cls, embedding_dim: int, hidden_units: int, contract: FeatureContract = FEATURE_CONTRACT
    ) -> Architecture:
        return cls(
            numeric_features=len(contract.numeric),
            category_counts=tuple(len(c.categories) for c in contract.categorical),
            embedding_dim=embedding_dim,
            hidden_units=hidden_units,
            outputs=head_for(contract.label).units,
        )

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Architecture:
        return cls(
            numeric_features=int(values["numeric_features"]),
            category_counts=tuple(int(count) for count in values["category_counts"]),
            embedding_dim=int(values["embedding_dim"]),
            hidden_units=int(values["hidden_units"]),
            outputs=int(values["outputs"]),
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class TabularNetwork(nn.Module):
    """Raw outputs (logits, or the scaled value) from the contract's features: (rows,) for one
    output, (rows, outputs) for several."""

    def __init__(self, architecture: Architecture) -> None:
        super().__init__()
        self.architecture = architecture
        self.embeddings = nn.ModuleList(
            nn.Embedding(count, architecture.embedding_dim)
            for count in architecture.category_counts
        )
        width = (
            architecture.numeric_features
            + len(architecture.category_counts) * architecture.embedding_dim
        )
        self.layers = nn.Sequential(
            nn.Linear(width, architecture.hidden_units),
            nn.ReLU(),
            nn.Linear(architecture.hidden_units, architecture.hidden_units),
            nn.ReLU(),
            nn.Linear(architecture.hidden_units, architecture.outputs),
        )

    def forward(self, numeric: torch.Tensor, categorical: torch.Tensor) -> torch.Tensor:
        embedded = [
            embedding(categorical[:, position])
            for position, embedding in enumerate(self.embeddings)
        ]
        logits: torch.Tensor = self.layers(torch.cat([numeric, *embedded], dim=1))
        return logits.squeeze(1) if self.architecture.outputs == 1 else logits
