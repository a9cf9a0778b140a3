from types import SimpleNamespace

from ganlab.callbacks.health import HealthWatch
from ganlab.callbacks.switch_stats import SwitchStats


class FakeRun:
    def __init__(self, threshold=0.5):
        self.step, self.epoch, self.events, self.logger, self.fresh = 0, 0, [], None, set()
        self.algorithm = SimpleNamespace(loss=SimpleNamespace(threshold=threshold))

    def event(self, kind, message, **extra):
        self.events.append({"step": self.step, "kind": kind, "message": message, **extra})


def _feed(watch, run, series):
    for m in series:
        run.step += 1
        watch.on_step_end(run, m)


def test_d_perfect_and_vanishing_loss_flag_once_after_patience():
    run, w = FakeRun(), HealthWatch(patience=3)
    _feed(w, run, [{"train/loss_d": 1e-5, "train/d_acc": 1.0}] * 6)
    kinds = [e["kind"] for e in run.events]
    assert kinds.count("d_perfect") == 1 and kinds.count("d_loss_vanishing") == 1
    assert run.events[0]["step"] == 3


def test_flag_rearms_after_condition_clears():
    run, w = FakeRun(), HealthWatch(patience=2)
    _feed(w, run, [{"train/d_acc": 1.0}] * 3 + [{"train/d_acc": 0.7}] + [{"train/d_acc": 1.0}] * 2)
    assert [e["kind"] for e in run.events] == ["d_perfect", "d_perfect"]


def test_gradient_flags():
    run, w = FakeRun(), HealthWatch(patience=2)
    _feed(w, run, [{"train/grad_norm_g": 1e-9, "train/grad_norm_d": 5e3}] * 2)
    assert {e["kind"] for e in run.events} == {"grad_vanishing_g", "grad_exploding_d"}


def test_loss_spike_detected_and_steady_noise_is_not():
    import random
    random.seed(0)
    run, w = FakeRun(), HealthWatch(spike_window=20)
    _feed(w, run, [{"train/loss_d": 1.0 + 0.05 * random.random()} for _ in range(40)])
    assert run.events == []
    _feed(w, run, [{"train/loss_d": 4.0}])
    assert [e["kind"] for e in run.events] == ["loss_spike"] and run.events[0]["step"] == 41


def test_healthy_metrics_raise_nothing():
    run, w = FakeRun(), HealthWatch(patience=3)
    _feed(w, run, [{"train/loss_d": 1.2, "train/loss_g": 0.8, "train/d_acc": 0.7,
                    "train/grad_norm_d": 1.0, "train/grad_norm_g": 2.0}] * 30)
    assert run.events == []


def test_state_roundtrip():
    run, w = FakeRun(), HealthWatch(patience=3)
    _feed(w, run, [{"train/loss_d": 1.0, "train/d_acc": 1.0}] * 2)
    w2 = HealthWatch(patience=3)
    w2.load_state_dict(w.state_dict())
    _feed(w2, run, [{"train/d_acc": 1.0}])
    assert [e["kind"] for e in run.events] == ["d_perfect"]


def test_switch_stats_means_before_and_after():
    run, s = FakeRun(), SwitchStats(switch_step=2)
    for v in (0.9, 0.8, 0.1, 0.2):
        run.step += 1
        s.on_step_end(run, {"train/d_fake": v})
    ph = s.summary()["phases"]
    assert ph["switch_step"] == 2 and abs(ph["before"]["train/d_fake"] - 0.85) < 1e-9
    assert abs(ph["after"]["train/d_fake"] - 0.15) < 1e-9
    assert [e["kind"] for e in run.events] == ["switch"]


class StepRun(FakeRun):
    """Every training step's stats (pending_stats / fresh, as Run has them); metrics handed to the
    watch on logged steps only."""

    def __init__(self):
        super().__init__()
        self.pending_stats = {}

    def train(self, watch, series, log_every):
        for values in series:
            self.step += 1
            self.pending_stats.update(values)
            self.fresh = set(values)
            logged = dict(self.pending_stats) if self.step % log_every == 0 else {}
            watch.on_step_end(self, logged)


def test_one_batch_blip_between_logged_steps_is_no_spike_but_a_sustained_jump_is():
    import random
    random.seed(0)
    run, w = StepRun(), HealthWatch(spike_window=20, spike_ratio=1.0)
    noise = [{"train/loss_d": 0.2 + 0.05 * random.random()} for _ in range(25 * 20)]
    run.train(w, noise, log_every=25)
    # a healthy GAN's D loss jumps 10x for one batch (G fools D once), on the logged step itself
    run.train(w, [{"train/loss_d": 0.2}] * 24 + [{"train/loss_d": 2.5}], log_every=25)
    assert run.events == []
    # D's loss up for a whole logging interval (the perfect-G switch): flagged
    run.train(w, [{"train/loss_d": 2.5}] * 25, log_every=25)
    assert [e["kind"] for e in run.events] == ["loss_spike"]


def test_spike_is_relative_to_the_losss_scale():
    import random
    random.seed(0)
    series = [{"train/loss_g": 4.0 + 0.02 * random.random()} for _ in range(30)] + [{"train/loss_g": 5.0}]
    run, w = FakeRun(), HealthWatch(spike_window=20, spike_ratio=1.0)
    _feed(w, run, series)
    assert run.events == []  # +1 on a loss at 4: not a spike; it would be on a loss at 0.2
    run, w = FakeRun(), HealthWatch(spike_window=20, spike_ratio=0.0)
    _feed(w, run, series)
    assert [e["kind"] for e in run.events] == ["loss_spike"]


def test_d_perfect_needs_every_batch_of_the_window():
    run, w = StepRun(), HealthWatch(patience=3)
    # the logged steps all show a perfect D, but batches in between do not: no flag
    run.train(w, ([{"train/d_acc": 0.9}] + [{"train/d_acc": 1.0}] * 4) * 6, log_every=5)
    assert run.events == []
    run.train(w, [{"train/d_acc": 1.0}] * 15, log_every=5)
    assert [e["kind"] for e in run.events] == ["d_perfect"]


def test_window_sums_survive_a_checkpoint():
    run, w = StepRun(), HealthWatch(patience=1)
    run.train(w, [{"train/d_acc": 0.5}] + [{"train/d_acc": 1.0}] * 2, log_every=5)  # mid-window
    w2 = HealthWatch(patience=1)
    w2.load_state_dict(w.state_dict())
    run.train(w2, [{"train/d_acc": 1.0}] * 2, log_every=5)  # the window's mean is 0.9: no flag
    assert run.events == []


def test_d_loss_rising_to_chance_is_no_spike_well_above_it_is():
    import math
    import random
    random.seed(0)
    chance = 2 * math.log(2)  # BCE
    series = [{"train/loss_d": 0.25 + 0.03 * random.random()} for _ in range(30)]
    run, w = FakeRun(), HealthWatch(spike_window=20, spike_ratio=1.0, spike_chance=2.0)
    run.algorithm.loss.d_chance = chance
    _feed(w, run, [*series, {"train/loss_d": 1.45}])  # G catching up for a window: D about at chance
    assert run.events == []
    _feed(w, run, [{"train/loss_d": 0.25}, {"train/loss_d": 3.0}])  # D confidently wrong (perfect G's switch)
    assert [e["kind"] for e in run.events] == ["loss_spike"]


def test_d_perfect_warmup_skips_the_first_logged_steps():
    run, w = FakeRun(), HealthWatch(patience=3, d_perfect_warmup=5)
    _feed(w, run, [{"train/d_acc": 1.0}] * 7)
    assert run.events == []  # steps 1-5 do not count: 6, 7 are 2 of the 3
    _feed(w, run, [{"train/d_acc": 1.0}])
    assert [(e["kind"], e["step"]) for e in run.events] == [("d_perfect", 8)]
