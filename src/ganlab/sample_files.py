"""The sample grids a run keeps under `<run dir>/samples/`: one name for the writer (the
TensorBoard callback) and the readers (the final GIFs, the report)."""

from __future__ import annotations

import re
from pathlib import Path

# `[^.]`: a cut-off write's temp file (.ganlab-tmp.<pid>.<rnd>.<name>) is no sample
SAMPLE_RE = re.compile(r"^(?P<name>[^.].*)_step(?P<step>\d+)\.png$")


def sample_path(run_dir: Path, name: str, step: int) -> Path:
    """samples/<name>_stepNNNNNNNN.png, a `/` in the visual's name made `_`."""
    return Path(run_dir) / "samples" / f"{name.replace('/', '_')}_step{step:08d}.png"


def sample_files(run_dir: Path) -> dict[str, list[tuple[int, Path]]]:
    """{name: [(step, png), ...] in step order} of the grids under samples/."""
    out: dict[str, list[tuple[int, Path]]] = {}
    for f in sorted((Path(run_dir) / "samples").glob("*.png")):
        m = SAMPLE_RE.match(f.name)
        if m:
            out.setdefault(m["name"], []).append((int(m["step"]), f))
    return {k: sorted(v) for k, v in out.items()}
