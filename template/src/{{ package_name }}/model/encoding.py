"""Frames to tensors, derived from the feature contract: numeric and integer features scaled to
[0, 1] by their contract ranges, categories to the index of their position in the contract."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from ..contract import FeatureContract
from ..errors import DataValidationError
from ..features import FEATURE_CONTRACT


@dataclass(frozen=True)
class EncodedFeatures:
    numeric: torch.Tensor  # float32, (rows, numeric features)
    categorical: torch.Tensor  # int64, (rows, categorical features)

    def to(self, device: torch.device) -> EncodedFeatures:
        return EncodedFeatures(self.numeric.to(device), self.categorical.to(device))


@dataclass(frozen=True)
class NumericScaling:
    """Numeric and integer features scaled to [0, 1] by their contract ranges (rows x features)."""

    minimums: npt.NDArray[np.float64]
    spans: npt.NDArray[np.float64]

    @classmethod
    def of(cls, contract: FeatureContract) -> NumericScaling:
        return cls(
            np.array([feature.minimum for feature in contract.numeric], dtype=np.float64),
            np.array(
                [feature.maximum - feature.minimum for feature in contract.numeric],
                dtype=np.float64,
            ),
        )

    def apply(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
        return ((values - self.minimums) / self.spans).astype(np.float32)


def encode_features(
    frame: pd.DataFrame, contract: FeatureContract = FEATURE_CONTRACT
) -> EncodedFeatures:
    names = [feature.name for feature in contract.numeric]
    numeric = NumericScaling.of(contract).apply(
        frame[names].to_numpy(dtype=np.float64).reshape(len(frame), -1)
    )
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


@dataclass(frozen=True)
class RowEncoder:
    """Encodes rows already validated against the contract (features as attributes), exactly
    as `encode_features` encodes a frame, without building one: the service's hot path.

    ATTRIBUTES maps a feature name to the attribute a row holds it in (default: the name)."""

    contract: FeatureContract = FEATURE_CONTRACT
    attributes: Mapping[str, str] = field(default_factory=dict)
    _numeric_names: tuple[str, ...] = field(init=False)
    _scaling: NumericScaling = field(init=False)
    _category_codes: tuple[tuple[str, dict[str, int]], ...] = field(init=False)

    def __post_init__(self) -> None:
        attribute = {name: self.attributes.get(name, name) for name in self.contract.feature_names}
        numeric = tuple(attribute[f.name] for f in self.contract.numeric)
        object.__setattr__(self, "_numeric_names", numeric)
        object.__setattr__(self, "_scaling", NumericScaling.of(self.contract))
        codes = tuple(
            (
                attribute[feature.name],
                {category: code for code, category in enumerate(feature.categories)},
            )
            for feature in self.contract.categorical
        )
        object.__setattr__(self, "_category_codes", codes)

    def encode(self, rows: Sequence[object]) -> EncodedFeatures:
        values = np.array(
            [[getattr(row, name) for name in self._numeric_names] for row in rows],
            dtype=np.float64,
        ).reshape(len(rows), len(self._numeric_names))
        categorical = torch.tensor(
            [[codes[getattr(row, name)] for name, codes in self._category_codes] for row in rows],
            dtype=torch.int64,
        ).reshape(len(rows), len(self._category_codes))
        return EncodedFeatures(torch.from_numpy(self._scaling.apply(values)), categorical)
