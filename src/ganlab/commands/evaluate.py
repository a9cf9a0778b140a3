"""`ganlab eval RUN_DIR|CKPT`: metrics of a checkpoint (a run directory: its best.pt, else last.pt), written to eval.json beside it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import click

from ganlab.commands.args import (
    DEVICE,
    DEVICE_OPTION,
    RUN_OR_CKPT,
    checkpoint_in,
    in_option_syntax,
    writable_output,
)
from ganlab.errors import UsageError

FID_NAMES = ("fid", "kid", "precision", "recall", "density", "coverage")  # one FIDKIDEvaluator pass


def option_syntax() -> dict[str, str]:
    """The metrics' advice (in training's config keys) in this command's options."""
    from ganlab.metrics.features import WEIGHTS_KEY
    return {"set data.test_dataset or reference=train": "use --reference train", "reference=test": "--reference test",
            "metrics=fid_proxy": "--feature random_conv", WEIGHTS_KEY: "--weights-path", **DEVICE_OPTION}


@click.command("eval")
@RUN_OR_CKPT
@click.option("--metrics", "names", default="", metavar="M1,M2",
              help="metrics on top of the run's own val/ metrics: fid, kid, precision, recall, density, coverage "
                   "(one FID pass with --feature)  [default: only the run's own]")
@click.option("--feature", default="inception", show_default=True, type=click.Choice(["inception", "random_conv"]),
              help="features of the --metrics FID/KID: Inception (needs --weights-path) or the random-conv proxy")
@click.option("--weights-path", type=click.Path(exists=True, dir_okay=False),
              help="Inception weights (pt_inception-2015-12-05), for --metrics fid and for a run that used metrics=fid")
@click.option("--n", type=click.IntRange(min=2), help="generated samples per FID/KID  [default: the run's own; 5000 for --metrics]")
@click.option("--out", help="JSON file to write  [default: eval.json beside CKPT]")
@click.option("--resize", default="legacy", show_default=True, type=click.Choice(["legacy", "clean"]),
              help="--metrics FID: how images reach the features: torch-fidelity's resize, or clean-fid's")
@click.option("--reference", default="train", show_default=True, type=click.Choice(["train", "test"]),
              help="--metrics FID: real images generated ones are scored against: the training set, or held-out data.test_dataset")
@click.option("--cache-dir", default="data/cache", show_default=True, help="reference statistics cache")
@DEVICE
@in_option_syntax(option_syntax)
def command(ckpt: str, names: str, feature: str, weights_path: str | None, n: int | None, out: str | None,
            resize: str, reference: str, cache_dir: str, device: str) -> None:
    """The run's own val/ metrics of a checkpoint (its data's evaluators and the metrics group it
    trained with), plus any --metrics, written to eval.json beside it."""
    from ganlab.data.loader import SeededSamples
    from ganlab.errors import ConfigError
    from ganlab.files import atomic_write_json
    from ganlab.metrics.errors import MetricsError
    from ganlab.metrics.evaluators import FIDKIDEvaluator
    from ganlab.metrics.features import WEIGHTS_KEY, feature_node
    from ganlab.training.build import build_dataset, build_evaluators, build_node, evaluator_nodes
    from ganlab.training.resume import load_algorithm
    from ganlab.training.runtime import pick_device
    ckpt = str(checkpoint_in(ckpt))
    wanted = [m.strip() for m in names.strip("[]").split(",") if m.strip()]
    _check_fid_options(click.get_current_context(), wanted)
    device = pick_device(device)
    out = writable_output(out or Path(ckpt).with_name("eval.json"))
    algo, cfg, state = load_algorithm(ckpt, device)
    own = evaluator_nodes(cfg)
    unknown = [m for m in wanted if m not in FID_NAMES and m not in own]
    if unknown:
        raise UsageError(f"--metrics {','.join(unknown)}: choose from {','.join(FID_NAMES)} (this checkpoint's own "
                         f"evaluators, always run: {','.join(own) or 'none'})")
    for node, _ in own.values():  # the run's FID protocol, with this command's sample count and cache
        if FIDKIDEvaluator.__name__ in str(node.get("_target_", "")):
            node.cache_dir = cache_dir
            if n is not None:
                node.n_samples = n
            if weights_path and "weights_path" in node.feature:
                node.feature.weights_path = weights_path
    datasets = {"train": build_dataset(cfg)}

    def dataset(split: str):  # built once per split, as Run.dataset does
        if split not in datasets:
            datasets[split] = build_dataset(cfg, split)
        return datasets[split]

    run = SimpleNamespace(algorithm=algo, device=device, cfg=cfg, step=state["step"], events=[],
                          batches=SimpleNamespace(samples=SeededSamples(datasets["train"], seed=cfg.seed)),
                          dataset=dataset,
                          event=lambda kind, message, **kw: print(f"warning: {kind}: {message}"))
    try:
        evaluators = build_evaluators(cfg)
    except MetricsError as e:  # e.g. the run's Inception weights are not on this machine
        raise UsageError(f"{e} (or pass --weights-path)") from e
    extra = "fid" if "fid" not in own else "fid (--metrics)"  # the --metrics FID pass, beside the run's own
    if any(m in FID_NAMES for m in wanted):
        try:
            extractor = build_node(feature_node(feature, weights_path), "--feature")
            evaluators[extra] = FIDKIDEvaluator(feature=extractor, n_samples=n or 5000, cache_dir=cache_dir,
                                                resize=resize, reference=reference)
        except (MetricsError, ConfigError) as e:  # ConfigError: build_node's wrapping of the extractor's check
            raise UsageError(str(e).removeprefix("--feature: ").replace(WEIGHTS_KEY, "--weights-path")) from e
    metrics, protocols, timings = {}, {}, {}
    for name, ev in evaluators.items():
        res = ev(run)
        if name == extra:  # --metrics: only the names asked for
            res = {k: v for k, v in res.items() if k.split("/")[-1].split("_")[0] in wanted}
        clocked = set(getattr(ev, "clocked", ()))  # clock readings apart, as in summary.json
        metrics |= {k: v for k, v in res.items() if k not in clocked}
        timings |= {k: v for k, v in res.items() if k in clocked}
        protocols[name] = getattr(ev, "protocol", {})
    atomic_write_json(out, {"ckpt": str(ckpt), "step": state["step"], "metrics": metrics, "protocols": protocols}
                      | ({"timings": timings} if timings else {}))
    print("  ".join(f"{k}={v:.5g}" for k, v in (metrics | timings).items()) + f"  -> {out}")


def _check_fid_options(ctx: click.Context, wanted: list[str]) -> None:
    """--feature, --resize and --reference shape the --metrics FID pass only: given alone they would do nothing."""
    if any(m in FID_NAMES for m in wanted):
        return
    given = [f"--{p}" for p in ("feature", "resize", "reference")
             if ctx.get_parameter_source(p) is not click.core.ParameterSource.DEFAULT]
    if given:
        names, verb = " ".join(given), "applies" if len(given) == 1 else "apply"
        raise UsageError(f"{names} {verb} to the --metrics FID pass only: add --metrics fid (or any of "
                         f"{','.join(FID_NAMES)}), or leave {names} out")
