"""History of generated images shown to D (Shrivastava et al. 2017; CycleGAN keeps 50): D is
trained on a mix of current and past fakes, which damps oscillation."""

from __future__ import annotations

import torch
from torch import Tensor


class ImagePool:
    def __init__(self, *, size: int = 50):
        self.size = size
        self.images: Tensor | None = None  # (n, C, H, W), n <= size

    @torch.no_grad()
    def query(self, fakes: Tensor) -> Tensor:
        """For each new image: while the pool fills, store and return it; then with probability
        1/2 return a stored image and store the new one in its place, else return the new one."""
        if self.size == 0:
            return fakes
        out = []
        for img in fakes.detach():
            n = 0 if self.images is None else self.images.shape[0]
            if n < self.size:
                self.images = img[None].clone() if self.images is None else torch.cat([self.images, img[None]])
                out.append(img)
            elif torch.rand(()) < 0.5:
                i = int(torch.randint(0, self.size, ()))
                out.append(self.images[i].clone())
                self.images[i] = img
            else:
                out.append(img)
        return torch.stack(out)

    def state_dict(self) -> dict:
        return {"images": None if self.images is None else self.images.cpu()}

    def load_state_dict(self, state: dict, device=None) -> None:
        imgs = state["images"]
        self.images = None if imgs is None else imgs.to(device or imgs.device)
