"""`ganlab report RUN_DIR [--out PATH]`: one self-contained HTML page about a run — config, events,
curves and sample grids, images embedded as base64 data URIs (no external files, JS or CSS)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

import yaml

from ganlab.analysis import plots
from ganlab.analysis.runs import (
    RunRecord,
    evenly_spaced,
    fmt,
    human_time,
    is_run_dir,
    load_run,
    read_scalars,
    wall_time,
)
from ganlab.config import CONF_DIR
from ganlab.files import atomic_write_text
from ganlab.sample_files import sample_files

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GROUPS = ("model", "model/discriminator", "loss", "data", "schedule", "tricks", "experiment", "tuned")
MAX_SAMPLES = 8
MAX_OTHER = 12
SAMPLE_MIN_PX = 420  # smaller grids are shown upscaled by a whole factor (pixels stay square)
CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
h1,h2,h3,td,th,figcaption,code{overflow-wrap:anywhere}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3}.ok{color:#070}.failed{color:#b00}.interrupted{color:#a60}
figure{display:inline-block;margin:4px;text-align:center;vertical-align:top}figcaption{font-size:13px;color:#555}
img{max-width:100%;height:auto}img.pixelated{image-rendering:pixelated}
pre{background:#f6f6f6;padding:8px;white-space:pre-wrap;overflow-wrap:anywhere}"""


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's header (IHDR)."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _img(png: bytes, *, cls: str, alt: str, upscale: bool = False) -> str:
    """An embedded PNG at its native size, or (upscale) a small one enlarged by a whole factor,
    drawn with square pixels: never resampled to a size that blurs or distorts it."""
    data = base64.b64encode(png).decode("ascii")
    w, h = png_size(png)
    k = max(1, SAMPLE_MIN_PX // max(w, 1)) if upscale else 1
    cls += " pixelated" if k > 1 else ""
    return (f'<img src="data:image/png;base64,{data}" class="{cls}" width="{w * k}" height="{h * k}" '
            f'alt="{html.escape(alt)}">')


def _table(rows: list[tuple], *, header: tuple | None = None) -> str:
    e = html.escape
    head = "<tr>" + "".join(f"<th>{e(str(h))}</th>" for h in header) + "</tr>" if header else ""
    body = "".join("<tr>" + "".join(f"<td>{e(fmt(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table>{head}{body}</table>"


def switch_step(summary: dict) -> int | None:
    """When the intervention switched on: summary "phases", else the first "switch" event."""
    step = (summary.get("phases") or {}).get("switch_step")
    if step is not None:
        return int(step)
    return next((int(ev["step"]) for ev in summary.get("events") or [] if ev.get("kind") == "switch"), None)


def key_config(run: RunRecord) -> list[tuple[str, str]]:
    rows = []
    for group in GROUPS:
        node = run.config
        for part in group.split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        name = ((run.summary.get("config_groups") or {}).get(group) or run.choices.get(group)
                or (node.get("name") if isinstance(node, dict) else node))
        if group == "tuned" and "tuned" not in (run.summary.get("config_groups") or {}):
            continue  # Hydra names a tuned file even when none exists: only the recorded one counts
        if name is not None:
            rows.append((group, str(name)))
    rows += trick_rows(run.config)
    rows += tuned_rows(run)
    if "seed" in run.config:
        rows.append(("seed", run.config["seed"]))
    trainer = run.config.get("trainer") or {}
    for k in ("max_steps", "max_epochs", "precision"):
        if k in trainer and f"trainer.{k} (tuned)" not in dict(rows):
            rows.append((f"trainer.{k}", trainer[k]))
    return rows


def trick_rows(config: dict) -> list[tuple[str, str]]:
    """The pieces that acted on what D saw, whoever added them (the tricks option, a preset, the
    command line): `tricks: none` alone would hide a preset's perfect-G piece."""
    rows = []
    for name, node in (config.get("tricks") or {}).items():
        if isinstance(node, dict) and node.get("_target_"):
            rows.append((f"tricks.{name}", _value(node)))
    return rows


def _value(node) -> str:
    """A value as it ran; a node built by _target_ as Class(settings)."""
    if isinstance(node, dict) and node.get("_target_"):
        settings = ", ".join(f"{k}={_value(v)}" for k, v in node.items() if k != "_target_")
        return f"{node['_target_'].rsplit('.', 1)[-1]}({settings})"
    return fmt(node)


def tuned_rows(run: RunRecord) -> list[tuple[str, str]]:
    """What the tuned defaults file set, with the value that ran (a command-line override wins)."""
    tuned = (run.summary.get("config_groups") or {}).get("tuned")
    path = CONF_DIR.parent / tuned if tuned else None
    if path is None or not path.is_file():
        return []
    rows = []
    for key in _leaves(yaml.safe_load(path.read_text()) or {}):
        node = run.config
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        overridden = " (overridden)" if key in run.overrides else ""
        rows.append((f"{key} (tuned)", f"{_value(node)}{overridden}"))
    return rows


def _leaves(tree: dict, prefix: str = "") -> list[str]:
    out = []
    for k, v in tree.items():
        nested = isinstance(v, dict) and v and "_target_" not in v
        out += _leaves(v, f"{prefix}{k}.") if nested else [f"{prefix}{k}"]
    return out


def _split(scalars: dict) -> list[tuple[str, dict, str]]:
    """Series grouped by plot: (title, series, kind) with kind 'lines' or 'multi'."""
    def take(pred) -> dict:
        return {t: scalars.pop(t) for t in sorted(scalars) if pred(t)}
    groups = [
        ("Losses", take(lambda t: t.startswith("train/loss")), "losses"),
        ("D outputs per source",
         take(lambda t: t in ("train/d_real", "train/d_fake") or t.startswith("train/d_on_")), "lines"),
        ("Validation metrics", take(lambda t: t.startswith("val/")), "multi"),
        ("Gradient norms", take(lambda t: "grad_norm" in t), "lines"),
    ]
    other = dict(list(take(lambda t: not t.startswith("hparam/")).items())[:MAX_OTHER])
    groups.append(("Other scalars", other, "multi"))
    return [g for g in groups if g[1]]


def plot_section(run: RunRecord) -> str:
    scalars = read_scalars(run.path)
    if not scalars:
        return "<p>No TensorBoard scalars found.</p>"
    sw = switch_step(run.summary)
    events = [ev for ev in run.summary.get("events") or [] if ev.get("kind") != "switch" and "step" in ev]
    parts = []
    for title, series, kind in _split(scalars):
        parts.append(f"<h3>{html.escape(title)}</h3>")
        # a series of one point (one evaluation, a short run) is a value, not a chart
        single = {t: pts[0] for t, pts in series.items() if len(pts) == 1}
        series = {t: pts for t, pts in series.items() if len(pts) > 1}
        if series and kind == "multi":
            png = plots.small_multiples(series, title=title, switch_step=sw)
        elif series:
            png = plots.lines(series, title=title, switch_step=sw, events=events if kind == "losses" else ())
        if series:
            parts.append(_img(png, cls="plot", alt=title))
        if single:
            parts.append(_table([(t, step, value) for t, (step, value) in single.items()],
                                header=("one value", "step", "value")))
    return "".join(parts)


def samples_section(run: RunRecord) -> str:
    parts = []
    for name, files in sample_files(run.path).items():
        figs = []
        for step, f in evenly_spaced(files, MAX_SAMPLES):
            png = f.read_bytes()
            if png.startswith(PNG_SIGNATURE):
                figs.append(f"<figure>{_img(png, cls='sample', alt=f'{name} step {step}', upscale=True)}"
                            f"<figcaption>step {step}</figcaption></figure>")
        if figs:
            parts.append(f"<h3>{html.escape(name)} ({len(files)} grids, {len(figs)} shown)</h3>{''.join(figs)}")
    return "".join(parts) or "<p>No sample grids in samples/.</p>"


def final_section(run: RunRecord) -> str:
    """final_samples.png (final_<name>.png for translation), written at the end of the run."""
    parts = []
    for f in sorted(run.path.glob("final_*.png")):
        png = f.read_bytes()
        if png.startswith(PNG_SIGNATURE):
            parts.append(f"<figure>{_img(png, cls='sample', alt=f.stem, upscale=True)}"
                         f"<figcaption>{html.escape(f.name)}</figcaption></figure>")
    return "".join(parts) or "<p>No final samples (written when a run ends).</p>"


def results_section(run: RunRecord) -> str:
    s, parts = run.summary, []
    if run.metrics:
        parts.append("<h3>Last values</h3>" + _table(sorted(run.metrics.items()), header=("metric", "value")))
    if run.best:
        b = run.best
        parts.append("<h3>Best</h3>" + _table([(b.get("monitor"), b.get("mode"), b.get("value"), b.get("step"))],
                                               header=("monitor", "mode", "value", "step")))
    phases = s.get("phases") or {}
    before, after = phases.get("before") or {}, phases.get("after") or {}
    if before or after:
        rows = [(k, before.get(k), after.get(k)) for k in sorted(set(before) | set(after))]
        parts.append(f"<h3>Before / after the switch (step {fmt(phases.get('switch_step'))})</h3>"
                     + _table(rows, header=("metric", "mean before", "mean after")))
    return "".join(parts)


def events_section(run: RunRecord) -> str:
    events = run.summary.get("events") or []
    if not events:
        return "<p>No flagged events.</p>"
    extra = sorted({k for ev in events for k in ev} - {"step", "epoch", "kind", "message"})
    rows = [(ev.get("step"), ev.get("epoch"), ev.get("kind"), ev.get("message"), *(ev.get(k) for k in extra))
            for ev in events]
    return _table(rows, header=("step", "epoch", "kind", "message", *extra))


def render(run: RunRecord) -> str:
    s, e = run.summary, html.escape
    status = run.status
    steps = f"{fmt(s.get('step'))}" + (f" / {s['total_steps']}" if s.get("total_steps") else "")
    head = _table([("status", status), ("steps", steps), ("epoch", s.get("epoch")),
                   ("wall time", human_time(wall_time(s))), ("run dir", str(run.path))])
    if s.get("error"):
        head += f"<pre>{e(str(s['error']))}</pre>"
    overrides = " ".join(f"{k}={v}" for k, v in run.overrides.items()) or "(none)"
    protocols = s.get("protocols")
    body = [
        f"<h1>{e(run.name)} <span class='{e(status)}'>[{e(status)}]</span></h1>", head,
        "<h2>Config</h2>", _table(key_config(run), header=("key", "value")),
        f"<p>overrides: <code>{e(overrides)}</code></p>",
        "<h2>Results</h2>", results_section(run),
        "<h2>Events</h2>", events_section(run),
        "<h2>Curves</h2>", plot_section(run),
        "<h2>Final samples</h2>", final_section(run),
        "<h2>Samples over time</h2>", samples_section(run),
    ]
    if protocols:
        body += ["<h2>Metric protocols</h2>", f"<pre>{e(json.dumps(protocols, indent=2))}</pre>"]
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>ganlab report: {e(run.name)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n")


def write_report(run_dir: str | Path, *, out: str | Path | None = None) -> Path:
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise FileNotFoundError(f"{run_dir} does not exist: give a run directory (outputs/<date>/<run>)")
    if not run_dir.is_dir() or not is_run_dir(run_dir):
        raise FileNotFoundError(f"{run_dir} is not a run directory (no summary.json and no tb/ in it)")
    out = Path(out) if out else run_dir / "report.html"
    text = render(load_run(run_dir))
    atomic_write_text(out, text)  # never leave a half-written report behind
    return out
