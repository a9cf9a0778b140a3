"""MLflow: one MLflow run per ganlab run, the same metric names as TensorBoard's tags, sample
grids as step images, hyper-parameters as params (callbacks/loggers.py has the logger
interface). A resume continues the same MLflow run (its id is kept in <run dir>/mlflow_run_id).
MLflow's metric history is append-only: the steps the stopped run had logged after its
checkpoint are not logged again (the resumed run's values there are the same: exact resume)."""

from __future__ import annotations

import html
import logging
import os
from pathlib import Path

from ganlab.callbacks.loggers import require, run_status
from ganlab.files import atomic_write_text

log = logging.getLogger("ganlab")
MLFLOW_STATUS = {"ok": "FINISHED", "failed": "FAILED", "interrupted": "KILLED"}


class MLflowLogger:
    def __init__(self, *, tracking_uri: str = "mlruns",  # a server URL, or a local folder (file store)
                 experiment: str = "ganlab"):
        self.mlflow = require("mlflow", pip="mlflow-skinny")  # checked before the run directory exists
        if "://" not in tracking_uri and not tracking_uri.startswith("file:"):
            tracking_uri = Path(tracking_uri).resolve().as_uri()
        if tracking_uri.startswith("file:"):
            # MLflow 3 keeps the file store in maintenance mode and refuses it unless asked; the
            # database backend needs the full mlflow (SQLAlchemy, alembic), not mlflow-skinny
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.uri, self.experiment = tracking_uri, experiment
        self.run_id = None

    def open(self, run_dir: Path, *, purge_step: int | None = None) -> None:
        self.run_dir = run_dir
        self.client = client = self.mlflow.MlflowClient(tracking_uri=self.uri)
        id_file = run_dir / "mlflow_run_id"
        self.logged: dict[str, int] = {}  # metric -> the last step MLflow already has (a resume)
        if id_file.is_file():
            self.run_id = id_file.read_text().strip()
            client.update_run(self.run_id, status="RUNNING")
            for name in client.get_run(self.run_id).data.metrics:
                self.logged[name] = max(m.step for m in client.get_metric_history(self.run_id, name))
        else:
            exp = client.get_experiment_by_name(self.experiment)
            exp_id = exp.experiment_id if exp else client.create_experiment(self.experiment)
            self.run_id = client.create_run(exp_id, run_name=run_dir.name,
                                            tags={"ganlab.run_dir": str(run_dir.resolve())}).info.run_id
            atomic_write_text(id_file, self.run_id + "\n")

    def scalar(self, name: str, value: float, step: int) -> None:
        if step > self.logged.get(name, -1):
            self.client.log_metric(self.run_id, name, float(value), step=step)

    def text(self, name: str, text: str, step: int) -> None:
        self.client.log_text(self.run_id, f"<pre>{html.escape(text)}</pre>", f"{name}/step{step:08d}.html")

    def image(self, name: str, img, step: int) -> None:
        hwc = img.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
        self.client.log_image(self.run_id, hwc, key=name.replace("/", "_"), step=step)

    def figure(self, name: str, fig, step: int) -> None:
        self.client.log_figure(self.run_id, fig, f"{name}/step{step:08d}.png")

    def hparams(self, hparams: dict, metric_tags: list[str]) -> None:
        # the val/ metrics are logged already: MLflow's compare view reads them. A config group's
        # name becomes a path in the file store: model/discriminator -> model.discriminator
        params = [self.mlflow.entities.Param(k.replace("/", "."), str(v)) for k, v in hparams.items()]
        try:
            self.client.log_batch(self.run_id, params=params)
        except self.mlflow.exceptions.MlflowException as e:  # params are immutable: a resume that changed one
            log.warning("mlflow: hyper-parameters not updated: %s", str(e).splitlines()[0])

    def close(self) -> None:
        if self.run_id is not None:
            self.client.set_terminated(self.run_id, status=MLFLOW_STATUS.get(run_status(self.run_dir), "FINISHED"))
            self.run_id = None
