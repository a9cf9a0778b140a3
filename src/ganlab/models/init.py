"""Weight initialisation helpers."""

from __future__ import annotations

from torch import nn

from ganlab.errors import ConfigError

INITS = ("dcgan", "default")

_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
             nn.ConvTranspose3d, nn.Linear)
_BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def dcgan_init(module: nn.Module) -> nn.Module:
    """DCGAN init (Radford et al. 2016): conv / linear weights N(0, 0.02), biases 0; BatchNorm
    scale N(1, 0.02), shift 0. Recursive: `dcgan_init(net)` covers every submodule, and
    `net.apply(dcgan_init)` works too. Returns `module`.

    Apply it before spectral norm is registered: a parametrized weight is a computed property, so
    such layers are skipped here (their power-iteration vectors were fitted to the old weight).
    """
    for m in module.modules():
        if isinstance(m, _WEIGHTED) and not nn.utils.parametrize.is_parametrized(m, "weight"):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _BATCH_NORMS) and m.affine:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


def apply_init(module: nn.Module, init: str) -> nn.Module:
    """`init="dcgan"` -> dcgan_init; `"default"` keeps PyTorch's own initialisation."""
    if init not in INITS:
        raise ConfigError(f"init={init!r}: choose one of {', '.join(INITS)}")
    return dcgan_init(module) if init == "dcgan" else module
