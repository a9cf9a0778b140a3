"""Which process of a torchrun job this is, read from the environment alone: no torch import,
so a command can ask before it knows it will train (bad input is refused without `import torch`).
The process group itself is training/distributed.py."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


ONE = Ranks()  # a single process


def from_env() -> Ranks:
    """The ranks torchrun set in the environment (one process when it did not)."""
    return Ranks(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                 int(os.environ.get("LOCAL_RANK", 0)))
