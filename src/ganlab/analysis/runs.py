"""Reading run directories: summary.json, the Hydra config and overrides, TensorBoard scalars,
sample grids. Everything here tolerates a partial run (killed, failed, still running)."""

from __future__ import annotations

import glob
import json
import math
import os
import socket
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ganlab.config import override_key

# overrides that say where/how a run ran, not what it is
IGNORED_OVERRIDES = ("resume", "trainer.device", "logger")


def wall_time(summary: dict) -> float | None:
    """A summary's wall time: under `timings` (summaries written before it: at the top)."""
    return (summary.get("timings") or {}).get("wall_time_s", summary.get("wall_time_s"))


@dataclass
class RunRecord:
    """A run as read back from its directory (summary, config, overrides), for compare and report."""
    path: Path
    summary: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)
    choices: dict[str, str] = field(default_factory=dict)  # config group -> chosen option

    @property
    def name(self) -> str:
        return self.path.name

    heartbeat: dict = field(default_factory=dict)  # heartbeat.json: written while the run trains

    @property
    def beat_is_newer(self) -> bool:
        """The heartbeat is newer than summary.json: the run trains (or trained) after its last
        summary, e.g. a resumed run, whose summary is the earlier run's."""
        beat = self.heartbeat.get("time")
        summary_time = (self.path / "summary.json").stat().st_mtime if (self.path / "summary.json").is_file() else 0
        return bool(beat) and beat > summary_time

    @property
    def status(self) -> str:
        """summary.json's status, unless the run is training now (a resumed run still has its
        earlier summary): a heartbeat newer than the summary, recent or from a live process."""
        if self.beat_is_newer:
            return "running" if _alive(self.heartbeat) else "stalled"
        return self.summary.get("status", "running?" if (self.path / "tb").is_dir() else "unknown")

    @property
    def progress(self) -> tuple[int | None, int | None, float | None]:
        """(step, total steps, wall time) from the newer of the heartbeat and the summary."""
        first, then = (self.heartbeat, self.summary) if self.beat_is_newer else (self.summary, self.heartbeat)
        step, total = (first.get(k, then.get(k)) for k in ("step", "total_steps"))
        wall = self.heartbeat.get("wall_time_s") if self.beat_is_newer else wall_time(self.summary)
        return step, total, wall if wall is not None else wall_time(self.heartbeat)

    @property
    def metrics(self) -> dict[str, float]:
        return self.summary.get("metrics") or {}

    @property
    def best(self) -> dict | None:
        return self.summary.get("best") or None

    @property
    def seed(self):
        return self.overrides.get("seed", self.config.get("seed"))


def is_run_dir(path: Path) -> bool:
    return (path / "summary.json").is_file() or (path / "tb").is_dir()


def parse_overrides(lines: list[str]) -> dict[str, str]:
    """`key=value` overrides as a dict, without the ones that don't define the run."""
    out = {}
    for line in lines:
        line = str(line)
        key = override_key(line)
        if key in IGNORED_OVERRIDES or key.startswith("hydra.") or key.startswith("hydra/"):
            continue
        out[key] = line.split("=", 1)[1] if "=" in line else ""
    return out


def _read_yaml(path: Path):
    try:
        return yaml.safe_load(path.read_text()) if path.is_file() else None
    except (OSError, yaml.YAMLError):
        return None


def load_run(path: str | Path) -> RunRecord:
    path = Path(path)
    run = RunRecord(path=path)
    try:
        run.summary = json.loads((path / "summary.json").read_text())
    except (OSError, ValueError):
        pass
    run.config = _read_yaml(path / ".hydra" / "config.yaml") or {}
    try:
        run.heartbeat = json.loads((path / "heartbeat.json").read_text())
    except (OSError, ValueError):
        run.heartbeat = {}
    run.overrides = parse_overrides(_read_yaml(path / ".hydra" / "overrides.yaml") or [])
    hydra_cfg = _read_yaml(path / ".hydra" / "hydra.yaml") or {}
    choices = ((hydra_cfg.get("hydra") or {}).get("runtime") or {}).get("choices") or {}
    run.choices = {k: str(v) for k, v in choices.items() if not k.startswith("hydra/") and v is not None}
    return run


STALLED_AFTER_S = 600  # no heartbeat for this long from another host: the run is not training


def _alive(beat: dict) -> bool:
    """A heartbeat's process still runs (same host: ask the OS), or it beat recently (elsewhere)."""
    if beat.get("host") == socket.gethostname() and beat.get("pid"):
        try:
            os.kill(int(beat["pid"]), 0)
            return True
        except ProcessLookupError:
            return False
        except PermissionError:  # someone else's process: it exists
            return True
    return time.time() - beat.get("time", 0) < STALLED_AFTER_S


def find_runs(specs: list[str]) -> list[Path]:
    """Run dirs named by `specs`: run dirs, parents of run dirs (searched recursively), globs."""
    found: dict[Path, None] = {}
    for spec in specs:
        paths = sorted(map(Path, glob.glob(spec, recursive=True))) if glob.has_magic(spec) else [Path(spec)]
        for p in paths:
            if not p.is_dir():
                continue
            if is_run_dir(p):
                found[p.resolve()] = None
            else:
                # a run still going has no summary.json yet, but has its .hydra/ and tb/
                dirs = [s.parent for s in p.rglob("summary.json")]
                dirs += [h.parent for h in p.rglob(".hydra") if (h.parent / "tb").is_dir()]
                for d in sorted(dirs):
                    found[d.resolve()] = None
    return list(found)


def read_scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series of the run's TensorBoard events, sorted by step. A resumed run re-logs
    the steps after its last checkpoint: the latest value of a step wins."""
    tb = Path(run_dir) / "tb"
    if not tb.is_dir():  # a run logged with logger=csv only
        return read_metrics_csv(Path(run_dir) / "metrics.csv")
    from tensorboard.backend.event_processing.event_accumulator import SCALARS, EventAccumulator

    out = {}
    for d in sorted({f.parent for f in tb.rglob("events.out.tfevents.*")}):
        acc = EventAccumulator(str(d), size_guidance={SCALARS: 0})  # 0 = keep every point
        acc.Reload()
        for tag in acc.Tags().get("scalars", []):
            series = out.setdefault(tag, {})
            for ev in acc.Scalars(tag):
                series[ev.step] = ev.value
    return {tag: sorted(s.items()) for tag, s in out.items()}


def read_metrics_csv(path: Path) -> dict[str, list[tuple[int, float]]]:
    """metrics.csv (callbacks/csv_logger.py: rows step,metric,value) as series sorted by step;
    rows a kill cut short are skipped."""
    import csv
    out: dict[str, dict[int, float]] = {}
    if path.is_file():
        with open(path, newline="") as f:
            for row in csv.reader(f):
                try:
                    step, name, value = int(row[0]), row[1], float(row[2])
                except (ValueError, IndexError):
                    continue  # the header, a torn row
                out.setdefault(name, {})[step] = value
    return {tag: sorted(s.items()) for tag, s in out.items()}


def evenly_spaced(items: list, k: int) -> list:
    """Up to k items including the first and the last."""
    if len(items) <= k:
        return list(items)
    idx = sorted({round(i * (len(items) - 1) / (k - 1)) for i in range(k)})
    return [items[i] for i in idx]


def human_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = float(seconds)
    if s < 60:
        return f"{s:.1f}s"
    m, s = divmod(int(round(s)), 60)
    h, m = divmod(m, 60)
    d, h = divmod(h, 24)
    if d:
        return f"{d}d{h:02d}h{m:02d}m"
    return f"{h}h{m:02d}m" if h else f"{m}m{s:02d}s"


def mean_and_std(xs: list[float]) -> tuple[float, float]:
    """Over seeds: (mean, sample std; 0 for one seed); NaN for both when a seed has no value."""
    if any(math.isnan(x) for x in xs):  # statistics.stdev cannot take NaN
        return math.nan, math.nan
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def mean_std(ms: tuple[float, float] | None, spec: str, std_spec: str | None = None) -> str:
    """Every table's `mean±std` (no spaces: the benches' tables stay within 120 columns); the std
    takes `std_spec` when given, else `spec` (".3f", ".4g"); "-" for no value."""
    if ms is None:
        return "-"
    return f"{ms[0]:{spec}}±{ms[1]:{std_spec or spec}}"


def fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
