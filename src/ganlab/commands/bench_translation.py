"""`ganlab bench translation`: the unpaired-translation step against the reference CycleGAN's.

For cyclegan and agan (model defaults, loss=lsgan_cyclegan, identity on, batch 1, toyzebra at
each size): generator forward passes per iteration (forward hooks) and seconds per iteration of
ganlab's loop (in this process, callbacks and logger off, as `bench matrix` measures it) against
a bare loop in the reference's order: both generators forward once, G update, then D update on
those fakes through a 50-image pool. Rounds alternate; the best of each is compared."""

from __future__ import annotations

import itertools
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


def bare_loop(cfg, *, steps: int, warmup: int, device: torch.device, clock=time.perf_counter) -> dict:
    """The reference CycleGAN iteration, written out: G forward once (D frozen), G update, then D
    update on the detached fakes through the pool. Same networks, optimizers and data as ganlab's."""
    from ganlab.data.loader import InMemory
    from ganlab.training.build import build_dataset
    nets = {k: instantiate(v).to(device) for k, v in cfg.model.networks.items()}
    G_AB, G_BA, D_A, D_B = (nets[k] for k in ("G_AB", "G_BA", "D_A", "D_B"))
    opt_g = instantiate(cfg.schedule.optimizer.G)(itertools.chain(G_AB.parameters(), G_BA.parameters()))
    opt_d = instantiate(cfg.schedule.optimizer.D)(itertools.chain(D_A.parameters(), D_B.parameters()))
    data = InMemory(build_dataset(cfg)).tensors
    pools = {"A": ImagePool(size=50), "B": ImagePool(size=50)}
    w_cyc = cfg.model.algorithm.lambda_cycle
    w_idt = w_cyc * cfg.model.algorithm.lambda_identity
    n, bs = data["A"].shape[0], cfg.data.batch_size
    gen = torch.Generator().manual_seed(0)

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
            a = data["A"][torch.randint(0, n, (bs,), generator=gen)].to(device)
            b = data["B"][torch.randint(0, n, (bs,), generator=gen)].to(device)
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
    """Best-of-rounds s/iter of both loops (alternated), their generator passes per iteration, and
    `speed`: ganlab's iterations/s over the bare loop's (>= 1: ganlab is as fast); `extra`: more
    overrides for both (tests shrink the networks with it)."""
    from ganlab.training.runtime import pick_device
    extra = [*overrides(model, size), *extra]
    cfg = compose([*extra, *OFF, f"trainer.device={device}"])
    ours, bare = [], []
    for _ in range(rounds):
        ours.append(ganlab_loop(extra, steps=steps, warmup=warmup, device=device, clock=CLOCKS[clock]))
        bare.append(bare_loop(cfg, steps=steps, warmup=warmup, device=pick_device(device), clock=CLOCKS[clock]))
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
                  f"after {warmup}, best of {rounds} rounds, {clock} clock")
    table = results_table("translation step: ganlab vs a bare loop in the reference order (speed: bare s/iter / ganlab s/iter)",
                          ("model", "px", "G passes/iter", "reference passes", "ganlab s/iter", "bare s/iter",
                           "speed vs bare"), justify="right")
    for model, size in itertools.product(models.split(","), (int(s) for s in sizes.split(","))):
        r = measure(model, size, steps=steps, warmup=warmup, rounds=rounds, device=device, clock=clock)
        table.add_row(model, str(size), f"{r['passes']:g}", f"{r['bare_passes']:g}", f"{r['s_per_iter']:.3f}",
                      f"{r['bare_s_per_iter']:.3f}", f"{r['speed']:.2f}")
    console.print(table)
