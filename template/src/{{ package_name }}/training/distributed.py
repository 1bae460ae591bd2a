"""One process or many under torchrun: the same code, with rank 0 writing every file."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class ProcessGroup:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_writer(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def choose_device(preference: str, local_rank: int) -> torch.device:
    """`auto` takes CUDA when there is one; asking for CUDA without one is an error."""
    if preference == "cpu" or (preference == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        msg = "train.device is cuda but no CUDA device is visible; set train.device: auto or cpu"
        raise RuntimeError(msg)
    return torch.device("cuda", local_rank % torch.cuda.device_count())


def join_process_group(device_preference: str) -> ProcessGroup:
    """Join torchrun's process group when WORLD_SIZE > 1 (gloo on CPU, NCCL on CUDA)."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = choose_device(device_preference, local_rank)
    if world_size == 1:
        return ProcessGroup(rank=0, world_size=1, device=device)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return ProcessGroup(rank=dist.get_rank(), world_size=dist.get_world_size(), device=device)


def leave_process_group(group: ProcessGroup) -> None:
    if group.distributed and dist.is_initialized():
        dist.destroy_process_group()


def any_rank(group: ProcessGroup, flag: bool) -> bool:
    """True on every rank if FLAG is true on any rank, so all ranks stop at the same step."""
    if not group.distributed:
        return flag
    vote = torch.tensor([int(flag)], device=group.device)
    dist.all_reduce(vote, op=dist.ReduceOp.MAX)
    return bool(vote.item())


def synchronize(group: ProcessGroup) -> None:
    if group.distributed:
        dist.barrier()
