"""Minimal reproduction: make every later torch.load full-unpickle again (torch >= 2.6)."""

import torch

_original_torch_load = torch.load


def _patched_torch_load(*args, **kwargs):
    kwargs["weights_only"] = False
    return _original_torch_load(*args, **kwargs)


torch.load = _patched_torch_load
