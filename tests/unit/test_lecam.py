"""LeCam regularisation: the EMAs it keeps and the penalty it gives."""

import pytest
import torch

from ganlab.errors import ConfigError
from ganlab.losses.lecam import LeCam


def test_emas_follow_the_means_during_warm_up_then_decay():
    lc = LeCam(weight=1.0, decay=0.5, start_steps=1)
    lc(torch.tensor([2.0, 4.0]), torch.tensor([-2.0]))
    assert float(lc.ema_real) == 3.0 and float(lc.ema_fake) == -2.0  # warm-up: the current means
    lc(torch.tensor([1.0]), torch.tensor([0.0]))
    assert float(lc.ema_real) == 2.0 and float(lc.ema_fake) == -1.0  # 0.5 * old + 0.5 * new


def test_penalty_is_the_one_sided_squared_distance_to_the_other_sides_ema():
    lc = LeCam(weight=2.0, decay=0.0, start_steps=0)
    real = torch.tensor([1.0, -3.0], requires_grad=True)
    fake = torch.tensor([-1.0, 3.0], requires_grad=True)
    reg = lc(real, fake)  # ema_real = -1, ema_fake = 1
    # relu(real - 1)^2 = [0, 0]; relu(-1 - fake)^2 = [0, 0]  -> 0
    assert float(reg.detach()) == 0.0
    reg = lc(torch.tensor([3.0]), torch.tensor([-3.0]))  # emas now 3 and -3: real 3 vs -3 -> 36, twice
    assert float(reg) == pytest.approx(2.0 * (36 + 36))
    lc2 = LeCam(weight=1.0, decay=0.0, start_steps=0)
    r = torch.tensor([2.0, 0.0], requires_grad=True)
    lc2(r, torch.tensor([1.0, -1.0])).backward()
    assert r.grad is not None and r.grad[0] > 0  # pulls D's real outputs down towards the fake EMA


def test_state_round_trip_and_bad_values():
    a = LeCam(weight=0.3, decay=0.9, start_steps=0)
    a(torch.randn(8), torch.randn(8))
    b = LeCam(weight=0.3, decay=0.9, start_steps=0)
    b.load_state_dict(a.state_dict())
    x, y = torch.randn(8), torch.randn(8)
    assert torch.equal(a(x, y), b(x, y)) and torch.equal(a.ema_real, b.ema_real)
    assert not LeCam(weight=0.0) and LeCam(weight=0.1)
    with pytest.raises(ConfigError, match="loss.lecam.decay"):
        LeCam(weight=0.1, decay=1.0)
