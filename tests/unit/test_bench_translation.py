"""`ganlab bench translation`: generator passes per iteration and s/iter against the reference loop."""

import PIL.Image
import torch
from click.testing import CliRunner

from ganlab.commands.bench_translation import (
    bare_loop,
    export_toyzebra,
    folder_overrides,
    measure,
    train_loop,
    translation,
)
from ganlab.config import compose

SMALL = ("model.width=4", "model.discriminator.width=4")


def test_both_loops_make_the_reference_six_generator_passes():
    for model in ("cyclegan", "agan"):
        r = measure(model, 32, steps=1, warmup=1, rounds=1, device="cpu", extra=SMALL)
        assert r["passes"] == r["bare_passes"] == 6, (model, r)
        assert r["s_per_iter"] > 0 and r["bare_s_per_iter"] > 0
        assert r["speed"] == r["bare_s_per_iter"] / r["s_per_iter"]


def test_the_command_prints_a_row_per_model_and_size():
    out = CliRunner().invoke(translation, ["--models", "agan", "--sizes", "32", "--steps", "1", "--warmup", "1",
                                           "--rounds", "1", "--device", "cpu"])
    assert out.exit_code == 0, out.output
    row = next(line for line in out.output.splitlines() if "agan" in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[:4] == ["agan", "32", "6", "6"]  # ganlab's and the reference's generator passes
    assert float(cells[-1]) > 0  # speed vs the bare loop


def test_cpu_clock_is_for_the_cpu_only():
    out = CliRunner().invoke(translation, ["--clock", "cpu", "--device", "cuda:0", "--steps", "1"])
    assert out.exit_code == 2 and "--clock" in out.output


def test_the_bare_loop_decodes_pngs_from_the_folders_every_iteration(tmp_path, monkeypatch):
    a_dir, b_dir = export_toyzebra(tmp_path, 32, n=4)
    assert len(list(a_dir.glob("*.png"))) == len(list(b_dir.glob("*.png"))) == 4
    opened, real_open = [], PIL.Image.open
    monkeypatch.setattr(PIL.Image, "open", lambda path, *a, **k: opened.append(path) or real_open(path, *a, **k))
    cfg = compose([*folder_overrides("cyclegan", 32, tmp_path), *SMALL, "trainer.device=cpu"])
    r = bare_loop(cfg, tmp_path, steps=2, warmup=1, device=torch.device("cpu"))
    assert r["passes"] == 6
    # one A and one B file per iteration, 3 iterations (more than the 4 files: the loader cycles)
    assert len(opened) == 6
    assert sorted({p.parent for p in opened}) == [a_dir, b_dir]


def test_ganlab_side_runs_train_with_callbacks_and_logger_on(tmp_path):
    cfg = compose([*folder_overrides("agan", 16, tmp_path), "trainer.device=cpu"])
    assert cfg.data.dataset._target_.endswith("UnpairedFolders")
    assert {"checkpoint", "tensorboard", "progress", "health"} <= set(cfg.callbacks)
    assert "final_samples" not in cfg.callbacks and cfg.logger


def test_the_timed_window_holds_one_logged_step(tmp_path, monkeypatch):
    """ganlab's side is timed over `steps` steps of which one is logged (grad norms, scalars,
    heartbeat, the pass over the weights for NaN/Inf): per-log work is inside the window."""
    from ganlab.training.step import PhaseRunner
    export_toyzebra(tmp_path, 32, n=4)
    seen, real_check = [], PhaseRunner._check_finite
    monkeypatch.setattr(PhaseRunner, "_check_finite",
                        lambda self, phase, step, *a, **k: seen.append((step, k["state"])) or
                        real_check(self, phase, step, *a, **k))
    extra = [*folder_overrides("agan", 32, tmp_path), *SMALL]
    r = train_loop(extra, steps=3, warmup=2, device="cpu")
    assert r["passes"] == 6
    window = {step for step, state in seen if state and 2 < step <= 5}
    assert window == {3}  # log_every=steps: one logged step among steps 3-5
