"""TensorBoard: hyper-parameters through the HParams plugin only (config groups + seed + overridden
keys, in a session start and no experiment summary), no hparam/ or duplicate scalar cards, samples
first; over runs of several families the plugin's columns are the union of theirs, so each row has
values (read through the plugin's own backend, as `tensorboard --logdir outputs` serves them)."""

from tensorboard import context
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups, plugin_data_pb2

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
    # no experiment summary: the plugin would take one run's for every run of the logdir
    assert not [d for d in data.values() if d.HasField("experiment")]
    session = next(d.session_start_info for d in data.values() if d.HasField("session_start_info"))
    names = set(session.hparams)
    assert {"model", "model/discriminator", "loss", "data", "seed", "schedule.lr_g"} <= names
    assert not names & {"callbacks", "logger", "tuned", "model.name"}  # how a run is watched; no duplicates
    assert session.hparams["model/discriminator"].string_value == "patchgan"
    assert session.hparams["schedule.lr_g"].number_value == 0.001
    assert session.hparams["seed"].number_value == 0
    groups = sorted({t.split("/")[0] for t in scalars + acc.Tags()["images"]})
    assert groups[0] == "samples"  # Time Series lists groups alphabetically: the images come first


MIXED = {"mlp": ["model=mlp", "data=ring8", "data.evaluators.modes.n_samples=200"],
         "dcgan": ["model.width=8", "data.image_size=16", "data.dataset.size=64", "data.evaluators.fid_proxy.n_samples=64",
                   "data.evaluators.fid_proxy.kid_subset_size=32"]}


def plugin_view(logdir):
    """The HParams tab of `tensorboard --logdir logdir`: the experiment (columns) and the session
    groups (rows), computed by the plugin's backend."""
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(logdir))
    mux.Reload()
    ctx = backend_context.Context(base_plugin.TBContext(
        data_provider=data_provider.MultiplexerDataProvider(mux, str(logdir)), logdir=str(logdir)))
    rctx = context.RequestContext()
    experiment = ctx.experiment_from_metadata(rctx, "", True, ctx.hparams_metadata(rctx, ""),
                                              ctx.hparams_from_data_provider(rctx, "", None), hparams_limit=1000)
    request = api_pb2.ListSessionGroupsRequest(start_index=0, slice_size=100,
                                               allowed_statuses=[api_pb2.STATUS_SUCCESS, api_pb2.STATUS_UNKNOWN])
    return experiment, list_session_groups.Handler(rctx, ctx, "", request).run().session_groups


def test_hparams_tab_over_mlp_and_dcgan_runs_has_every_familys_columns(ganlab, tmp_path):
    for name, args in MIXED.items():
        ganlab("train", "debug=fast", "trainer.device=cpu", *args, f"hydra.run.dir=outputs/{name}")
    experiment, groups = plugin_view(tmp_path / "outputs")
    infos = [h.name for h in experiment.hparam_infos]  # the plugin's order: differing first, then by name
    assert {"model", "loss", "data", "seed"} <= set(infos)
    assert {"model", "data"} <= set(infos[:5])  # what differs between the runs is ticked by default
    metrics = {m.name.tag for m in experiment.metric_infos}
    assert {"val/modes", "val/hq", "val/fid_random_conv", "val/precision_random_conv",
            "train/loss_d", "train/loss_g"} <= metrics
    rows = {g.hparams["model"].string_value: {m.name.tag: m.value for m in g.metric_values} for g in groups}
    assert set(rows) == {"mlp", "dcgan"}
    assert {"val/modes", "train/loss_d", "train/loss_g"} <= set(rows["mlp"])  # a row of its own values
    assert {"val/fid_random_conv", "train/loss_d", "train/loss_g"} <= set(rows["dcgan"])
