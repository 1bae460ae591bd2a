"""The feature contract: the one place that says what a lead looks like.

The Pandera schemas, the model's input encoding, the request model and the drift reference
are all derived from `FEATURE_CONTRACT`; change a feature here and everything follows.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class NumericFeature:
    name: str
    minimum: float
    maximum: float
    description: str


@dataclass(frozen=True)
class CategoricalFeature:
    name: str
    categories: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class FeatureContract:
    identifier: str
    numeric: tuple[NumericFeature, ...]
    categorical: tuple[CategoricalFeature, ...]
    label: str
    version: str = field(init=False)

    def __post_init__(self) -> None:
        canonical = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        object.__setattr__(self, "version", hashlib.sha256(canonical.encode()).hexdigest()[:16])

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.numeric) + tuple(f.name for f in self.categorical)

    @property
    def column_names(self) -> tuple[str, ...]:
        """Every column of a labelled data file, in file order."""
        return (self.identifier, *self.feature_names, self.label)

    def as_dict(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "numeric": [
                {"name": f.name, "minimum": f.minimum, "maximum": f.maximum} for f in self.numeric
            ],
            "categorical": [
                {"name": f.name, "categories": list(f.categories)} for f in self.categorical
            ],
            "label": self.label,
        }


FEATURE_CONTRACT = FeatureContract(
    identifier="lead_id",
    numeric=(
        NumericFeature("form_score", 0.0, 1.0, "Completeness of the sign-up form"),
        NumericFeature("email_open_rate", 0.0, 1.0, "Share of marketing e-mails opened"),
        NumericFeature("session_depth", 0.0, 1.0, "Pages per session, scaled to [0, 1]"),
    ),
    categorical=(
        CategoricalFeature(
            "country",
            ("US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "AU", "ES"),
            "ISO 3166-1 alpha-2 code of the lead's country",
        ),
    ),
    label="converted",
)
