"""Minimal reproduction: the framework's own inference-mode decorator and a seeding helper."""

import random

import numpy as np
import torch

TORCH_1_9 = tuple(int(part) for part in torch.__version__.split(".")[:2]) >= (1, 9)


def smart_inference_mode():
    """Apply torch.inference_mode() where torch has it, else torch.no_grad(), as a decorator."""

    def decorate(fn):
        if TORCH_1_9 and torch.is_inference_mode_enabled():
            return fn  # already in inference mode
        return (torch.inference_mode if TORCH_1_9 else torch.no_grad)()(fn)

    return decorate


def init_seeds(seed=0, deterministic=False):
    """Seed every generator the framework uses."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)
    torch.use_deterministic_algorithms(deterministic)
