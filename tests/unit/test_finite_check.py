"""The per-phase NaN/Inf check: raises on a non-finite loss or weight, never on large finite values
whose cheap sum overflows."""

import pytest
import torch
from torch import nn

from ganlab.algorithms.base import Phase, StepContext
from ganlab.errors import NonFiniteError
from ganlab.training.step import PhaseRunner


class OneLayer:
    def __init__(self, weight: float, loss_scale: float = 1.0):
        self.net = nn.Linear(4, 1)
        with torch.no_grad():
            self.net.weight.fill_(weight)
        self.loss_scale = loss_scale

    def modules(self):
        return {"net": self.net}

    def phases(self):
        def fn(batch, ctx):
            return {"loss": self.net(batch["x"]).mean() * self.loss_scale}
        return [Phase("net", fn, (self.net,))]


def run_once(algo: OneLayer, lr: float = 0.0, x: float = 1.0) -> None:
    opt = torch.optim.SGD(algo.net.parameters(), lr=lr)
    runner = PhaseRunner(algorithm=algo, optimizers={"net": opt}, precision=32, device=torch.device("cpu"),
                         total_steps=10, log_every=5)
    runner.run(runner.phases[0], {"x": torch.full((2, 4), x)}, StepContext(step=0, epoch=0))


def test_large_finite_weights_whose_float32_sum_overflows_pass():
    run_once(OneLayer(3e38), x=0.0)  # the loss is finite; 4 x 3e38 overflows a float32 sum; every value is finite


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_weight_after_the_step_is_named(bad):
    with pytest.raises(NonFiniteError, match=r"phase net at step 1: .*net\.weight"):
        run_once(OneLayer(1.0), lr=bad)  # the step writes it into the weight


def test_a_non_finite_loss_is_reported_as_the_loss():
    with pytest.raises(NonFiniteError, match="loss is nan"):
        run_once(OneLayer(1.0, loss_scale=float("nan")))
