"""`ganlab bench translation`: the unpaired-translation step against the reference CycleGAN's.

For cyclegan and agan (model defaults, loss=lsgan_cyclegan, identity on, batch 1, 64 toyzebra
pairs exported as trainA/trainB PNG folders at each size): generator forward passes per iteration
(forward hooks) and seconds per iteration of the whole path, data included: ganlab's real `train()`
on data=unpaired_folder with its default callbacks and logger on (one logged step in each timed
window; only the closing evaluation and the final samples off: once per run, not per iteration)
against a bare loop that reads the same folders the reference's way (a shuffled batch-1
DataLoader, PIL decode, resize 1.12x, random crop and flip every iteration) in the reference's
order: both generators forward once, G update, then D update on those fakes through a 50-image
pool. Rounds alternate; the best of each is compared."""

from __future__ import annotations

import itertools
import os
import tempfile
import time
from pathlib import Path

import click
import torch
import torch.nn.functional as F
from hydra.utils import instantiate

from ganlab.algorithms.image_pool import ImagePool
from ganlab.commands.bench_matrix import CLOCKS, OFF, StepClock
from ganlab.commands.console import results_table, wide_console
from ganlab.config import compose

MODELS = ("cyclegan", "agan")


def overrides(model: str, size: int) -> list[str]:
    """The model's own defaults (no tuned preset) trained the reference's way at `size` px."""
    return [f"model={model}", "loss=lsgan_cyclegan", "data=toyzebra", "~tuned", f"data.image_size={size}",
            "data.batch_size=1", "data.dataset.size=64", "data.test_dataset.size=4",
            "model.algorithm.lambda_identity=0.5", "model.algorithm.pool_size=50"]


class PassCounter:
    """Counts forward calls of the given modules while active."""

    def __init__(self, *modules):
        self.modules, self.n, self.handles = modules, 0, []

    def _hook(self, *_):
        self.n += 1

    def __enter__(self):
        self.handles = [m.register_forward_hook(self._hook) for m in self.modules]
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()


def ganlab_loop(extra: list[str], *, steps: int, warmup: int, device: str, clock=time.perf_counter) -> dict:
    """s/iter after `warmup` steps (when > 0) and generator passes per step of `train()`."""
    from ganlab.training.loop import train
    from ganlab.training.prepare import prepare_run
    cfg = compose([*extra, *OFF, f"trainer.max_steps={warmup + steps}", f"trainer.device={device}"])
    with tempfile.TemporaryDirectory() as d:
        run = prepare_run(cfg, Path(d))
        timer = StepClock(warmup, clock) if warmup else None
        if timer:
            run.callbacks["clock"] = timer
        with PassCounter(run.algorithm.G_AB, run.algorithm.G_BA) as count:
            train(run)
    s_per_iter = (timer.t1 - timer.t0) / steps if timer else None
    return {"s_per_iter": s_per_iter, "passes": count.n / (warmup + steps)}


def ganlab_passes(extra: list[str], *, steps: int = 2) -> float:
    """Generator forward passes per training step of ganlab's loop, on CPU."""
    return ganlab_loop(extra, steps=steps, warmup=0, device="cpu")["passes"]


def export_toyzebra(root: Path, size: int, n: int = 64) -> tuple[Path, Path]:
    """The first `n` toyzebra training pairs as PNGs at `size` px in root/trainA and root/trainB
    (a CycleGAN-layout folder dataset: what both loops of the bench read)."""
    from PIL import Image

    from ganlab.data.toyzebra import ToyZebra
    ds, dirs = ToyZebra(size=n, image_size=size), (root / "trainA", root / "trainB")
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        item = ds[i]
        for d, key in zip(dirs, "AB"):
            pixels = ((item[key] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0)
            Image.fromarray(pixels.numpy()).save(d / f"{i:04d}.png")
    return dirs


def folder_overrides(model: str, size: int, root: Path) -> list[str]:
    """`overrides` on the exported folders, trained as `ganlab train` does: callbacks and logger on
    (TensorBoard, heartbeat, checkpoint at their cadence); off only what runs once per run, not per
    iteration: the closing evaluation (no evaluators) and the final samples. data.num_workers=0 in
    both loops: the CPU clock counts this process only, so decoding in workers would hide it."""
    return [f"model={model}", "loss=lsgan_cyclegan", "data=unpaired_folder", "~tuned",
            f"data.root_a={root / 'trainA'}", f"data.root_b={root / 'trainB'}", f"data.image_size={size}",
            "data.batch_size=1", "data.num_workers=0", "~data.evaluators", "metrics=none",
            "~callbacks.final_samples", "model.algorithm.lambda_identity=0.5", "model.algorithm.pool_size=50"]


class WindowClock(StepClock):
    """Times steps warmup + 1 .. warmup + steps (callbacks included) and notes the generator passes
    `counter` saw in them."""

    def __init__(self, warmup: int, steps: int, clock, counter: PassCounter):
        super().__init__(warmup, clock)
        self.end, self.counter, self.n0, self.n1 = warmup + steps, counter, 0, 0

    def on_step_end(self, run, metrics) -> None:
        if run.step not in (self.warmup, self.end):
            return
        if run.device.type == "cuda":
            torch.cuda.synchronize(run.device)
        if run.step == self.warmup:
            self.t0, self.n0 = self.clock(), self.counter.n
        else:
            self.t1, self.n1 = self.clock(), self.counter.n


def train_loop(extra: list[str], *, steps: int, warmup: int, device: str, clock=time.perf_counter) -> dict:
    """s/iter and generator passes per iteration after `warmup` steps of `train()` as `extra`
    configures it (no OFF list). The clock is the last callback: the window holds `steps` steps
    and their callbacks, one of them a logged step (trainer.log_every=steps: grad norms, scalars,
    heartbeat and the pass over the weights for NaN/Inf once per `steps`, where a run's default
    does it once per 25); step 1's sample grid and the closing step, once per run, fall outside."""
    from ganlab.training.loop import train
    from ganlab.training.prepare import prepare_run
    cfg = compose([*extra, f"trainer.max_steps={warmup + steps + 1}", f"trainer.log_every={steps}",
                   f"trainer.device={device}"])
    with tempfile.TemporaryDirectory() as d:
        run = prepare_run(cfg, Path(d))
        with PassCounter(run.algorithm.G_AB, run.algorithm.G_BA) as count:
            timer = run.callbacks["clock"] = WindowClock(warmup, steps, clock, count)
            train(run)
    return {"s_per_iter": (timer.t1 - timer.t0) / steps, "passes": (timer.n1 - timer.n0) / steps}


class ReferenceFolder(torch.utils.data.Dataset):
    """The reference's unaligned dataset: PIL decode of A[i] and a random B every item, resize to
    1.12x, random crop, random flip, to [-1, 1]."""

    def __init__(self, root_a: Path, root_b: Path, size: int):
        from torchvision import transforms as T
        self.a, self.b = sorted(root_a.glob("*.png")), sorted(root_b.glob("*.png"))
        self.transform = T.Compose([T.Resize(round(size * 1.12), T.InterpolationMode.BICUBIC), T.RandomCrop(size),
                                    T.RandomHorizontalFlip(), T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    def load(self, path: Path) -> torch.Tensor:
        from PIL import Image
        return self.transform(Image.open(path).convert("RGB"))

    def __getitem__(self, i: int) -> dict:
        j = int(torch.randint(0, len(self.b), ()))
        return {"A": self.load(self.a[i % len(self.a)]), "B": self.load(self.b[j])}


def bare_loop(cfg, root: Path, *, steps: int, warmup: int, device: torch.device, clock=time.perf_counter) -> dict:
    """The reference CycleGAN iteration, written out: a shuffled batch-1 DataLoader over the PNGs,
    G forward once (D frozen), G update, then D update on the detached fakes through the pool.
    Same networks and optimizers as ganlab's."""
    nets = {k: instantiate(v).to(device) for k, v in cfg.model.networks.items()}
    G_AB, G_BA, D_A, D_B = (nets[k] for k in ("G_AB", "G_BA", "D_A", "D_B"))
    opt_g = instantiate(cfg.schedule.optimizer.G)(itertools.chain(G_AB.parameters(), G_BA.parameters()))
    opt_d = instantiate(cfg.schedule.optimizer.D)(itertools.chain(D_A.parameters(), D_B.parameters()))
    loader = torch.utils.data.DataLoader(ReferenceFolder(root / "trainA", root / "trainB", cfg.data.image_size),
                                         batch_size=1, shuffle=True, num_workers=0)
    batches = (batch for _ in itertools.count() for batch in loader)
    pools = {"A": ImagePool(size=50), "B": ImagePool(size=50)}
    w_cyc = cfg.model.algorithm.lambda_cycle
    w_idt = w_cyc * cfg.model.algorithm.lambda_identity

    def adv(out, target: float):
        return F.mse_loss(out, torch.full_like(out, target))

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    with PassCounter(G_AB, G_BA) as count:
        for i in range(warmup + steps):
            if i == warmup:
                sync()
                t0 = clock()
            batch = next(batches)
            a, b = batch["A"].to(device), batch["B"].to(device)
            D_A.requires_grad_(False)
            D_B.requires_grad_(False)
            fake_b, fake_a = G_AB(a)["out"], G_BA(b)["out"]
            rec_a, rec_b = G_BA(fake_b)["out"], G_AB(fake_a)["out"]
            loss_g = (adv(D_B(fake_b), 1.0) + adv(D_A(fake_a), 1.0)
                      + w_cyc * (F.l1_loss(rec_a, a) + F.l1_loss(rec_b, b))
                      + w_idt * (F.l1_loss(G_AB(b)["out"], b) + F.l1_loss(G_BA(a)["out"], a)))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            D_A.requires_grad_(True)
            D_B.requires_grad_(True)
            loss_d = 0.0
            for D, real, fake, pool in ((D_B, b, fake_b, pools["B"]), (D_A, a, fake_a, pools["A"])):
                loss_d = loss_d + 0.5 * (adv(D(real), 1.0) + adv(D(pool.query(fake.detach())), 0.0))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        sync()
    return {"s_per_iter": (clock() - t0) / steps, "passes": count.n / (warmup + steps)}


def measure(model: str, size: int, *, steps: int, warmup: int, rounds: int, device: str,
            extra: tuple[str, ...] = (), clock: str = "wall") -> dict:
    """Best-of-rounds s/iter of both loops (alternated) on toyzebra exported as PNG folders, their
    generator passes per iteration, and `speed`: ganlab's iterations/s over the bare loop's (>= 1:
    ganlab is as fast); `extra`: more overrides for both (tests shrink the networks with it)."""
    from ganlab.training.runtime import pick_device
    ours, bare = [], []
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        export_toyzebra(root, size)
        extra = [*folder_overrides(model, size, root), *extra]
        cfg = compose([*extra, f"trainer.device={device}"])
        for _ in range(rounds):
            ours.append(train_loop(extra, steps=steps, warmup=warmup, device=device, clock=CLOCKS[clock]))
            bare.append(bare_loop(cfg, root, steps=steps, warmup=warmup, device=pick_device(device),
                                  clock=CLOCKS[clock]))
    best_ours, best_bare = min(r["s_per_iter"] for r in ours), min(r["s_per_iter"] for r in bare)
    return {"passes": ours[0]["passes"], "bare_passes": bare[0]["passes"], "s_per_iter": best_ours,
            "bare_s_per_iter": best_bare, "speed": best_bare / best_ours}


@click.command("translation")
@click.option("--models", default=",".join(MODELS), show_default=True, metavar="M1,M2")
@click.option("--sizes", default="64", show_default=True, metavar="S1,S2", help="image sizes, e.g. 64,256")
@click.option("--steps", default=5, show_default=True, type=click.IntRange(min=1), help="timed iterations per round")
@click.option("--warmup", default=2, show_default=True, type=click.IntRange(min=1), help="untimed iterations first")
@click.option("--rounds", default=2, show_default=True, type=click.IntRange(min=1), help="alternated rounds (the best counts)")
@click.option("--device", default="auto", show_default=True)
@click.option("--clock", type=click.Choice(list(CLOCKS)), default="wall", show_default=True,
              help="cpu: the process's CPU seconds, fair on a CPU machine others load too (CPU device only)")
def translation(models: str, sizes: str, steps: int, warmup: int, rounds: int, device: str, clock: str) -> None:
    """Generator passes and s/iter of ganlab's translation step vs the reference CycleGAN loop."""
    if clock == "cpu" and (device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())):
        raise click.BadParameter("cpu time does not count GPU work: use --clock wall on a GPU", param_hint="--clock")
    console = wide_console()
    console.print(f"bench translation ({torch.get_num_threads()} threads): batch 1, {steps} timed iterations "
                  f"after {warmup}, best of {rounds} rounds, {clock} clock; load average {_load()}")
    table = results_table("translation step: ganlab vs a bare loop in the reference order (speed: bare s/iter / ganlab s/iter)",
                          ("model", "px", "G passes/iter", "reference passes", "ganlab s/iter", "bare s/iter",
                           "speed vs bare"), justify="right")
    for model, size in itertools.product(models.split(","), (int(s) for s in sizes.split(","))):
        r = measure(model, size, steps=steps, warmup=warmup, rounds=rounds, device=device, clock=clock)
        table.add_row(model, str(size), f"{r['passes']:g}", f"{r['bare_passes']:g}", f"{r['s_per_iter']:.3f}",
                      f"{r['bare_s_per_iter']:.3f}", f"{r['speed']:.2f}")
    console.print(table)
    console.print(f"load average at the end {_load()}")


def _load() -> str:
    """The 1-minute load average (other processes on a shared machine), or n/a where unknown."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "n/a"
