"""Frames to tensors, derived from the feature contract: numeric features scaled to [0, 1]
by their contract ranges, categories to the index of their position in the contract."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..errors import DataValidationError
from ..features import FEATURE_CONTRACT, FeatureContract


@dataclass(frozen=True)
class EncodedFeatures:
    numeric: torch.Tensor  # float32, (rows, numeric features)
    categorical: torch.Tensor  # int64, (rows, categorical features)

    def to(self, device: torch.device) -> EncodedFeatures:
        return EncodedFeatures(self.numeric.to(device), self.categorical.to(device))


def encode_features(
    frame: pd.DataFrame, contract: FeatureContract = FEATURE_CONTRACT
) -> EncodedFeatures:
    numeric = np.empty((len(frame), len(contract.numeric)), dtype=np.float32)
    for position, feature in enumerate(contract.numeric):
        span = feature.maximum - feature.minimum
        values = frame[feature.name].to_numpy(dtype=np.float64)
        numeric[:, position] = (values - feature.minimum) / span
    categorical = np.empty((len(frame), len(contract.categorical)), dtype=np.int64)
    for position, category in enumerate(contract.categorical):
        codes = pd.Index(category.categories).get_indexer(pd.Index(frame[category.name]))
        if (codes < 0).any():
            unknown = sorted({str(v) for v in frame[category.name][codes < 0]})[:5]
            msg = (
                f"column {category.name}: unknown categories {unknown}; "
                f"allowed: {', '.join(category.categories)}"
            )
            raise DataValidationError(msg)
        categorical[:, position] = codes
    return EncodedFeatures(torch.from_numpy(numeric), torch.from_numpy(categorical))


def encode_labels(
    frame: pd.DataFrame, contract: FeatureContract = FEATURE_CONTRACT
) -> torch.Tensor:
    return torch.from_numpy(frame[contract.label].to_numpy(dtype=np.float32))
