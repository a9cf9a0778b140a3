"""VAE encoders/decoders: `encode(x) -> (mu, logvar)` of q(z|x), `decode(z) -> x`.

ConvVAE: images (strided convs down to 4x4, a linear layer to the latent; the mirror image up,
tanh output for images in [-1, 1]). MLPVAE: 2D points (linear output, in units of data.scale)."""

from __future__ import annotations

import math

from torch import Tensor, nn

from ganlab.errors import ConfigError


class ConvVAE(nn.Module):
    data_kind = "images"  # what data it works on (training/data_kind.py)
    def __init__(self, *, channels: int = 3, image_size: int = 32, width: int = 32,
                 latent_dim: int = 16):
        super().__init__()
        n_down = int(math.log2(image_size)) - 2
        if image_size < 8 or 2 ** (n_down + 2) != image_size:
            raise ConfigError(f"image_size={image_size}: ConvVAE needs a power of 2 >= 8")
        self.latent_dim = latent_dim
        enc: list[nn.Module] = []
        c = channels
        for i in range(n_down):
            enc += [nn.Conv2d(c, width * 2 ** i, 4, stride=2, padding=1), nn.BatchNorm2d(width * 2 ** i),
                    nn.LeakyReLU(0.2, True)]
            c = width * 2 ** i
        self.enc = nn.Sequential(*enc, nn.Flatten())
        self.to_stats = nn.Linear(c * 16, 2 * latent_dim)
        self.top = c
        self.from_z = nn.Linear(latent_dim, c * 16)
        dec: list[nn.Module] = []
        for i in reversed(range(n_down)):
            out = width * 2 ** (i - 1) if i > 0 else width
            dec += [nn.ConvTranspose2d(c, out, 4, stride=2, padding=1), nn.BatchNorm2d(out), nn.ReLU(True)]
            c = out
        self.dec = nn.Sequential(*dec, nn.Conv2d(c, channels, 3, padding=1), nn.Tanh())

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.to_stats(self.enc(x)).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        return self.dec(self.from_z(z).view(z.shape[0], self.top, 4, 4))


class MLPVAE(nn.Module):
    data_kind = "points"  # what data it works on (training/data_kind.py)
    def __init__(self, *, dim: int = 2, hidden: int = 256,
                 depth: int = 3,            # hidden layers of the encoder and of the decoder
                 latent_dim: int = 2):
        super().__init__()
        if depth < 1:
            raise ConfigError(f"depth={depth}: need at least one hidden layer")
        self.latent_dim = latent_dim

        def mlp(d_in: int, d_out: int) -> nn.Sequential:
            layers: list[nn.Module] = []
            for _ in range(depth):
                layers += [nn.Linear(d_in, hidden), nn.SiLU()]
                d_in = hidden
            return nn.Sequential(*layers, nn.Linear(hidden, d_out))

        self.enc, self.dec = mlp(dim, 2 * latent_dim), mlp(latent_dim, dim)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.enc(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        return self.dec(z)
