"""Minimal reproduction: model loading through the wrapper in utils/patches.py."""

from yolo.utils.patches import torch_load


def attempt_load_one_weight(weight, device=None):
    """Load one checkpoint file and return its model in eval mode."""
    ckpt = torch_load(weight, map_location="cpu")
    model = (ckpt.get("ema") or ckpt["model"]).to(device).float()
    return model.eval(), ckpt
