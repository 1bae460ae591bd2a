"""The embedded default data source: synthetic leads, identical for the same seed.

Replace `sample_leads` (and the `sample` stage) with your own source; keep the output a
Parquet file whose columns follow the feature contract.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..features import FEATURE_CONTRACT

# The known logistic model the labels come from, so a trained model can be judged against it.
INTERCEPT = -4.0
COEFFICIENTS = {"form_score": 5.0, "email_open_rate": 2.5, "session_depth": 4.0}
COUNTRY_OFFSETS = {
    "US": 0.8, "GB": 0.6, "DE": 0.4, "FR": 0.0, "IN": -0.8,
    "BR": -0.5, "JP": 0.2, "CA": 0.6, "AU": 0.4, "ES": -0.2,
}  # fmt: skip
COUNTRY_WEIGHTS = {
    "US": 0.30, "GB": 0.12, "DE": 0.10, "FR": 0.08, "IN": 0.12,
    "BR": 0.08, "JP": 0.06, "CA": 0.06, "AU": 0.04, "ES": 0.04,
}  # fmt: skip
LOGIT_NOISE = 0.5


def sample_leads(rows: int, seed: int) -> pd.DataFrame:
    """ROWS leads drawn from SEED: features within the contract, label from the logistic model."""
    generator = np.random.default_rng(seed)
    countries = FEATURE_CONTRACT.categorical[0].categories
    columns = {
        "form_score": generator.beta(2.0, 3.0, rows),
        "email_open_rate": generator.uniform(0.0, 1.0, rows),
        "session_depth": generator.beta(1.5, 4.0, rows),
    }
    country = generator.choice(countries, size=rows, p=[COUNTRY_WEIGHTS[c] for c in countries])
    logit = INTERCEPT + sum(COEFFICIENTS[name] * values for name, values in columns.items())
    logit = logit + np.vectorize(COUNTRY_OFFSETS.__getitem__)(country)
    logit = logit + generator.normal(0.0, LOGIT_NOISE, rows)
    converted = (generator.uniform(0.0, 1.0, rows) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    frame = pd.DataFrame(
        {
            FEATURE_CONTRACT.identifier: [f"lead-{seed}-{index:08d}" for index in range(rows)],
            **columns,
            "country": pd.Series(country, dtype="str"),
            FEATURE_CONTRACT.label: converted,
        }
    )
    return frame[list(FEATURE_CONTRACT.column_names)]
