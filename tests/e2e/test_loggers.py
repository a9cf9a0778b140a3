"""logger=[tensorboard,csv,wandb,mlflow]: several loggers at once under the same metric names,
each sensible on resume; W&B offline and MLflow's local file store, without network."""

import csv
import struct
import time
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import summary

TINY = ["debug=fast", "model.width=8", "data.image_size=16", "data.dataset.size=64", "trainer.device=cpu"]


def csv_rows(path: Path) -> list[tuple[int, str, float]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["step", "metric", "value"]
    return [(int(s), m, float(v)) for s, m, v in rows[1:]]


def test_csv_logs_tensorboards_names_and_values_and_ends_equal_to_an_uninterrupted_run_on_resume(ganlab, tmp_path):
    ganlab("train", *TINY, "logger=[tensorboard,csv]", "hydra.run.dir=full")
    rows = csv_rows(tmp_path / "full" / "metrics.csv")
    acc = EventAccumulator(str(tmp_path / "full" / "tb"))
    acc.Reload()
    tb = {(e.step, tag): e.value for tag in acc.Tags()["scalars"] for e in acc.Scalars(tag)}
    assert {(s, m) for s, m, _ in rows} == set(tb)  # every scalar, under one name, in both
    assert {m for _, m, _ in rows} >= {"train/loss_d", "train/loss_g", "train/d_real", "val/fid_random_conv"}
    for s, m, v in rows:
        assert v == pytest.approx(tb[(s, m)], rel=1e-6)  # TensorBoard stores float32

    ganlab("train", *TINY, "logger=[tensorboard,csv]", "trainer.stop_at_step=2", "hydra.run.dir=cut", check=False)
    cut = tmp_path / "cut" / "metrics.csv"
    assert max(s for s, _, _ in csv_rows(cut)) == 2
    with open(cut, "a") as f:  # what a run killed after its step-2 checkpoint had logged: step 3, a torn row
        f.write("3,train/loss_d,123.0\n3,train/loss_g,4")
    ganlab("train", "resume=cut", "trainer.device=cpu")
    assert summary(tmp_path / "cut")["status"] == "ok"
    assert cut.read_text() == (tmp_path / "full" / "metrics.csv").read_text()  # bit for bit: repr'd values
    assert max(s for s, _, _ in csv_rows(cut)) == 4


def wandb_records(run_file: Path):
    """The records of W&B's offline run file (a LevelDB-style log: 7-byte header, then records
    of crc32, length, type in 32 KiB blocks), decoded with W&B's own protobuf."""
    from wandb.proto import wandb_internal_pb2 as pb
    data, pos, chunks = run_file.read_bytes(), 7, b""
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        if (pos % 32768) + 7 > 32768:  # a block's tail too short for a header is padding
            pos += 32768 - pos % 32768
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunks += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # FULL, LAST
            rec = pb.Record()
            rec.ParseFromString(chunks)
            chunks = b""
            yield rec
        elif kind == 0:
            break


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """W&B offline and MLflow on a local file store, nothing written in $HOME, no network."""
    for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "home"))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # the test's own client reads the store too
    return tmp_path / "mlruns"


def wandb_history(session: Path) -> tuple[dict[str, list[int]], dict]:
    """{metric: steps} and the config of one offline W&B session, once W&B's service process has
    written its exit record (it writes the file asynchronously: a loaded machine lags finish())."""
    run_file = next(session.glob("run-*.wandb"))
    deadline = time.monotonic() + 30
    while not any(rec.HasField("exit") for rec in wandb_records(run_file)) and time.monotonic() < deadline:
        time.sleep(0.2)
    steps, config = {}, {}
    for rec in wandb_records(run_file):
        if rec.HasField("history"):
            items = {i.key or "/".join(i.nested_key): i.value_json for i in rec.history.item}
            for k in items:
                if not k.startswith("_"):
                    steps.setdefault(k, []).append(int(items["_step"]))
        if rec.HasField("config"):
            config |= {i.key: i.value_json for i in rec.config.update}
    return steps, config


def test_wandb_offline_and_mlflow_local_write_their_files(ganlab, tmp_path, offline):
    pytest.importorskip("wandb")
    mlflow = pytest.importorskip("mlflow")
    ganlab("train", *TINY, "logger=[wandb,mlflow]", f"logger.mlflow.tracking_uri={offline}", "hydra.run.dir=run")
    run = tmp_path / "run"

    run_id = (run / "wandb" / "ganlab_run_id").read_text().strip()
    (session,) = (run / "wandb").glob(f"offline-run-*-{run_id}")
    steps, config = wandb_history(session)
    assert steps["train/loss_d"] == [1, 2, 3, 4] and steps["val/fid_random_conv"] == [2, 4]
    assert config["model"] == '"dcgan"' and config["data"] == '"shapes"'  # the run's hyper-parameters
    assert list(session.glob("files/media/images/samples/grid_*.png"))  # the sample grids

    client = mlflow.MlflowClient(tracking_uri=offline.as_uri())
    r = client.get_run((run / "mlflow_run_id").read_text().strip())
    assert r.info.status == "FINISHED" and r.info.run_name == "run"
    assert [m.step for m in client.get_metric_history(r.info.run_id, "train/loss_d")] == [1, 2, 3, 4]
    assert set(r.data.metrics) >= {"train/loss_g", "train/d_real", "val/fid_random_conv"}
    assert r.data.params["model"] == "dcgan" and r.data.params["model.discriminator"] == "dcgan"
    assert list(Path(r.info.artifact_uri.removeprefix("file://")).glob("images/samples_grid+step+4+*.png"))


def log_steps(logger, run_dir: Path, steps, *, purge_step=None, value=1.0):
    logger.open(run_dir, purge_step=purge_step)
    for s in steps:
        logger.scalar("train/loss_d", value * s, s)
    logger.close()


def test_mlflow_resume_continues_the_run_and_logs_each_step_once(tmp_path, offline):
    mlflow = pytest.importorskip("mlflow")
    from ganlab.callbacks.mlflow_logger import MLflowLogger
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    log_steps(MLflowLogger(tracking_uri=str(offline)), run_dir, [1, 2, 3])  # killed after its checkpoint at 2
    log_steps(MLflowLogger(tracking_uri=str(offline)), run_dir, [3, 4], purge_step=3)
    client = mlflow.MlflowClient(tracking_uri=offline.as_uri())
    (exp,) = [e for e in client.search_experiments() if e.name == "ganlab"]
    (r,) = client.search_runs([exp.experiment_id])
    assert [(m.step, m.value) for m in client.get_metric_history(r.info.run_id, "train/loss_d")] == \
        [(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)]
    assert r.info.status == "FINISHED"  # no summary.json: nothing says it failed
    (run_dir / "summary.json").write_text('{"status": "failed"}')
    log_steps(MLflowLogger(tracking_uri=str(offline)), run_dir, [], purge_step=5)
    assert client.get_run(r.info.run_id).info.status == "FAILED"  # the run's status, shown in MLflow


def test_wandb_resume_continues_the_same_run(tmp_path, offline):
    pytest.importorskip("wandb")
    from ganlab.callbacks.wandb_logger import WandbLogger
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    log_steps(WandbLogger(), run_dir, [1, 2])
    log_steps(WandbLogger(), run_dir, [3, 4], purge_step=3)
    run_id = (run_dir / "wandb" / "ganlab_run_id").read_text().strip()
    sessions = sorted((run_dir / "wandb").glob("offline-run-*"))
    # each session's record file names its run id (the folder name gets a "-1" when two start in one second)
    ids = [[f.stem.removeprefix("run-") for f in s.glob("run-*.wandb")] for s in sessions]
    assert ids == [[run_id], [run_id]]  # `wandb sync` joins them
    assert [wandb_history(s)[0]["train/loss_d"] for s in sessions] == [[1, 2], [3, 4]]


def test_a_missing_logger_package_is_one_line_naming_the_install(ganlab, tmp_path, monkeypatch):
    fake = tmp_path / "site"
    (fake / "wandb").mkdir(parents=True)
    (fake / "wandb" / "__init__.py").write_text("raise ImportError('No module named wandb')\n")
    monkeypatch.setenv("PYTHONPATH", str(fake))
    p = ganlab("train", *TINY, "logger=[tensorboard,wandb]", check=False)
    assert p.returncode == 2
    assert "logger.wandb" in p.stderr and "pip install wandb" in p.stderr
    assert "Traceback" not in p.stderr
    assert not (tmp_path / "outputs").exists()  # checked before the run directory exists


def test_no_logger_at_all_still_trains_and_draws(ganlab, tmp_path):
    ganlab("train", *TINY, "~logger", "~data.evaluators", "hydra.run.dir=run")
    run = tmp_path / "run"
    assert summary(run)["status"] == "ok" and not (run / "tb").exists() and not (run / "metrics.csv").exists()
    assert list((run / "samples").glob("grid_step*.png")) and (run / "final_samples.png").is_file()


def test_wandb_and_mlflow_take_images_figures_and_text(tmp_path, offline):
    pytest.importorskip("wandb")
    mlflow = pytest.importorskip("mlflow")
    import torch

    from ganlab.callbacks.mlflow_logger import MLflowLogger
    from ganlab.callbacks.wandb_logger import WandbLogger
    from ganlab.metrics.modes import scatter_figure
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    centers = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    for lg in (WandbLogger(), MLflowLogger(tracking_uri=str(offline))):
        lg.open(run_dir)
        lg.image("samples/grid", torch.rand(3, 10, 12), 1)
        lg.figure("samples/scatter", scatter_figure(centers.repeat(25, 1) + 0.01 * torch.randn(50, 2), centers, 0.01), 1)
        lg.text("events/spike", "step 1: loss_d <spiked>", 1)
        lg.close()
    (session,) = (run_dir / "wandb").glob("offline-run-*")
    media = session / "files" / "media"
    assert list(media.glob("images/samples/grid_*.png")) and list(media.glob("images/samples/scatter_*.png"))
    (event,) = media.glob("html/events/spike_*.html")
    assert "&lt;spiked&gt;" in event.read_text()
    client = mlflow.MlflowClient(tracking_uri=offline.as_uri())
    run_id = (run_dir / "mlflow_run_id").read_text().strip()
    art = Path(client.get_run(run_id).info.artifact_uri.removeprefix("file://"))
    assert (art / "samples/scatter/step00000001.png").is_file()
    assert "&lt;spiked&gt;" in (art / "events/spike/step00000001.html").read_text()
    assert list(art.glob("images/samples_grid+step+1+*.png"))


def test_a_run_without_val_metrics_still_records_its_hyper_parameters(ganlab, tmp_path, offline):
    mlflow = pytest.importorskip("mlflow")
    ganlab("train", *TINY, "~data.evaluators", "logger=[tensorboard,mlflow]", f"logger.mlflow.tracking_uri={offline}",
           "hydra.run.dir=run")
    r = mlflow.MlflowClient(tracking_uri=offline.as_uri()).get_run((tmp_path / "run" / "mlflow_run_id").read_text().strip())
    assert r.data.params["model"] == "dcgan" and not [m for m in r.data.metrics if m.startswith("val/")]
    acc = EventAccumulator(str(tmp_path / "run" / "tb"))
    acc.Reload()
    assert "train/loss_d" in acc.Tags()["scalars"]
    # TensorBoard's HParams row still has the losses every run logs to compare it by
    assert acc.PluginTagToContent("hparams")
