"""Convolutional building blocks shared by the image networks: norm / activation factories,
conv-norm-act, the CycleGAN residual block, and the input-size check of fully convolutional nets.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import Tensor, nn

from ganlab.errors import ConfigError

NORMS = ("batch", "instance", "none")
ACTS = ("relu", "lrelu", "tanh", "sigmoid", "none")


def make_norm(norm: str, ch: int, affine: bool = True) -> nn.Module | None:
    """A 2D norm layer, or None for "none". Instance norm keeps no running statistics (train and
    eval behave alike, as in CycleGAN); `affine` gives it a learnable scale and shift per channel
    (the CycleGAN reference code has none). Batch norm is always affine."""
    if norm == "batch":
        return nn.BatchNorm2d(ch)
    if norm == "instance":
        return nn.InstanceNorm2d(ch, affine=affine)
    if norm == "none":
        return None
    raise ConfigError(f"norm={norm!r}: choose one of {', '.join(NORMS)}")


def make_act(act: str) -> nn.Module | None:
    if act == "relu":
        return nn.ReLU(inplace=True)
    if act == "lrelu":
        return nn.LeakyReLU(0.2, inplace=True)
    if act == "tanh":
        return nn.Tanh()
    if act == "sigmoid":
        return nn.Sigmoid()
    if act == "none":
        return None
    raise ConfigError(f"act={act!r}: choose one of {', '.join(ACTS)}")


class ConvNormAct(nn.Sequential):
    """conv -> norm -> activation [-> dropout]; children named conv, norm, act, drop (the absent
    ones are left out). The conv has no bias when a norm follows: the norm's shift replaces it."""

    def __init__(self, *, in_ch: int, out_ch: int, kernel: int = 3, stride: int = 1,
                 padding: int | None = None,    # None: "same" for stride 1, i.e. dilation * (kernel // 2)
                 dilation: int = 1,
                 padding_mode: str = "zeros",   # "reflect": CycleGAN's border handling
                 norm: str = "batch",           # batch | instance | none
                 norm_affine: bool = True,      # instance norm: learnable scale and shift
                 act: str = "relu",             # relu | lrelu (slope 0.2) | tanh | sigmoid | none
                 dropout: float = 0.0):         # > 0: Dropout2d (whole feature maps) after the act
        if padding is None:
            padding = dilation * (kernel // 2)
        norm_layer, act_layer = make_norm(norm, out_ch, norm_affine), make_act(act)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["conv"] = nn.Conv2d(in_ch, out_ch, kernel, stride, padding, dilation=dilation,
                                   bias=norm_layer is None, padding_mode=padding_mode)
        if norm_layer is not None:
            layers["norm"] = norm_layer
        if act_layer is not None:
            layers["act"] = act_layer
        if dropout > 0:
            layers["drop"] = nn.Dropout2d(dropout)
        super().__init__(layers)


class ResidualBlock(nn.Module):
    """x + [reflect-pad, conv3, norm, ReLU, reflect-pad, conv3, norm](x): the CycleGAN/Johnson
    residual block, same width in and out, no activation after the sum."""

    def __init__(self, *, ch: int, norm: str = "instance", norm_affine: bool = True, dropout: float = 0.0):
        super().__init__()
        kw = {"in_ch": ch, "out_ch": ch, "padding_mode": "reflect", "norm": norm, "norm_affine": norm_affine}
        self.body = nn.Sequential(ConvNormAct(**kw, act="relu", dropout=dropout), ConvNormAct(**kw, act="none"))

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


def check_divisible(x: Tensor, factor: int, who: str) -> None:
    """A clear error for an image size the network's down/up-sampling cannot map back."""
    h, w = x.shape[-2:]
    if h % factor or w % factor:
        raise ConfigError(f"{who}: image size {h}x{w} is not divisible by {factor}; "
                         f"resize or crop the images to a multiple of {factor}")
