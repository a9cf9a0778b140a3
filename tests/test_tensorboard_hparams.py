"""TensorBoard: hyper-parameters through the HParams plugin only (config groups + overridden keys),
every val/ metric of the run as a metric, no hparam/ or duplicate scalar cards, samples first."""

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

TINY = ["debug=fast", "model.width=8", "data.image_size=32", "data.dataset.size=64", "trainer.device=cpu",
        "trainer.max_steps=4", "trainer.log_every=1", "trainer.eval_every=4", "model/discriminator=patchgan",
        "schedule.lr_g=0.001"]


def test_hparams_tab_has_groups_overrides_and_every_val_metric(ganlab, tmp_path):
    ganlab("train", *TINY, "hydra.run.dir=run")
    acc = EventAccumulator(str(tmp_path / "run" / "tb"))
    acc.Reload()
    scalars = acc.Tags()["scalars"]
    assert not [t for t in scalars if t.startswith(("hparam/", "health/"))]
    assert "train/d_real" in scalars and not [t for t in scalars if t.startswith("train/d_on_")]  # no duplicates
    content = acc.PluginTagToContent("hparams")
    data = {tag: plugin_data_pb2.HParamsPluginData.FromString(raw) for tag, raw in content.items()}
    experiment = next(d.experiment for d in data.values() if d.HasField("experiment"))
    names = {h.name for h in experiment.hparam_infos}
    assert {"model", "model/discriminator", "loss", "data", "schedule.lr_g"} <= names
    metrics = {m.name.tag for m in experiment.metric_infos}
    assert metrics == {t for t in scalars if t.startswith("val/")} and metrics  # the run's own tags
    session = next(d.session_start_info for d in data.values() if d.HasField("session_start_info"))
    assert session.hparams["model/discriminator"].string_value == "patchgan"
    assert session.hparams["schedule.lr_g"].number_value == 0.001
    groups = sorted({t.split("/")[0] for t in scalars + acc.Tags()["images"]})
    assert groups[0] == "samples"  # Time Series lists groups alphabetically: the images come first
