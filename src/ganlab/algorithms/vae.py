"""The VAE (Kingma & Welling 2014) as a one-phase baseline: encode to q(z|x) = N(mu, sigma^2),
sample z by the reparameterisation z = mu + sigma eps, decode, minimise the weighted negative
ELBO (losses/regression.ELBO: the notes' alpha_rec x reconstruction + alpha_KL x KL). Samples
decode z ~ N(0, I). For labelled data the visuals add the latent space: the posterior means of
training images, coloured by class (the first two principal axes when latent_dim > 2)."""

from __future__ import annotations

import torch
from torch import Tensor

from ganlab.algorithms.baseline import Baseline


class VAE(Baseline):
    nfe = 1

    def __init__(self, *, objective, n_latent_points: int = 1024,  # images in the latent scatter
                 **kwargs):
        self.objective, self.n_latent_points = objective, n_latent_points
        super().__init__(**kwargs)

    def sampling_net(self):
        """The network itself under the EMA wrapper (which only forwards `forward`)."""
        return self.ema.module.module if self.ema is not None else self.net

    @property
    def latent_shape(self) -> tuple[int, ...]:
        return (self.net.latent_dim,)

    def loss(self, x: Tensor) -> dict[str, Tensor]:
        mu, logvar = self.net.encode(x)
        z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
        return self.objective(self.net.decode(z), x, mu, logvar)

    def decode(self, z: Tensor, g: torch.Generator) -> Tensor:
        return self.sampling_net().decode(z)

    def nll(self, x: Tensor, *, g: torch.Generator, k: int = 64, **_) -> tuple[Tensor, dict]:
        """-log p(x) per sample (nats, network units) by the IWAE bound; the decoder is the Gaussian
        the ELBO's squared error implies: variance 1 / (2 rec_weight)."""
        from ganlab.algorithms.likelihood import iwae_nll
        net, dec_var = self.sampling_net(), 0.5 / self.objective.rec_weight
        return iwae_nll(net.encode, net.decode, x, k=k, dec_var=dec_var, g=g), {
            "estimator": f"IWAE bound (Burda et al. 2016), k={k} importance samples, Gaussian decoder "
                         f"variance {dec_var:g} (1 / (2 rec_weight)); an upper bound on the NLL"}

    @torch.no_grad()
    def latents(self, x: Tensor) -> Tensor:
        """Posterior means of x (data units) under the sampling network, in eval mode."""
        net = self.sampling_net()
        was_training = net.training
        net.eval()
        mu = torch.cat([net.encode(x[s:s + 256] / self.scale)[0] for s in range(0, len(x), 256)])
        net.train(was_training)
        return mu

    def visuals(self, run) -> dict:
        out = super().visuals(run)
        if run.cfg.data.get("num_classes", 0):
            data = run.dataset("train")
            items = [data[i] for i in range(min(self.n_latent_points, len(data)))]
            x = torch.stack([it["x"] for it in items]).to(run.device)
            labels = torch.stack([it["y"] for it in items])
            out["latent"] = latent_figure(self.latents(x).float().cpu(), labels)
        return out


def latent_figure(mu: Tensor, labels: Tensor):
    """A scatter of latent points coloured by class (a matplotlib Figure, Agg backend); more than
    two dimensions are projected on their first two principal axes."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    projected = mu.shape[1] > 2
    if projected:
        centred = mu - mu.mean(0)
        mu = centred @ torch.linalg.svd(centred, full_matrices=False).Vh[:2].T
    elif mu.shape[1] == 1:
        mu = torch.cat([mu, torch.zeros_like(mu)], dim=1)
    fig = Figure(figsize=(5, 5))
    ax = fig.add_subplot()
    for c in labels.unique().tolist():
        pts = mu[labels == c].numpy()
        ax.scatter(pts[:, 0], pts[:, 1], s=4, label=str(c), color=matplotlib.colormaps["tab20"](c % 20))
    ax.legend(markerscale=3, fontsize=6, title="class", loc="best")
    ax.set_title("VAE latent space (posterior means" + (", PCA" if projected else "") + ")")
    return fig
