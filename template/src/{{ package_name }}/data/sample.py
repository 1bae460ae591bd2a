"""The demo's data source: synthetic lead-conversion rows, identical for the same seed.

It writes the lead-conversion demo's columns, so it fits the demo's feature contract only. Once
features.py describes your own data, replace the `sample` stage of dvc.yaml with your source
(README: "Bring your own data"); this stage then refuses to run rather than write wrong rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..contract import FeatureContract
from ..errors import DataValidationError, ParamsError
from ..features import FEATURE_CONTRACT
from ..params import SampleParams

# The version of the contract these rows are drawn for (FEATURE_CONTRACT as generated).
LEAD_CONVERSION_CONTRACT_VERSION = "5236b45050c21f5f"

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


def uses_demo_contract(contract: FeatureContract = FEATURE_CONTRACT) -> bool:
    """Whether CONTRACT is the lead-conversion demo's, the only one this source can fill."""
    return contract.version == LEAD_CONVERSION_CONTRACT_VERSION


def sample_leads(params: SampleParams | None) -> pd.DataFrame:
    """PARAMS.rows leads drawn from PARAMS.seed: features within the contract, label from the
    logistic model; refused when features.py no longer declares the demo's contract."""
    if params is None:
        msg = "params.yaml has no `sample` section, the demo data source's: add it back"
        raise ParamsError(msg)
    if not uses_demo_contract():
        msg = (
            "the sample stage writes the lead-conversion demo's rows, which fit only the demo's "
            f"feature contract, and features.py now declares another (version "
            f"{FEATURE_CONTRACT.version}): replace the sample stage in dvc.yaml with your data "
            "source (README, Bring your own data)"
        )
        raise DataValidationError(msg)
    rows, generator = params.rows, np.random.default_rng(params.seed)
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
            FEATURE_CONTRACT.identifier: [
                f"lead-{params.seed}-{index:08d}" for index in range(rows)
            ],
            **columns,
            "country": pd.Series(country, dtype="str"),
            FEATURE_CONTRACT.label.name: converted,
        }
    )
    return frame[list(FEATURE_CONTRACT.column_names)]
