"""config/schema.validate on real composed configs: every shipped combination passes; each bad
override is one ConfigError naming its key."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from ganlab.config.schema import validate
from ganlab.errors import ConfigError

CONF = Path(__file__).resolve().parents[2] / "conf"


def _compose(overrides: list[str]):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose(config_name="config", overrides=overrides)


GOOD = [
    "model=dcgan data=shapes", "model=cgan data=shapes", "model=mlp data=ring8", "model=mlp data=grid25",
    "model=agan data=toyzebra", "model=cyclegan data=toyzebra",
    # data that needs files: validation itself does not touch them
    "model=dcgan data=folder", "model=cgan data=mnist", "model=cyclegan data=horse2zebra",
    "model=agan data=unpaired_folder", "data=folder data.in_memory=false data.in_memory_budget_mb=64",
    "loss=wgan_gp schedule=wgan_gp", "loss=bce_r1 +regulariser=r2", "model=agan data=toyzebra +regulariser=r2",
    "schedule=linear_decay", "debug=fast", "trainer.precision=bf16",
    "trainer.device=cuda:1 trainer.stop_at_step=10", "schedule.lr_g=0", "schedule.lr_d=1",
    "trainer.max_steps=0 trainer.max_epochs=3", "model=sdpc data=shapes", "model=sdpc data=digits",
    *(f"experiment={p.stem}" for p in sorted((CONF / "experiment").glob("*.yaml"))),
]


@pytest.mark.parametrize("overrides", GOOD)
def test_shipped_configs_validate(overrides):
    validate(_compose(overrides.split()))


BAD = [
    ("data.batch_size=0", "data.batch_size=0: must be an integer >= 1"),
    ("data.batch_size=-3", "data.batch_size=-3: must be an integer >= 1"),
    ("data.batch_size=abc", "data.batch_size='abc': must be an integer >= 1"),
    ("data.batch_size=true", "data.batch_size=True: must be an integer >= 1"),
    ("data.batch_size=2.0", "data.batch_size=2.0: must be an integer >= 1"),
    ("schedule.lr_d=abc", "schedule.lr_d='abc': must be a number >= 0"),
    ("schedule.lr_d=-1", "schedule.lr_d=-1: must be a number >= 0"),
    ("schedule.lr_g=inf", "schedule.lr_g"),
    ("trainer.precision=fp8", "trainer.precision='fp8': must be one of 32, '32', 'bf16', 'fp16'"),
    ("trainer.device=tpu", "trainer.device='tpu'"),
    ("trainer.max_steps=-1", "trainer.max_steps=-1: must be an integer >= 0"),
    ("trainer.max_steps=0 trainer.max_epochs=0", "set trainer.max_steps or trainer.max_epochs to a positive"),
    ("seed=-1", "seed=-1: must be an integer >= 0"),
    ("trainer.log_every=0", "trainer.log_every=0"),
    ("data.image_size=0", "data.image_size=0"),
    ("callbacks.checkpoint.mode=best", "callbacks.checkpoint.mode='best': must be one of 'max', 'min'"),
    ("schedule.betas=[0.5]", "schedule.betas=[0.5]: must be a list of 2 numbers in [0, 1)"),
    ("schedule.betas=[0.5,1.0]", "schedule.betas"),
    ("data.channels=2", "data.channels=2: must be one of 1, 3"),
    ("data=folder data.in_memory=maybe", "data.in_memory='maybe': must be one of 'auto', True, False"),
    ("data=folder data.in_memory_budget_mb=-1", "data.in_memory_budget_mb=-1: must be a number >= 0"),
    ("trainer.stop_at_step=0", "trainer.stop_at_step=0: must be null or an integer >= 1"),
    ("schedule=linear_decay schedule.lr_policy.decay_start=1.5", "schedule.lr_policy.decay_start=1.5"),
    ("schedule.lr_policy=linear_decay", "schedule.lr_policy='linear_decay': must be a config node with a _target_"),
    ("trainer.deterministic=maybe", "trainer.deterministic='maybe'"),
    ("loss=wgan loss.n_critic=0", "schedule.n_critic=0"),  # reached through ${loss.n_critic}
    ("model=mlp data=ring8 model.z_dim=0", "model.z_dim=0"),
    ("model.width=${data.nope}", "model.width: cannot be resolved"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_override_is_one_line_naming_the_key(overrides, message):
    with pytest.raises(ConfigError) as e:
        validate(_compose(overrides.split()))
    assert message in str(e.value) and "\n" not in str(e.value)
    assert isinstance(e.value, ValueError)


def test_absent_keys_are_skipped_and_null_only_where_allowed():
    validate(OmegaConf.create({"trainer": {"max_steps": 1, "stop_at_step": None}}))  # 2D data: no image_size
    with pytest.raises(ConfigError, match=r"data.batch_size=None: must be an integer >= 1"):
        validate(OmegaConf.create({"data": {"batch_size": None}, "trainer": {"max_steps": 1}}))


# -- `+key` overrides: the rule of config/keys.check_added_keys ------------------------------------

ADDED = [
    (["+trainer.max_step=10"], "trainer.max_steps"),          # a typo: nothing reads it
    (["+tag=baseline"], "+tag: adds a key that nothing reads"),
    (["+data.scale2=2"], "+data.scale2"),
    (["+model.algorithm.foo=1"], None),                         # a constructor argument: its class decides
    (["+model.networks.G.bar=1"], None),
    (["+callbacks.mine={_target_: ganlab.callbacks.progress.Progress}"], None),  # a new member, built
    (["+hydra.launcher.n_jobs=2"], None),                      # a plugin's setting
]


@pytest.mark.parametrize("overrides,message", ADDED, ids=[o[0] for o, _ in ADDED])
def test_an_added_key_nothing_reads_is_refused(overrides, message):
    from ganlab.config.keys import check_added_keys
    cfg = _compose([o for o in overrides if not o.startswith("+hydra.")])
    if message is None:
        check_added_keys(cfg, overrides, groups={"model": "dcgan"})
        return
    with pytest.raises(ConfigError, match=message.replace("+", r"\+")):
        check_added_keys(cfg, overrides, groups={"model": "dcgan"})


def test_a_mistyped_key_gets_the_close_one():
    from ganlab.config.keys import all_keys, close_key
    keys = all_keys(_compose([]))
    assert close_key("trainer.max_step", keys) == "trainer.max_steps"
    assert close_key("lr", keys) in ("schedule.lr_d", "schedule.lr_g")  # not an interpolated copy of them
    assert close_key("zzzzzz", keys) is None


def test_every_preset_and_shipped_pair_of_its_kind_passes_the_data_check():
    """The data-fit check (training/data_kind.py) refuses no shipped preset, and each model family
    fits exactly the data of its kind."""
    from ganlab.training.data_kind import check_data_fits
    for preset in sorted(p.stem for p in (CONF / "experiment").glob("*.yaml")):
        check_data_fits(_compose([f"experiment={preset}"]))
    fits = {"dcgan": {"shapes", "mnist", "folder"}, "mlp": {"ring8", "grid25"},
            "agan": {"toyzebra", "horse2zebra", "unpaired_folder"}, "flow": {"shapes", "ring8", "grid25"}}
    for model, data in fits.items():
        for d in ("shapes", "ring8", "grid25", "toyzebra", "horse2zebra"):
            if d in data:
                check_data_fits(_compose([f"model={model}", f"data={d}"]))
            else:
                with pytest.raises(ConfigError, match=f"model={model}.* needs .*use data="):
                    check_data_fits(_compose([f"model={model}", f"data={d}"]))
