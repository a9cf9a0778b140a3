"""The phase runner: the one place that touches grads, precision and optimizers. The loop
(training/loop.py) asks it to run each phase due this step; the loop then steps the schedulers
and advances the step and the data position."""

from __future__ import annotations

import math

import torch

from ganlab.algorithms.base import Phase, StepContext
from ganlab.errors import NonFiniteError
from ganlab.training import checkpoint as ckpt_io
from ganlab.training import distributed
from ganlab.training.runtime import Precision


class PhaseRunner:
    def __init__(self, *, algorithm, optimizers: dict, precision: str | int, device: torch.device,
                 total_steps: int, log_every: int,
                 accumulate: int = 1,                  # micro-batches per phase (gradient accumulation)
                 check_every: int = 1,                 # the loss's NaN/Inf check on steps where (step + 1) % it == 0; 0: no check
                 ranks: distributed.Ranks = distributed.ONE):
        self.algorithm, self.optimizers, self.ranks = algorithm, optimizers, ranks
        self.precision = Precision(precision, device)
        self.scalers = {name: Precision(precision, device).scaler for name in optimizers}
        self.phases = algorithm.phases()
        self.total_steps, self.log_every = total_steps, log_every
        self.accumulate, self.check_every = accumulate, check_every

    def due(self, step: int) -> list[Phase]:
        """The phases the algorithm declared for the step with index `step` (0-based)."""
        return [p for p in self.phases if (step + 1) % p.every == 0]

    def run(self, phase: Phase, batch: dict, ctx: StepContext) -> dict:
        """zero_grad, requires_grad on the phase's networks only, autocast, backward (over
        `accumulate` micro-batches), optimizer step with loss scaling, the phase's `after` hook,
        and the NaN/Inf check. Returns the phase's stats (averaged over micro-batches)."""
        for m in self.algorithm.modules().values():
            m.requires_grad_(any(m is p for p in phase.modules))
        opt, scaler = self.optimizers[phase.optimizer_name], self.scalers[phase.optimizer_name]
        opt.zero_grad(set_to_none=True)
        stats: dict[str, list] = {}
        total = 0.0
        for micro in micro_batches(batch, self.accumulate):
            with self.precision.autocast():
                out = phase.fn(micro, ctx)
            loss = out.pop("loss")
            scaler.scale(loss if self.accumulate == 1 else loss / self.accumulate).backward()
            total = total + loss.detach()
            for k, v in out.items():  # a stat some micro-batches lack (a source) averages over those with it
                stats.setdefault(k, []).append(v)
        if self.ranks.active:  # data parallel: every rank steps with the mean gradient
            distributed.average_gradients([p for g in opt.param_groups for p in g["params"]])
        out = {k: v[0] if len(v) == 1 else torch.stack([x.float() for x in v]).mean() for k, v in stats.items()}
        name = phase.name.lower()
        step = ctx.step + 1  # the step being run, counted from 1 as the Run counts finished steps
        logged = step % self.log_every == 0 or step == self.total_steps
        if logged:
            scaler.unscale_(opt)
            grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
            out[f"train/grad_norm_{name}"] = torch.nn.utils.get_total_norm(grads)
            out[f"train/lr_{phase.optimizer_name.lower()}"] = torch.tensor(opt.param_groups[0]["lr"])
        scaler.step(opt)
        scaler.update()
        if phase.after is not None:
            phase.after()
        if self.check_every and (step % self.check_every == 0 or logged):
            self._check_finite(phase.name, step, total / self.accumulate, phase.modules, opt, out, state=logged)
        return out

    @torch.no_grad()
    def _check_finite(self, phase: str, step: int, loss, mods, opt, stats: dict, *, state: bool) -> None:
        """The loss every checked step (a scalar the step made anyway: no pass over the weights),
        and with `state` (logged steps) one reduction over the phase's parameters, buffers and
        optimizer state (NaN and Inf survive a sum; one sync, in the tensors' own dtype). A weight
        an update broke makes the next loss through it non-finite, so the loss finds it a step
        later; the state's pass finds what no loss shows (e.g. Adam's second moment overflowed).
        Only then are the tensors checked one by one (checkpoint.nonfinite), to name them."""
        loss_ok = math.isfinite(float(loss))
        if loss_ok and not state:
            return
        if loss_ok:
            tensors = [t for m in mods for t in (*m.parameters(), *m.buffers()) if t.is_floating_point()]
            tensors += [v for st in opt.state.values() for v in st.values()
                        if isinstance(v, torch.Tensor) and v.is_floating_point()]
            if not tensors or math.isfinite(float(torch.stack([t.sum().float() for t in tensors]).sum())):
                return
            bad = self._nonfinite_state(mods, {phase: opt})
            if not bad:  # every value finite: only their sum overflowed
                return
            detail = f"non-finite values after the optimizer step in {', '.join(bad[:5])}"
        else:  # which weights broke it, if any: every network's and optimizer's (D's weights feed G's loss)
            detail = f"loss is {float(loss)} ({', '.join(f'{k}={float(v):.4g}' for k, v in stats.items())})"
            bad = self._nonfinite_state(self.algorithm.modules().values(), self.optimizers)
            if bad:
                detail += f"; non-finite values in {', '.join(bad[:5])}"
        raise NonFiniteError(f"phase {phase} at step {step}: {detail}")

    def _nonfinite_state(self, mods, optimizers: dict) -> list[str]:
        """Dotted names of the non-finite tensors of `mods` and of `optimizers`' states."""
        names = {id(m): k for k, m in self.algorithm.modules().items()}
        bad = ckpt_io.nonfinite({names.get(id(m), "module"): m.state_dict() for m in mods})
        for name, opt in optimizers.items():
            bad += ckpt_io.nonfinite({f"optimizer {name}": opt.state_dict()["state"]})
        return bad


def micro_batches(batch: dict, k: int) -> list[dict]:
    """A batch as k equal micro-batches (gradient accumulation); k = 1 is the batch itself."""
    if k == 1:
        return [batch]
    parts = {key: v.chunk(k) for key, v in batch.items()}
    return [{key: chunks[i] for key, chunks in parts.items()} for i in range(k)]
