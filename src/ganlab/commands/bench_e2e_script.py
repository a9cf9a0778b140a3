"""The plain PyTorch script `ganlab bench e2e` times against `ganlab train` (as pytorch/examples'
dcgan would be written): a folder of images decoded by its DataLoader workers every epoch, the
networks of ganlab's DCGAN (same architecture and init), Adam, the non-saturating loss, a
checkpoint per epoch and a sample grid at the end. No evaluation, no logging.

    python -m ganlab.commands.bench_e2e_script --root DIR --out DIR --nets JSON [--epochs 1] ...
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms, utils

from ganlab.models.dcgan import Discriminator, Generator


class Images(Dataset):
    def __init__(self, root: Path, size: int):
        self.files = sorted(p for p in root.iterdir() if p.suffix == ".png")
        # ganlab's data=folder recipe: short side to 1.12 x size, random crop, flip, [-1, 1]
        self.transform = transforms.Compose([
            transforms.Resize(round(size * 1.12)), transforms.RandomCrop(size), transforms.RandomHorizontalFlip(),
            transforms.ToTensor(), transforms.Normalize([0.5] * 3, [0.5] * 3)])

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int):
        with Image.open(self.files[i]) as im:
            return self.transform(im.convert("RGB"))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--root", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--nets", required=True, help="JSON {G: kwargs, D: kwargs} of ganlab.models.dcgan")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--device", default="auto")
    a = p.parse_args()
    t0 = time.perf_counter()
    device = torch.device(("cuda" if torch.cuda.is_available() else "cpu") if a.device == "auto" else a.device)
    nets = json.loads(a.nets)
    G, D = Generator(**nets["G"]).to(device), Discriminator(**nets["D"]).to(device)
    z_dim = nets["G"]["z_dim"]
    opt_g = torch.optim.Adam(G.parameters(), lr=a.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=a.lr, betas=(0.5, 0.999))
    data = Images(a.root, nets["G"]["image_size"])
    loader = DataLoader(data, batch_size=a.batch_size, shuffle=True, drop_last=True, num_workers=a.workers,
                        pin_memory=device.type == "cuda", persistent_workers=a.workers > 0)
    a.out.mkdir(parents=True, exist_ok=True)
    steps = 0
    for epoch in range(a.epochs):
        for real in loader:
            real = real.to(device, non_blocking=True)
            b = real.shape[0]
            with torch.no_grad():
                fake = G(torch.randn(b, z_dim, device=device))
            d_real, d_fake = D(real), D(fake)
            loss_d = (F.binary_cross_entropy_with_logits(d_real, torch.ones_like(d_real))
                      + F.binary_cross_entropy_with_logits(d_fake, torch.zeros_like(d_fake)))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            out = D(G(torch.randn(b, z_dim, device=device)))
            loss_g = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            steps += 1
        torch.save({"G": G.state_dict(), "D": D.state_dict(), "epoch": epoch}, a.out / "checkpoint.pt")
        print(f"epoch {epoch + 1}/{a.epochs}  loss_d={loss_d.item():.3f}  loss_g={loss_g.item():.3f}", flush=True)
    G.eval()
    with torch.no_grad():
        utils.save_image(G(torch.randn(64, z_dim, device=device)) * 0.5 + 0.5, a.out / "samples.png", nrow=8)
    print(f"{steps} steps in {time.perf_counter() - t0:.1f} s (after imports)", flush=True)


if __name__ == "__main__":
    main()
