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
