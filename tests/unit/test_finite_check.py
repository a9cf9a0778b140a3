"""The per-phase NaN/Inf check: the loss every step, the weights, buffers and optimizer state on
logged steps; a weight an update broke is named by the next step's loss check; never raises on
large finite values whose cheap sum overflows."""

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


def runner_for(algo, lr: float = 0.0, log_every: int = 5) -> PhaseRunner:
    opt = torch.optim.SGD(algo.net.parameters(), lr=lr)
    return PhaseRunner(algorithm=algo, optimizers={"net": opt}, precision=32, device=torch.device("cpu"),
                       total_steps=10, log_every=log_every)


def run_step(runner: PhaseRunner, step: int, x: float = 1.0) -> None:
    """Runs the step with 0-based index `step` (step + 1 in messages and logs)."""
    runner.run(runner.phases[0], {"x": torch.full((2, 4), x)}, StepContext(step=step, epoch=0))


def run_once(algo, lr: float = 0.0, x: float = 1.0, log_every: int = 5) -> None:
    run_step(runner_for(algo, lr, log_every), 0, x)


def test_large_finite_weights_whose_float32_sum_overflows_pass():
    # the loss is finite; 4 x 3e38 overflows a float32 sum; every value is finite
    run_once(OneLayer(3e38), x=0.0, log_every=1)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_non_finite_weight_after_a_logged_step_is_named_at_that_step(bad):
    with pytest.raises(NonFiniteError, match=r"phase net at step 1: non-finite .*net\.weight"):
        run_once(OneLayer(1.0), lr=bad, log_every=1)  # the step writes it into the weight


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_a_weight_broken_on_an_unlogged_step_is_named_by_the_next_loss(bad):
    runner = runner_for(OneLayer(1.0), lr=bad)
    run_step(runner, 0)  # step 1 (not logged): its loss was finite, the update broke the weight
    with pytest.raises(NonFiniteError, match=r"phase net at step 2: loss is (nan|-?inf) .*non-finite values in net\.weight"):
        run_step(runner, 1)


class UnseenBuffer(OneLayer):
    """A NaN in a buffer that no loss goes through: only the pass over the state can see it."""

    def __init__(self):
        super().__init__(1.0)
        self.net.register_buffer("unseen", torch.tensor([float("nan")]))


def test_what_no_loss_shows_is_found_on_the_next_logged_step():
    runner = runner_for(UnseenBuffer(), log_every=5)
    for step in range(4):  # steps 1-4: finite losses, not logged
        run_step(runner, step)
    with pytest.raises(NonFiniteError, match=r"phase net at step 5: non-finite .*net\.unseen"):
        run_step(runner, 4)


def test_a_non_finite_loss_is_reported_as_the_loss():
    with pytest.raises(NonFiniteError, match="loss is nan"):
        run_once(OneLayer(1.0, loss_scale=float("nan")))
