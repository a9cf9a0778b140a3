"""What every algorithm declares: its networks and its phases. The phase runner (training/step.py)
owns everything around one phase — requires_grad, autocast and loss scaling, gradient
accumulation, backward, the optimizer step, the NaN/Inf check; the loop (training/loop.py) steps
the schedulers and advances the step.

    class MyAlgorithm:
        def modules(self) -> dict[str, nn.Module]: ...      # everything with weights (checkpointed)
        def phases(self) -> list[Phase]: ...                # e.g. D every step, G every n_critic
        def state_dict(self) / load_state_dict(state): ...  # other state (pools, tricks), may be {}

and, for what they can do: generate(n, device=, seed=), translate(x, direction), visuals(run).
A phase function takes (batch, ctx) and returns {"loss": tensor to minimise, "<namespace>/<stat>":
0-d tensors}."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import Tensor, nn


@dataclass(frozen=True)
class StepContext:
    """Where training is, for pieces that act from a switch epoch / anneal over steps."""

    step: int   # index of the step being run (0-based)
    epoch: int


@dataclass(frozen=True)
class Phase:
    name: str                                    # logged as train/grad_norm_<name>
    fn: Callable[[dict[str, Tensor], StepContext], dict[str, Tensor]]
    modules: tuple[nn.Module, ...]               # the networks this phase trains (the others are frozen)
    optimizer: str = ""                          # schedule.optimizer.<optimizer>; "" = the phase's name
    every: int = 1                               # runs on steps where (step + 1) % every == 0
    after: Callable[[], None] | None = None      # after the optimizer step (WGAN clipping, EMA update)

    @property
    def optimizer_name(self) -> str:
        return self.optimizer or self.name
