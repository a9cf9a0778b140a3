"""`ganlab eval`: metrics of a checkpoint, written to eval.json beside it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from hydra.utils import instantiate

from ganlab.commands.args import arg_int, parse_kv, writable_output
from ganlab.data.loader import SeededSamples
from ganlab.errors import UsageError
from ganlab.files import atomic_write_json
from ganlab.metrics.errors import MetricsError
from ganlab.metrics.evaluators import FIDKID
from ganlab.training.build import build_dataset
from ganlab.training.restore import load_algorithm
from ganlab.training.runtime import pick_device

FID_NAMES = ("fid", "kid")


def eval_command(args: list[str]) -> None:
    kv = parse_kv(args, required=("ckpt",), allowed=("ckpt", "metrics", "weights_path", "feature", "n",
                                                     "device", "out", "cache_dir"))
    names = [m.strip() for m in kv.get("metrics", "[fid,kid]").strip("[]").split(",") if m.strip()]
    device = pick_device(kv.get("device", "auto"))
    out = writable_output(kv.get("out", Path(kv["ckpt"]).with_name("eval.json")))
    algo, cfg, state = load_algorithm(kv["ckpt"], device)
    data_evaluators = dict(cfg.data.get("evaluators") or {})
    unknown = [n for n in names if n not in FID_NAMES and n not in data_evaluators]
    if unknown:
        raise UsageError(f"metrics={unknown}: this checkpoint offers {list(FID_NAMES) + list(data_evaluators)}")
    datasets = {"train": build_dataset(cfg)}

    def dataset(split: str):  # built once per split, as Run.dataset does
        if split not in datasets:
            datasets[split] = build_dataset(cfg, split)
        return datasets[split]

    run = SimpleNamespace(algorithm=algo, device=device, cfg=cfg, step=state["step"], events=[],
                          batches=SimpleNamespace(samples=SeededSamples(datasets["train"], seed=cfg.seed)),
                          dataset=dataset,
                          event=lambda kind, message, **kw: print(f"warning: {kind}: {message}"))
    metrics, protocols = {}, {}
    if any(n in FID_NAMES for n in names):
        ev = FIDKID(feature=kv.get("feature", "inception"), weights_path=kv.get("weights_path"),
                    n_samples=arg_int(kv, "n", 5000, min_value=2), cache_dir=kv.get("cache_dir", "data/cache"))
        try:
            res = ev(run)
        except MetricsError as e:
            raise UsageError(str(e).replace("metrics.fid.weights_path", "weights_path=... (metrics.fid.weights_path)")) from e
        metrics |= {k: v for k, v in res.items() if k.split("/")[-1].split("_")[0] in names}
        protocols["fid"] = ev.protocol
    for n in names:
        if n in data_evaluators:
            ev = instantiate(data_evaluators[n])
            metrics |= ev(run)
            protocols[n] = getattr(ev, "protocol", {})
    payload = {"ckpt": str(kv["ckpt"]), "step": state["step"], "metrics": metrics, "protocols": protocols}
    atomic_write_json(out, payload)
    print("  ".join(f"{k}={v:.5g}" for k, v in metrics.items()) + f"  -> {out}")
