"""Sample panels with their column names drawn in: a label strip on top of the grid, so that
TensorBoard, the other loggers, samples/*.png and the report all show which column is which."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor

PAD = 2  # torchvision make_grid's default padding


def label_columns(grid: Tensor, labels: list[tuple[str, str]]) -> Tensor:
    """`grid` (CHW in [0, 1], make_grid's layout, one column per label) with a strip on top
    naming each column: the long label where it fits the column, else the short one."""
    _, h, w = grid.shape
    col = (w - PAD) / len(labels)
    font, texts = _fitting(labels, col - 2)
    strip_h = font.size + 6
    img = Image.new("RGB", (w, strip_h), "white")
    draw = ImageDraw.Draw(img)
    for i, text in enumerate(texts):
        cx = PAD + i * col + (col - PAD) / 2
        draw.text((cx, strip_h / 2), text, fill="black", font=font, anchor="mm")
    strip = torch.from_numpy(np.asarray(img).copy()).permute(2, 0, 1).float() / 255
    return torch.cat([strip.to(grid.dtype), grid[:3].expand(3, -1, -1)], dim=1)


def _fitting(labels: list[tuple[str, str]], width: float):
    for texts in ([long for long, _ in labels], [short for _, short in labels]):
        for size in range(14, 7, -1):
            font = ImageFont.load_default(size=size)
            if all(font.getlength(t) <= width for t in texts):
                return font, texts
    return ImageFont.load_default(size=8), [short for _, short in labels]
