"""`ganlab eval CKPT`: metrics of a checkpoint, written to eval.json beside it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import click

from ganlab.commands.args import CKPT, DEVICE, DEVICE_OPTION, in_option_syntax, writable_output
from ganlab.errors import UsageError

FID_NAMES = ("fid", "kid", "precision", "recall", "density", "coverage")  # one FIDKIDEvaluator pass


def option_syntax() -> dict[str, str]:
    """The metrics' advice (in training's config keys) in this command's options."""
    from ganlab.metrics.features import WEIGHTS_KEY
    return {"set data.test_dataset or reference=train": "use --reference train", "reference=test": "--reference test",
            "metrics=fid_proxy": "--feature random_conv", WEIGHTS_KEY: "--weights-path", **DEVICE_OPTION}


@click.command("eval")
@CKPT
@click.option("--metrics", "names", default="fid,kid", show_default=True, metavar="M1,M2",
              help="fid, kid, precision, recall, density, coverage and the data's own evaluators by name (modes, masks)")
@click.option("--feature", default="inception", show_default=True, type=click.Choice(["inception", "random_conv"]),
              help="FID/KID features: Inception (needs --weights-path) or the random-conv proxy")
@click.option("--weights-path", type=click.Path(exists=True, dir_okay=False), help="Inception weights (pt_inception-2015-12-05)")
@click.option("--n", default=5000, show_default=True, type=click.IntRange(min=2), help="generated samples for FID/KID")
@click.option("--out", help="JSON file to write  [default: eval.json beside CKPT]")
@click.option("--resize", default="legacy", show_default=True, type=click.Choice(["legacy", "clean"]),
              help="how images reach the FID features: torch-fidelity's resize, or clean-fid's")
@click.option("--reference", default="train", show_default=True, type=click.Choice(["train", "test"]),
              help="real images generated ones are scored against: the training set, or held-out data.test_dataset")
@click.option("--cache-dir", default="data/cache", show_default=True, help="reference statistics cache")
@DEVICE
@in_option_syntax(option_syntax)
def command(ckpt: str, names: str, feature: str, weights_path: str | None, n: int, out: str | None,
            resize: str, reference: str, cache_dir: str, device: str) -> None:
    """Metrics of a checkpoint, written to eval.json beside it."""
    from ganlab.data.loader import SeededSamples
    from ganlab.errors import ConfigError
    from ganlab.files import atomic_write_json
    from ganlab.metrics.errors import MetricsError
    from ganlab.metrics.evaluators import FIDKIDEvaluator
    from ganlab.metrics.features import feature_node
    from ganlab.training.build import build_dataset, build_node
    from ganlab.training.restore import load_algorithm
    from ganlab.training.runtime import pick_device
    wanted = [m.strip() for m in names.strip("[]").split(",") if m.strip()]
    device = pick_device(device)
    out = writable_output(out or Path(ckpt).with_name("eval.json"))
    algo, cfg, state = load_algorithm(ckpt, device)
    data_evaluators = dict(cfg.data.get("evaluators") or {})
    unknown = [m for m in wanted if m not in FID_NAMES and m not in data_evaluators]
    if unknown:
        raise UsageError(f"--metrics {','.join(unknown)}: this checkpoint offers {','.join([*FID_NAMES, *data_evaluators])}")
    datasets = {"train": build_dataset(cfg)}

    def dataset(split: str):  # built once per split, as Run.dataset does
        if split not in datasets:
            datasets[split] = build_dataset(cfg, split)
        return datasets[split]

    run = SimpleNamespace(algorithm=algo, device=device, cfg=cfg, step=state["step"], events=[],
                          batches=SimpleNamespace(samples=SeededSamples(datasets["train"], seed=cfg.seed)),
                          dataset=dataset,
                          event=lambda kind, message, **kw: print(f"warning: {kind}: {message}"))
    metrics, protocols, timings = {}, {}, {}
    if any(m in FID_NAMES for m in wanted):
        try:
            extractor = build_node(feature_node(feature, weights_path), "--feature")
            ev = FIDKIDEvaluator(feature=extractor, n_samples=n, cache_dir=cache_dir, resize=resize, reference=reference)
            res = ev(run)
        except (MetricsError, ConfigError) as e:  # ConfigError: build_node's wrapping of the extractor's check
            raise UsageError(str(e).removeprefix("--feature: ")) from e
        metrics |= {k: v for k, v in res.items() if k.split("/")[-1].split("_")[0] in wanted}
        protocols["fid"] = ev.protocol
    for m in wanted:
        if m in data_evaluators:
            ev = build_node(data_evaluators[m], f"data.evaluators.{m}")
            values, clocked = ev(run), set(getattr(ev, "clocked", ()))  # as in summary.json
            metrics |= {k: v for k, v in values.items() if k not in clocked}
            timings |= {k: v for k, v in values.items() if k in clocked}
            protocols[m] = getattr(ev, "protocol", {})
    atomic_write_json(out, {"ckpt": str(ckpt), "step": state["step"], "metrics": metrics, "protocols": protocols}
                      | ({"timings": timings} if timings else {}))
    print("  ".join(f"{k}={v:.5g}" for k, v in (metrics | timings).items()) + f"  -> {out}")
