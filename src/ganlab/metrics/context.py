"""What an evaluator sees of a run: the narrow view it is called with. The training Run
(training/run.py) satisfies it structurally, and so does `ganlab eval`'s stand-in for a run
(commands/evaluate.py): an evaluator that uses only this works in both."""

from __future__ import annotations

from typing import Any, Protocol

import torch


class EvalContext(Protocol):
    algorithm: Any         # generate / translate / visuals, and the networks (algorithms/base.py)
    device: torch.device
    step: int              # the steps trained so far
    cfg: Any               # the composed config (DictConfig)

    def dataset(self, split: str) -> Any:
        """The dataset of "train" or "test" (None when the data has none), built once."""

    def event(self, kind: str, message: str, **extra) -> None:
        """A flagged event: the console, train.log and summary.json `events`."""
