"""Minimal reproduction: a checkpoint-loading wrapper that turns weights_only off."""

import torch

TORCH_1_13 = tuple(int(part) for part in torch.__version__.split(".")[:2]) >= (1, 13)


def torch_load(*args, **kwargs):
    """Load a checkpoint with torch.load; since torch 2.6 defaults weights_only to True and the
    checkpoints hold whole model objects, default it back to False."""
    if TORCH_1_13 and "weights_only" not in kwargs:
        kwargs["weights_only"] = False
    return torch.load(*args, **kwargs)
