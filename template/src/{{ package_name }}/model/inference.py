"""Predictions from a frame, under `torch.inference_mode()`: no graph is ever kept."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
import torch

from ..contract import FeatureContract
from ..features import FEATURE_CONTRACT
from .encoding import encode_features
from .heads import Head, head_for
from .network import TabularNetwork


def predict_outputs(
    network: TabularNetwork,
    frame: pd.DataFrame,
    device: torch.device,
    contract: FeatureContract = FEATURE_CONTRACT,
) -> npt.NDArray[np.float64]:
    """The head's outputs for every row of FRAME: probabilities, or values scaled to [0, 1]."""
    head: Head = head_for(contract.label)
    features = encode_features(frame, contract).to(device)
    network.eval()
    with torch.inference_mode():
        outputs = head.outputs(network(features.numeric, features.categorical))
    return outputs.to("cpu", torch.float64).numpy()
