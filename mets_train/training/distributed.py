"""torchrun / DistributedDataParallel plumbing. Without torchrun's environment this is a one-process world."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class World:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def mean(self, value: float) -> float:
        """Average of a float over ranks (for logging: each rank's loss is over its own shard)."""
        if not self.distributed:
            return value
        t = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return float(t.item()) / self.world_size

    def sync_buffers(self, model: torch.nn.Module) -> None:
        """Copy rank 0's buffers (BatchNorm running statistics) to every rank. DDP does this at the start of
        each forward; after the last step each rank still holds the statistics of its own last batch."""
        if self.distributed:
            for buf in model.buffers():
                dist.broadcast(buf, src=0)

    def close(self) -> None:
        if self.distributed and dist.is_initialized():
            dist.destroy_process_group()


def init_world(device: str = "auto") -> World:
    """Read torchrun's RANK / WORLD_SIZE / LOCAL_RANK; start the process group (nccl on GPU, gloo on CPU)."""
    use_cuda = torch.cuda.is_available() if device == "auto" else device == "cuda"
    if use_cuda and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but no CUDA GPU is available; use device 'cpu' or 'auto'")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.backends.cudnn.benchmark = False        # deterministic given a seed, as on CPU
        torch.backends.cudnn.deterministic = True
        torch.cuda.set_device(local_rank)
        dev = torch.device("cuda", local_rank)
    else:
        dev = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return World(rank=rank, world_size=world_size, local_rank=local_rank, device=dev)
