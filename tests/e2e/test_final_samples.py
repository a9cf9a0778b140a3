"""The end of a run: a large final sample grid and the grids logged during training as a GIF."""

import pytest
import torch
from PIL import Image
from torchvision.utils import save_image

from ganlab.callbacks.final_samples import write_gif
from ganlab.sample_files import sample_files


def test_a_run_ends_with_a_final_grid_and_a_samples_gif(fast_run_once):
    run = fast_run_once[0]  # `ganlab train debug=fast ...`: 4 steps
    assert Image.open(run / "final_samples.png").size == (8 * 18 + 2, 8 * 18 + 2)  # 64 samples, 8 x 8
    grids = sorted((run / "samples").glob("grid_step*.png"))
    gif = Image.open(run / "samples_grid.gif")
    assert gif.n_frames == len(grids) >= 3  # steps 1, 2, 4
    for i, png in enumerate(grids):  # each frame: a "step N" strip over that grid
        gif.seek(i)
        frame = torch.tensor(list(gif.convert("RGB").getdata()), dtype=torch.float).view(gif.height, gif.width, 3)
        grid = torch.tensor(list(Image.open(png).convert("RGB").getdata()), dtype=torch.float)
        strip = gif.height - Image.open(png).height
        assert 8 < strip < 20 and (frame[:strip] < 128).any()  # the step label
        assert (frame[strip:].reshape(-1, 3) - grid).abs().mean() < 8  # the grid, palette-quantized


def test_2d_data_ends_with_a_scatter_over_the_modes(ganlab, tmp_path):
    ganlab("train", "model=mlp", "data=ring8", "debug=fast", "trainer.device=cpu", "hydra.run.dir=run")
    run = tmp_path / "run"
    assert Image.open(run / "final_samples.png").size == (500, 500)  # the 5 in figure at 100 dpi
    assert Image.open(run / "samples_scatter.gif").n_frames >= 3


def test_gif_frames_stay_bounded_and_spread_over_the_run(tmp_path):
    (tmp_path / "samples").mkdir()
    for step in range(1, 201):  # a long run's grids: each one a colour of its own
        save_image(torch.full((3, 8, 8), step / 200), tmp_path / "samples" / f"grid_step{step:08d}.png")
    series = sample_files(tmp_path)
    assert list(series) == ["grid"] and len(series["grid"]) == 200
    write_gif(series["grid"], tmp_path / "out.gif", max_frames=10, frame_ms=100)
    gif = Image.open(tmp_path / "out.gif")
    assert gif.n_frames == 10
    shades = []
    for i in range(10):
        gif.seek(i)
        shades.append(gif.convert("L").getpixel((4, gif.height - 4)))
    assert shades == sorted(shades) and len(set(shades)) == 10  # in step order, all distinct
    assert shades[0] == pytest.approx(255 / 200, abs=2) and shades[-1] == pytest.approx(255, abs=2)  # first, last
