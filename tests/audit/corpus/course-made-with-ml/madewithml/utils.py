# Reproduction, abridged: the seeding and JSON helpers.
import json
import os
import random
from typing import Dict

import numpy as np
import torch


def set_seeds(seed: int = 42):
    """Set seeds for reproducibility."""
    np.random.seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def load_dict(path: str) -> Dict:
    """Load a dictionary from a JSON's filepath."""
    with open(path) as fp:
        return json.load(fp)
