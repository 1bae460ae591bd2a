import pickle

import numpy as np
import pandas as pd
import xgboost as xgb


class XGBoostHandler:
    """Serves a booster that the training job pickled to object storage."""

    def __init__(self, model_path):
        with open(model_path, "rb") as f:
            self.model = pickle.load(f)

    def predict(self, input_data):
        rows = input_data if isinstance(input_data, list) else [input_data]
        probs = self.model.predict(xgb.DMatrix(pd.DataFrame(rows)))
        multiclass = probs.ndim > 1 and probs.shape[1] > 1
        labels = np.argmax(probs, axis=1) if multiclass else (probs > 0.5).astype(int)
        return {"predictions": labels.tolist(), "probabilities": probs.tolist()}
