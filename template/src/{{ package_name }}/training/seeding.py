"""Every source of randomness, seeded and captured, so a resumed run continues bit for bit."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

# cuBLAS needs a fixed workspace to be deterministic; it must be set before the first CUDA call.
CUBLAS_WORKSPACE_CONFIG = ":4096:8"


def make_deterministic(seed: int, *, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch (CPU and every CUDA device); refuse nondeterministic kernels."""
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE_CONFIG)
    random.seed(seed)
    np.random.seed(seed % 2**32)  # seeds third-party code that uses the global RNG
    torch.manual_seed(seed)  # seeds every CUDA device too
    _use_deterministic_algorithms(deterministic)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic


def _use_deterministic_algorithms(mode: bool) -> None:
    """`torch.use_deterministic_algorithms` without its import of torch._inductor (3 s a run).

    That import only sets torch.compile's flag; the variable sets it if torch.compile is used.
    """
    os.environ["TORCHINDUCTOR_DETERMINISTIC"] = "1" if mode else "0"
    torch._C._set_deterministic_algorithms(mode, warn_only=False)


def seed_data_loader_worker(worker_id: int) -> None:
    """DataLoader `worker_init_fn`: derive each worker's Python and NumPy seeds from torch's."""
    worker_seed = (torch.initial_seed() + worker_id) % 2**32
    random.seed(worker_seed)
    np.random.seed(worker_seed)


@dataclass(frozen=True)
class RandomState:
    """The state of every generator: JSON for Python and NumPy, tensors for torch."""

    python: list[Any]
    numpy: dict[str, Any]
    torch_cpu: torch.Tensor
    torch_cuda: tuple[torch.Tensor, ...]  # the training device's generator, when it is a GPU

    @classmethod
    def capture(cls, device: torch.device) -> RandomState:
        version, internal, gauss = random.getstate()
        legacy = np.random.get_state(legacy=False)
        return cls(
            python=[version, list(internal), gauss],
            numpy={
                "state": {
                    "key": legacy["state"]["key"].tolist(),
                    "pos": int(legacy["state"]["pos"]),
                },
                "has_gauss": int(legacy["has_gauss"]),
                "gauss": float(legacy["gauss"]),
            },
            torch_cpu=torch.get_rng_state(),
            torch_cuda=(torch.cuda.get_rng_state(device),) if device.type == "cuda" else (),
        )

    def restore(self, device: torch.device) -> None:
        version, internal, gauss = self.python
        random.setstate((version, tuple(internal), gauss))
        np.random.set_state(
            {
                "bit_generator": "MT19937",
                "state": {
                    "key": np.array(self.numpy["state"]["key"], dtype=np.uint32),
                    "pos": self.numpy["state"]["pos"],
                },
                "has_gauss": self.numpy["has_gauss"],
                "gauss": self.numpy["gauss"],
            }
        )
        torch.set_rng_state(self.torch_cpu)
        if self.torch_cuda and device.type == "cuda":
            torch.cuda.set_rng_state(self.torch_cuda[0], device)
