"""The report's figures, as PNG bytes (matplotlib Agg, no display needed)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

Series = dict[str, list[tuple[int, float]]]


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def _marks(ax, *, switch_step: int | None, events: list[dict]) -> None:
    if switch_step is not None:
        ax.axvline(switch_step, color="red", lw=1.5, ls="--", label=f"switch (step {switch_step})")
    for i, ev in enumerate(events):
        ax.axvline(ev["step"], color="gray", lw=0.8, ls=":", label="events" if i == 0 else None)


def lines(series: Series, *, title: str, ylabel: str = "", switch_step: int | None = None,
          events: list[dict] = ()) -> bytes:
    """One axis, one line per series; the switch and the events as vertical lines."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    for tag, pts in series.items():
        ax.plot([s for s, _ in pts], [v for _, v in pts], lw=1, label=tag, marker="." if len(pts) < 30 else None)
    _marks(ax, switch_step=switch_step, events=list(events))
    ax.set(title=title, xlabel="step", ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return _png(fig)


def small_multiples(series: Series, *, title: str, switch_step: int | None = None) -> bytes:
    """One small axis per series (metrics with different scales)."""
    n = len(series)
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 2.6 * rows), squeeze=False)
    for ax, (tag, pts) in zip(axes.flat, series.items()):
        ax.plot([s for s, _ in pts], [v for _, v in pts], lw=1, marker="." if len(pts) < 30 else None)
        _marks(ax, switch_step=switch_step, events=[])
        ax.set_title(tag, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.suptitle(title)
    return _png(fig)
