"""ganlab: a config-driven GAN research lab on PyTorch and Hydra."""

__version__ = "0.1.0"
