"""One process or many under torchrun: the same code, with rank 0 writing every file."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from ..errors import ParamsError


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


def choose_device(preference: str, local_rank: int, setting: str = "train.device") -> torch.device:
    """`auto` takes CUDA when there is one; asking for CUDA without one is an error."""
    if preference == "cpu" or (preference == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        msg = f"{setting} is cuda but no CUDA device is visible; set {setting} to auto or cpu"
        raise ParamsError(msg)
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


def mean_across_ranks(group: ProcessGroup, value: torch.Tensor) -> float:
    """The mean of VALUE over all ranks (the value itself on one process)."""
    if group.distributed:
        value = value.detach().clone()
        dist.all_reduce(value)
        value /= group.world_size
    return float(value.item())


def same_on_every_rank(group: ProcessGroup, value: int) -> bool:
    """Whether every rank holds VALUE (e.g. the step each rank is about to resume from)."""
    if not group.distributed:
        return True
    low = torch.tensor([value], device=group.device)
    high = low.clone()
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    return bool(low.item() == high.item())


def broadcast_parameters(group: ProcessGroup, network: nn.Module) -> None:
    """Start every rank from rank 0's weights."""
    if group.distributed:
        for tensor in network.state_dict().values():
            dist.broadcast(tensor, src=0)


def average_gradients(group: ProcessGroup, network: nn.Module) -> None:
    """Average gradients over ranks in one all-reduce of a buffer laid out in parameter order.

    DDP would do this too, but it regroups gradients into new buckets after the first step, and
    a resumed process starts from the original grouping: with three or more ranks the sums then
    run in another order and a resumed run no longer ends with the same weights. A fixed layout
    keeps every step's arithmetic identical, resumed or not.
    """
    if not group.distributed:
        return
    gradients = [p.grad for p in network.parameters() if p.grad is not None]
    flat = torch.cat([gradient.reshape(-1) for gradient in gradients])
    dist.all_reduce(flat)
    flat /= group.world_size
    offset = 0
    for gradient in gradients:
        gradient.copy_(flat[offset : offset + gradient.numel()].view_as(gradient))
        offset += gradient.numel()


def synchronize(group: ProcessGroup) -> None:
    if group.distributed:
        dist.barrier()
