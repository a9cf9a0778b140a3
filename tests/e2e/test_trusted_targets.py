import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from ganlab.config.trusted import ALLOWED_PREFIXES, check_targets
from ganlab.errors import ConfigError

CONF = Path(__file__).resolve().parents[2] / "conf"  # the repo's real configs


def _compose(overrides):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


@pytest.mark.parametrize("overrides", [[], ["model=agan", "data=toyzebra"], ["model=mlp", "data=ring8"],
                                       ["model=cgan"], ["experiment=perfect_g"]])
def test_repo_configs_are_trusted(overrides):
    cfg = _compose(overrides)
    check_targets(cfg, source="run dir")
    # also as read back from a checkpoint: a plain, resolved container
    check_targets(OmegaConf.to_container(cfg, resolve=True), source="last.pt")


@pytest.mark.parametrize("target", ["builtins.open", "os.system", "subprocess.Popen",
                                    "ganlab.training.checkpoint.save_atomic", "torch.nn.functional.relu"])
def test_untrusted_or_non_class_targets_are_refused(target):
    cfg = OmegaConf.create({"model": {"networks": [{"_target_": "torch.nn.Linear"}, {"_target_": target}]}})
    with pytest.raises(ConfigError) as e:
        check_targets(cfg, source="/runs/x/last.pt")
    msg = str(e.value)
    assert msg.startswith(f"refusing to build {target} (model.networks.1) from /runs/x/last.pt")
    assert "classes under ganlab., torch.nn., torch.optim." in msg
    assert "if you trust /runs/x/last.pt, add the prefix to GANLAB_TRUSTED_TARGETS" in msg
    assert "\n" not in msg


def test_refused_prefix_is_never_imported(monkeypatch):
    import hydra.utils

    def boom(*a, **k):
        raise AssertionError("imported an untrusted target")

    monkeypatch.setattr(hydra.utils, "get_object", boom)
    monkeypatch.setattr("importlib.import_module", boom)
    for target in ("ganlab_no_such_pkg.Evil", "os.system"):
        with pytest.raises(ConfigError, match=f"^refusing to build {target} \\(_target_owner\\) from cfg: stored"):
            check_targets({"_target_owner": {"_target_": target}}, source="cfg")
    assert "ganlab_no_such_pkg" not in sys.modules


def test_unresolvable_interpolations_and_odd_targets(tmp_path):
    # a stored config whose interpolation no longer resolves is still checked, not crashed on
    check_targets(OmegaConf.create({"a": "${missing.key}", "b": {"_target_": "torch.optim.Adam"}}), source="s")
    for bad in (None, 3, "${model.generator}"):
        with pytest.raises(ConfigError, match="refusing to build"):
            check_targets({"x": {"_target_": bad}}, source="s")
    with pytest.raises(ConfigError, match=r"ganlab\.models\.nope\.Gen \(g\) from s \(cannot import"):
        check_targets({"g": {"_target_": "ganlab.models.nope.Gen"}}, source="s")


def test_env_extends_trusted_prefixes(monkeypatch):
    cfg = {"data": {"_target_": "collections.OrderedDict"}}
    with pytest.raises(ConfigError):
        check_targets(cfg, source="s")
    monkeypatch.setenv("GANLAB_TRUSTED_TARGETS", "mypkg., collections.")
    check_targets(cfg, source="s")
    with pytest.raises(ConfigError, match="not a class"):  # still classes only
        check_targets({"f": {"_target_": "collections.namedtuple"}}, source="s")
    assert ALLOWED_PREFIXES == ("ganlab.", "torch.nn.", "torch.optim.")
