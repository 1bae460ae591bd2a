"""Rows for any feature contract, with a planted signal: the data of tests and benchmarks.

Not a data source. Each feature is drawn uniformly within its contract (range or categories),
and the label is a fixed random function of the features plus noise, so that a model that trains
has something to learn whatever the contract says: the positive class's log-odds (binary), one
score per class (multiclass), or a value within the label's range (regression).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..contract import (
    BinaryLabel,
    CategoricalFeature,
    FeatureContract,
    IntegerFeature,
    MulticlassLabel,
)
from ..features import FEATURE_CONTRACT

SIGNAL_STRENGTH = 3.0  # the latent score's scale: large enough for a small run to learn
NOISE = 0.3


def _standardized(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    centered = values - values.mean(axis=0)
    spread = centered.std(axis=0)
    standardized: npt.NDArray[np.float64] = centered / np.where(spread > 0, spread, 1.0)
    return standardized


def synthetic_features(
    rows: int, seed: int, contract: FeatureContract = FEATURE_CONTRACT
) -> pd.DataFrame:
    """ROWS rows of CONTRACT's features, each within its declaration, the same for SEED."""
    generator = np.random.default_rng(seed)
    columns: dict[str, pd.Series] = {}
    for feature in contract.features:
        if isinstance(feature, CategoricalFeature):
            codes = generator.integers(0, len(feature.categories), rows)
            values = np.asarray(feature.categories, dtype=object)[codes]
            columns[feature.name] = pd.Series(values, dtype="str")
        elif isinstance(feature, IntegerFeature):
            drawn = generator.integers(feature.minimum, feature.maximum, rows, endpoint=True)
            columns[feature.name] = pd.Series(drawn, dtype="int64")
        else:
            span = feature.maximum - feature.minimum
            drawn = np.clip(
                feature.minimum + generator.random(rows) * span, feature.minimum, feature.maximum
            )
            columns[feature.name] = pd.Series(drawn, dtype="float64")
    return pd.DataFrame(columns, index=pd.RangeIndex(rows))


def _signals(
    features: pd.DataFrame, contract: FeatureContract, count: int, seed: int
) -> npt.NDArray[np.float64]:
    """COUNT standardized latent scores per row: a fixed random function of the features."""
    generator = np.random.default_rng([seed, 1])
    parts = []
    for feature in contract.features:
        column = features[feature.name]
        if isinstance(feature, CategoricalFeature):
            codes = pd.Index(feature.categories).get_indexer(pd.Index(column))
            parts.append(generator.normal(size=(len(feature.categories), count))[codes])
        else:
            scaled = (column.to_numpy(dtype=np.float64) - feature.minimum) / (
                feature.maximum - feature.minimum
            )
            parts.append(np.outer(scaled - 0.5, generator.normal(size=count)))
    return _standardized(np.sum(parts, axis=0))


def synthetic_rows(
    rows: int, seed: int, contract: FeatureContract = FEATURE_CONTRACT
) -> pd.DataFrame:
    """ROWS labelled rows of CONTRACT, in file order, the same for SEED."""
    features = synthetic_features(rows, seed, contract)
    generator = np.random.default_rng([seed, 2])
    label = contract.label
    if isinstance(label, BinaryLabel):
        logits = SIGNAL_STRENGTH * _signals(features, contract, 1, seed)[:, 0]
        positive = generator.random(rows) < 1.0 / (1.0 + np.exp(-logits))
        values = pd.Series(np.asarray(label.classes, dtype=object)[positive.astype(int)])
    elif isinstance(label, MulticlassLabel):
        scores = SIGNAL_STRENGTH * _signals(features, contract, len(label.classes), seed)
        chosen = (scores + generator.gumbel(size=scores.shape)).argmax(axis=1)
        values = pd.Series(np.asarray(label.classes, dtype=object)[chosen])
    else:
        latent = _signals(features, contract, 1, seed)[:, 0] + NOISE * generator.normal(size=rows)
        share = 1.0 / (1.0 + np.exp(-latent))
        values = pd.Series(label.minimum + share * (label.maximum - label.minimum))
    if isinstance(label, BinaryLabel | MulticlassLabel):
        values = values.astype("int64" if isinstance(label.classes[0], int) else "str")
    identifiers = pd.Series([f"row-{seed}-{index:08d}" for index in range(rows)], dtype="str")
    frame = features.assign(**{contract.identifier: identifiers, label.name: values})
    return frame[list(contract.column_names)]
