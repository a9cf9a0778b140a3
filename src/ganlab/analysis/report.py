"""`ganlab report RUN_DIR [--out PATH]`: one self-contained HTML page about a run — config, events,
curves and sample grids, images embedded as base64 data URIs (no external files, JS or CSS)."""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from ganlab.analysis import plots
from ganlab.analysis.runs import (
    RunRecord,
    evenly_spaced,
    fmt,
    human_time,
    is_run_dir,
    load_run,
    read_scalars,
    sample_files,
)
from ganlab.files import atomic_write_text

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GROUPS = ("model", "model/discriminator", "loss", "data", "schedule", "tricks", "experiment", "tuned")
MAX_SAMPLES = 8
MAX_OTHER = 12
CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th{background:#f3f3f3}.ok{color:#070}.failed{color:#b00}.interrupted{color:#a60}
figure{display:inline-block;margin:4px;text-align:center}figcaption{font-size:12px;color:#555}
img.plot{max-width:100%}img.sample{image-rendering:pixelated;width:190px}pre{background:#f6f6f6;padding:8px}"""


def _img(png: bytes, *, cls: str, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" class="{cls}" alt="{html.escape(alt)}">'


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
    if "seed" in run.config:
        rows.append(("seed", run.config["seed"]))
    trainer = run.config.get("trainer") or {}
    for k in ("max_steps", "max_epochs", "precision"):
        if k in trainer:
            rows.append((f"trainer.{k}", trainer[k]))
    return rows


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
        if kind == "multi":
            png = plots.small_multiples(series, title=title, switch_step=sw)
        else:
            png = plots.lines(series, title=title, switch_step=sw, events=events if kind == "losses" else ())
        parts.append(f"<h3>{html.escape(title)}</h3>{_img(png, cls='plot', alt=title)}")
    return "".join(parts)


def samples_section(run: RunRecord) -> str:
    parts = []
    for name, files in sample_files(run.path).items():
        figs = []
        for step, f in evenly_spaced(files, MAX_SAMPLES):
            png = f.read_bytes()
            if png.startswith(PNG_SIGNATURE):
                figs.append(f"<figure>{_img(png, cls='sample', alt=f'{name} step {step}')}"
                            f"<figcaption>step {step}</figcaption></figure>")
        if figs:
            parts.append(f"<h3>{html.escape(name)} ({len(files)} grids, {len(figs)} shown)</h3>{''.join(figs)}")
    return "".join(parts) or "<p>No sample grids in samples/.</p>"


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
                   ("wall time", human_time(s.get("wall_time_s"))), ("run dir", str(run.path))])
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
