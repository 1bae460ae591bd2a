import joblib
import numpy as np
from loguru import logger

from fastapi_skeleton.models.payload import HousePredictionPayload, payload_to_list
from fastapi_skeleton.models.prediction import HousePredictionResult


class HousePriceModel:
    """A scikit-learn regressor saved with joblib, served one payload at a time."""

    RESULT_UNIT_FACTOR = 100

    def __init__(self, path: str) -> None:
        self.path = path
        self.model = joblib.load(self.path)

    def predict(self, payload: HousePredictionPayload) -> HousePredictionResult:
        features = np.asarray(payload_to_list(payload)).reshape(1, -1)
        logger.debug("Predicting for {} features.", features.shape[1])
        value = self.model.predict(features).tolist()[0]
        return HousePredictionResult(median_house_value=int(value * self.RESULT_UNIT_FACTOR))
