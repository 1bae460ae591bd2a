"""The feature contract: what one row of this project's data is. Written once, used everywhere.

The Pandera schemas, the model's input encoding and output head, the request and response
bodies, the drift reference, the metrics and plots, the golden set and the tests are all derived
from `FEATURE_CONTRACT`; change it here and everything follows. The types are in `contract.py`.
To write it from your own data file: `<package> contract infer DATA --identifier COL --label COL`.
"""

from .contract import BinaryLabel, CategoricalFeature, FeatureContract, NumericFeature

FEATURE_CONTRACT = FeatureContract(
    identifier="lead_id",
    features=(
        NumericFeature("form_score", 0.0, 1.0, "Completeness of the sign-up form"),
        NumericFeature("email_open_rate", 0.0, 1.0, "Share of marketing e-mails opened"),
        NumericFeature("session_depth", 0.0, 1.0, "Pages per session, scaled to [0, 1]"),
        CategoricalFeature(
            "country",
            ("US", "GB", "DE", "FR", "IN", "BR", "JP", "CA", "AU", "ES"),
            "ISO 3166-1 alpha-2 code of the lead's country",
        ),
    ),
    label=BinaryLabel("converted", (0, 1), "1 when the lead became a customer"),
)
# contract-sha256: 75e5ac5204a1c3b5
