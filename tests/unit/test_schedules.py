"""schedule.lr_policy: chosen by its _target_, the same multipliers as ever, old string form refused."""

import pytest
import torch

from ganlab.config import compose
from ganlab.errors import ConfigError
from ganlab.training.build import ConstantLR, LinearDecay, build_node, build_optimizers
from ganlab.training.resume import changed_keys


def test_linear_decay_multipliers():
    f = LinearDecay(decay_start=0.5).lr_lambda(10)
    assert [f(s) for s in range(11)] == pytest.approx([1, 1, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2, 0])
    g = LinearDecay(decay_start=0.25).lr_lambda(7)  # start int(1.75) = 1, span 6
    assert [g(s) for s in (0, 1, 4, 7, 9)] == pytest.approx([1, 1, 0.5, 0, 0])
    assert {ConstantLR().lr_lambda(10)(s) for s in range(12)} == {1.0}
    with pytest.raises(ConfigError, match="decay_start"):
        LinearDecay(decay_start=1.5)


class _Phase:
    def __init__(self, name, module, every=1):
        self.name, self.optimizer_name, self.modules, self.every = name, name, [module], every


@pytest.mark.parametrize(("overrides", "lrs"), [
    (["schedule=linear_decay"], [1, 1, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2]),
    ([], [1] * 10),
    (["model=mlp", "data=ring8"], [1, 1, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2]),  # conf/tuned/mlp_ring8.yaml
])
def test_policy_built_from_config(overrides, lrs):
    cfg = compose(overrides)
    phases = [_Phase("D", torch.nn.Linear(2, 2)), _Phase("G", torch.nn.Linear(2, 2))]
    optimizers, schedulers = build_optimizers(cfg, phases, 10)
    seen = []
    for _ in range(10):
        seen.append(optimizers["D"].param_groups[0]["lr"] / cfg.schedule.lr_d)
        optimizers["D"].step()
        schedulers["D"].step()
    assert seen == pytest.approx(lrs)
    # plain functions: a resume with a new trainer.max_steps keeps its own run length
    assert schedulers["D"].state_dict()["lr_lambdas"] == [None]


def test_old_string_form_is_a_config_error():
    with pytest.raises(ConfigError, match=r"schedule.lr_policy='linear_decay': must be a config node"):
        build_node("linear_decay", "schedule.lr_policy")
    saved = {"schedule": {"lr_policy": "constant", "decay_start": 0.5}}
    with pytest.raises(ConfigError, match=r"schedule.lr_policy='constant' in the run being resumed.*_target_"):
        changed_keys(saved, {"schedule": {"lr_policy": {"_target_": "ganlab.training.build.ConstantLR"}}})
