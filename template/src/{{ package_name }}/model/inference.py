"""Predictions from a frame, under `torch.inference_mode()`: no graph is ever kept."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from .encoding import encode_features
from .network import LeadConversionNetwork


def predict_probabilities(
    network: LeadConversionNetwork, frame: pd.DataFrame, device: torch.device
) -> npt.NDArray[np.float64]:
    """Conversion probability of every row of FRAME (features as in the contract)."""
    features = encode_features(frame).to(device)
    network.eval()
    with torch.inference_mode():
        probabilities = torch.sigmoid(network(features.numeric, features.categorical))
    return probabilities.to("cpu", torch.float64).numpy()


def decide(probabilities: npt.NDArray[np.float64], threshold: float) -> npt.NDArray[np.int64]:
    return (probabilities >= threshold).astype(np.int64)
