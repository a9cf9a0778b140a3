"""No false alarms on the shipped defaults: DCGAN and cGAN on shapes, the MLP GAN on ring8 and
AttentionGAN on toyzebra, each with its shipped config (tuned defaults included) for a short
stretch with the health watch at a finer grain (a logged step every 4 steps): its warm-up,
patience and spike windows then span 40-80 training steps, and summary.json must hold no event.
The diversity check keeps its 250-step period (a learning DCGAN's samples dip to 0.22-0.27x the
real diversity around steps 60-125: a check every 20 steps flags that dip): the full-length runs
in test_quality_slow.py check it, and test_experiments_e2e a healthy and a frozen G with it."""

import pytest

from conftest import summary, train_each

SHORT = ["trainer.device=cpu", "trainer.max_steps=160", "trainer.log_every=4",
         "~data.evaluators", "callbacks.checkpoint.monitor=train/loss_g", "callbacks.tensorboard.sample_every_n_steps=0",
         "~callbacks.final_samples"]
RUNS = {"dcgan_shapes": ["model=dcgan", "data=shapes"], "cgan_shapes": ["model=cgan", "data=shapes"],
        "mlp_ring8": ["model=mlp", "data=ring8"], "agan_toyzebra": ["model=agan", "data=toyzebra", "trainer.max_steps=80"]}


# one run per test (not one module fixture training all four): pytest-xdist spreads them over its
# workers, where a fixture's ~85 s of training would sit on one worker and set the suite's floor
@pytest.mark.parametrize("name", RUNS)
def test_shipped_defaults_raise_no_health_event(tmp_path, name):
    s = summary(train_each(tmp_path, {name: RUNS[name]}, SHORT) / name)
    assert s["status"] == "ok" and s["events"] == [], s["events"]
