"""Resuming a run directory someone handed you: its saved overrides never reach Hydra's own keys
nor build an untrusted `_target_`; odd run-dir names resume through the command ganlab prints;
every override on resume takes effect (and is listed as changed) or is refused by name."""

import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import GANLAB, run_ganlab, summary
from ganlab.config.trusted import check_saved_override
from ganlab.errors import ConfigError, UsageError
from ganlab.training.run_dir import hydra_quote

TINY = ["model.width=8", "data.image_size=16", "data.dataset.size=64", "data.batch_size=8", "trainer.device=cpu",
        "trainer.log_every=1", "trainer.eval_every=1000"]
QUICK = [*TINY, "~data.evaluators"]  # no evaluation at the end either: these tests are about resuming


def _snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


# -- a crafted run directory runs no code ---------------------------------------------------------

@pytest.mark.parametrize("override", [
    "+hydra.callbacks.e._target_=builtins.open", "++hydra.callbacks.e._target_=ganlab.x.Y", "hydra.run.dir=/tmp",
    "~hydra.callbacks.prepare", "hydra/job_logging=disabled", "+model@hydra.callbacks=dcgan", "+hydra={a: 1}",
    "+callbacks.e._target_=shutil.copyfile", "++a.b._target_=os.system", "x._target_=subprocess.Popen",
    "+callbacks.e={_target_: builtins.open, file: /tmp/x}", "+l=[{_target_: os.system}]", "model=[unclosed",
])
def test_saved_overrides_touching_hydra_or_untrusted_targets_are_refused(override):
    with pytest.raises(ConfigError) as e:
        check_saved_override(override, source="run/.hydra/overrides.yaml")
    assert "run/.hydra/overrides.yaml" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("override", ["model=dcgan", "trainer.max_steps=8", "+callbacks.x._target_=torch.nn.Identity",
                                      "~logger", "seed=8", "hydra_like_name=1", "data.root='/a=b,c'"])
def test_ordinary_saved_overrides_pass(override):
    check_saved_override(override, source="s")


@pytest.mark.parametrize("lines", [
    ["+hydra.callbacks.e._target_=builtins.open", "+hydra.callbacks.e.file={marker}", "+hydra.callbacks.e.mode=w"],
    ["+hydra.callbacks.e._target_=shutil.copyfile", "+hydra.callbacks.e.src=/etc/hostname",
     "+hydra.callbacks.e.dst={marker}"],
    ["+callbacks.e._target_=builtins.open", "+callbacks.e.file={marker}", "+callbacks.e.mode=w"],
])
def test_a_crafted_run_dir_runs_no_code_on_resume(tmp_path, tiny_run, lines):
    marker = tmp_path / "x"
    saved = tmp_path / "run" / ".hydra" / "overrides.yaml"
    saved.write_text(saved.read_text() + "".join(f"- {ln.format(marker=marker)}\n" for ln in lines))
    before = _snapshot(tmp_path)
    for cmd in (["train", "resume=run"], ["resume", "run"]):
        p = run_ganlab(*cmd, cwd=tmp_path, check=False)
        assert p.returncode == 2 and lines[0] in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
        assert not marker.exists() and _snapshot(tmp_path) == before


def test_a_crafted_searchpath_in_hydra_yaml_cannot_smuggle_overrides(tmp_path, tiny_run):
    hydra_yaml = tmp_path / "run" / ".hydra" / "hydra.yaml"
    saved = yaml.safe_load(hydra_yaml.read_text())
    saved["hydra"]["overrides"]["hydra"].append("hydra.searchpath=oops")
    hydra_yaml.write_text(yaml.safe_dump(saved))
    p = run_ganlab("train", "resume=run", cwd=tmp_path, check=False)
    assert p.returncode == 2 and "hydra.searchpath=oops" in p.stderr and "config folders" in p.stderr


def test_a_config_folder_of_the_saved_searchpath_cannot_set_hydra_keys(tmp_path):
    conf = tmp_path / "myconf"
    (conf / "evil").mkdir(parents=True)
    run_ganlab("train", *QUICK, "trainer.max_steps=2", f"hydra.searchpath=[file://{conf}]", "hydra.run.dir=run",
               cwd=tmp_path)
    marker = tmp_path / "x"
    (conf / "evil" / "x.yaml").write_text(f"# @package _global_\nhydra:\n  callbacks:\n    e:\n"
                                          f"      _target_: builtins.open\n      file: {marker}\n      mode: w\n")
    saved = tmp_path / "run" / ".hydra" / "overrides.yaml"
    saved.write_text(saved.read_text() + "- +evil=x\n")
    p = run_ganlab("resume", "run", cwd=tmp_path, check=False)
    assert p.returncode == 2 and "change Hydra's own settings (hydra.callbacks)" in p.stderr, p.stderr
    assert not marker.exists()
    saved.write_text(saved.read_text().replace("- +evil=x\n", ""))  # the folder itself is fine
    run_ganlab("resume", "run", "trainer.max_steps=3", cwd=tmp_path)
    assert summary(tmp_path / "run")["step"] == 3


# -- odd run-dir names --------------------------------------------------------------------------

ODD = ["seed=8,trainer.max_steps=3", "with space", "quote'd \"x\"", "back\\slash", "dollar$x"]


@pytest.mark.parametrize("value", [*ODD, "", "end\\", "a\\'b"])
def test_hydra_quote_round_trips(value):
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf
    parsed = OverridesParser.create().parse_override("resume=" + hydra_quote(value)).value()
    assert OmegaConf.create({"r": parsed}).r == value


def test_hydra_quote_refuses_an_interpolation_by_name():
    with pytest.raises(UsageError, match=r"^a\$\{x\}: a path holding"):
        hydra_quote("a${x}")


def test_odd_run_dir_names_resume_with_ganlab_resume_and_resume_equals(tmp_path, tiny_run):
    for i, name in enumerate(ODD):
        odd = tmp_path / "outputs" / name
        odd.parent.mkdir(exist_ok=True)
        subprocess.run(["cp", "-r", str(tmp_path / "run"), str(odd)], check=True)
        cmd = ["resume", str(odd), "trainer.max_steps=3"] if i % 2 else ["train", f"resume=outputs/{name}",
                                                                        "trainer.max_steps=3"]
        run_ganlab(*cmd, cwd=tmp_path)
        s = summary(odd)
        assert s["status"] == "ok" and s["step"] == 3, (name, s)


# -- printed commands run as printed -------------------------------------------------------------

def _shell(line: str, cwd: Path) -> subprocess.CompletedProcess:
    """A command line ganlab printed, run by a POSIX shell with `ganlab` being this venv's."""
    assert line.startswith("ganlab "), line
    return subprocess.run(["bash", "-c", shlex.quote(GANLAB) + line[len("ganlab"):]], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def _printed(text: str, start: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith(start)]
    assert lines, f"no line starting with {start!r} in:\n{text}"
    return lines[-1]


def test_a_stopped_run_prints_next_steps_that_run_as_printed(tmp_path):
    # the run dir is named by the overrides (`...seed=8,trainer.max_steps=4,...`): Hydra's parser cannot read
    # `resume=<that name>` unquoted; the printed `ganlab resume` line must work anyway
    p = run_ganlab("train", *TINY, "seed=8", "trainer.max_steps=4", "trainer.stop_at_step=2", cwd=tmp_path,
                   check=False)
    assert p.returncode == 3, p.stderr
    out = p.stdout + p.stderr
    resume = _printed(out, "ganlab resume ")
    assert "seed=8" in resume and "," in resume
    r = _shell(resume, tmp_path)
    assert r.returncode == 0, r.stderr
    run_dir = Path(shlex.split(resume)[2])
    s = summary(tmp_path / run_dir)
    assert s["status"] == "ok" and s["step"] == 4
    report = _printed(r.stdout + r.stderr, "ganlab report ")
    assert "resume" not in _printed(r.stdout + r.stderr, "ganlab sample ") and "ganlab resume " not in r.stdout
    rep = _shell(report, tmp_path)
    assert rep.returncode == 0, rep.stderr
    assert (tmp_path / run_dir / "report.html").is_file()
    assert _printed(r.stdout, "tensorboard --logdir ")


# -- every override on resume takes effect or is refused --------------------------------------------

def test_hydra_run_dir_and_hydra_settings_on_resume_are_refused_by_name(tmp_path, tiny_run):
    before = _snapshot(tmp_path)
    for cmd in (["train", "resume=run", "hydra.run.dir=elsewhere"], ["resume", "run", "hydra.run.dir=elsewhere"]):
        p = run_ganlab(*cmd, cwd=tmp_path, check=False)
        assert p.returncode == 2 and "hydra.run.dir" in p.stderr and "stays in its directory" in p.stderr, p.stderr
    for other in ("hydra.job.chdir=true", "hydra/job_logging=disabled", "~hydra.callbacks.prepare"):
        p = run_ganlab("resume", "run", other, cwd=tmp_path, check=False)  # Hydra's settings: not recorded, refused
        assert p.returncode == 2 and p.stderr.startswith(f"error: {other}: a resumed run keeps the Hydra settings")
    assert _snapshot(tmp_path) == before and not (tmp_path / "elsewhere").exists()


def test_what_a_resume_changes_is_recorded(tmp_path, tiny_run):
    p = run_ganlab("resume", "run", "trainer.check_finite_every=0", "trainer.max_steps=3", cwd=tmp_path)
    assert "(changed: trainer.check_finite_every, trainer.max_steps)" in p.stdout + p.stderr
    s = summary(tmp_path / "run")
    resumes = [e for e in s["events"] if e["kind"] == "resume"]
    assert len(resumes) == 1 and resumes[0]["step"] == 2
    assert resumes[0]["changed"] == {"trainer.check_finite_every": [1, 0], "trainer.max_steps": [2, 3]}
    assert "trainer.check_finite_every 1 -> 0" in (tmp_path / "run" / "train.log").read_text()


def test_a_non_finite_failure_says_how_to_resume_with_a_lower_lr(tmp_path):
    run_ganlab("train", *QUICK, "loss=lsgan", "trainer.max_steps=2", "hydra.run.dir=run", cwd=tmp_path)
    p = run_ganlab("resume", "run", "schedule.lr_d=1e6", "schedule.lr_g=1e6", "trainer.max_steps=40", cwd=tmp_path,
                   check=False)
    assert p.returncode == 1 and summary(tmp_path / "run")["status"] == "failed", p.stderr
    retry = _printed(p.stdout, "ganlab resume ")
    assert retry.endswith(" schedule.lr_d=0.0002 schedule.lr_g=0.0002"), retry  # the rates before this resume
    assert f"`{retry}`" in p.stderr  # said in the error too
    r = _shell(retry.replace("trainer.max_steps", "x") + " trainer.max_steps=4", tmp_path)
    assert r.returncode == 0, r.stderr
    assert summary(tmp_path / "run")["status"] == "ok" and summary(tmp_path / "run")["step"] == 4


def test_a_state_broken_on_an_unlogged_last_step_fails_the_run_at_the_closing_checkpoint(tmp_path):
    # lr 1e6: by step 4 Adam's second moments overflow while every loss is still finite; stopped
    # on that unlogged step, only the closing checkpoint's check meets them
    run_ganlab("train", *QUICK, "loss=lsgan", "trainer.max_steps=2", "hydra.run.dir=run", cwd=tmp_path)
    before = (tmp_path / "run" / "checkpoints" / "last.pt").read_bytes()
    p = run_ganlab("resume", "run", "schedule.lr_d=1e6", "schedule.lr_g=1e6", "trainer.max_steps=40",
                   "trainer.log_every=50", "trainer.stop_at_step=4", cwd=tmp_path, check=False)
    assert p.returncode == 1 and summary(tmp_path / "run")["status"] == "failed", p.stderr
    assert "non-finite values in optimizers." in summary(tmp_path / "run")["error"] and "Traceback" not in p.stderr
    assert (tmp_path / "run" / "checkpoints" / "last.pt").read_bytes() == before  # the good one is kept


# -- checkpoints written by earlier versions ----------------------------------------------------

def test_an_earlier_versions_checkpoint_is_upgraded_in_one_place():
    from ganlab.training.resume import upgrade_checkpoint

    old = {"last_metrics": {"train/loss_d": 1.0, "val/samples_per_s": 9.0}, "latest": {"train/loss_d": 1.0},
           "config": {"schedule": {"lr_policy": {"_target_": "ganlab.training.schedules.LinearDecay",
                                                 "decay_start": 0.5}}}}
    new = upgrade_checkpoint(old, clocked=["val/samples_per_s"])
    assert new["metrics"] == {"train/loss_d": 1.0} and new["timings"] == {"val/samples_per_s": 9.0}
    assert new["pending_stats"] == {"train/loss_d": 1.0} and "last_metrics" not in new and "latest" not in new
    assert new["protocols"] == {} and new["pending_eval"] is False
    assert new["config"]["schedule"]["lr_policy"] == {"_target_": "ganlab.training.build.LinearDecay",
                                                      "decay_start": 0.5}


def test_a_run_whose_checkpoint_an_earlier_version_wrote_resumes_changing_nothing_else(tmp_path):
    import torch

    run_ganlab("train", *TINY, "schedule=linear_decay", "trainer.max_steps=2", "hydra.run.dir=run", cwd=tmp_path)
    last = tmp_path / "run" / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=True)
    state["config"]["schedule"]["lr_policy"]["_target_"] = "ganlab.training.schedules.LinearDecay"
    state["last_metrics"], state["latest"] = state.pop("metrics"), state.pop("pending_stats")
    for key in ("timings", "protocols", "pending_eval"):
        del state[key]
    torch.save(state, last)
    p = run_ganlab("resume", "run", "trainer.max_steps=3", cwd=tmp_path)
    assert "(changed: trainer.max_steps)" in p.stdout + p.stderr
    s = summary(tmp_path / "run")
    assert s["status"] == "ok" and s["step"] == 3 and "train/loss_d" in s["metrics"]
