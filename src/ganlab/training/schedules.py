"""Learning-rate policies, as LambdaLR multipliers over training steps."""

from __future__ import annotations

from collections.abc import Callable

from ganlab.errors import ConfigError


def lr_lambda(policy: str, *, total_steps: int, decay_start: float = 0.5) -> Callable[[int], float]:
    """constant: 1 throughout. linear_decay: 1 until `decay_start` (a fraction of training, e.g.
    CycleGAN's 100 of 200 epochs = 0.5), then linearly to 0 at the last step."""
    if policy == "constant":
        return lambda step: 1.0
    if policy == "linear_decay":
        start = int(decay_start * total_steps)
        span = max(1, total_steps - start)
        return lambda step: 1.0 if step < start else max(0.0, 1.0 - (step - start) / span)
    raise ConfigError(f"schedule.lr_policy={policy!r}: choose constant or linear_decay")
