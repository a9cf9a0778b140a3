"""Learning-rate policies (schedule.lr_policy, chosen by its `_target_`). build_optimizers asks a
policy for `lr_lambda(total_steps)`, the LambdaLR multiplier of each step an optimizer runs."""

from __future__ import annotations

from collections.abc import Callable

from ganlab.errors import ConfigError

# lr_lambda returns a plain function on purpose: LambdaLR saves an object's attributes in its
# state_dict and would restore the old run length over a new trainer.max_steps on resume.


class ConstantLR:
    """1 throughout."""

    def lr_lambda(self, total_steps: int) -> Callable[[int], float]:
        return lambda step: 1.0


class LinearDecay:
    """1 until `decay_start` (a fraction of training, e.g. CycleGAN's 100 of 200 epochs = 0.5),
    then linearly to 0 at the last step."""

    def __init__(self, *, decay_start: float = 0.5):
        if isinstance(decay_start, bool) or not isinstance(decay_start, int | float) or not 0 <= decay_start <= 1:
            raise ConfigError(f"decay_start={decay_start!r}: must be a number in [0, 1]")
        self.decay_start = decay_start

    def lr_lambda(self, total_steps: int) -> Callable[[int], float]:
        start = int(self.decay_start * total_steps)
        span = max(1, total_steps - start)
        return lambda step: 1.0 if step < start else max(0.0, 1.0 - (step - start) / span)
