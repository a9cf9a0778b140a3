"""Class-conditional flow matching with classifier-free guidance through the real `ganlab`
command: a short run on shapes learns its colours, guided samples (w = 3) show their label's colour
far more often than unguided ones (w = 0, the null label: the colour is chance), `ganlab sample
--guidance` draws one row per class, and --guidance on a model it does not apply to is bad input."""

import pytest
import torch

from conftest import train_each

CPU = ["trainer.device=cpu", "~data.evaluators", "callbacks.tensorboard.sample_every_n_steps=1000"]
# 150 steps of batch 16 (about 20 CPU seconds on one thread): the colour is learned, the shape not yet
SHAPES = ["model=flow", "data=shapes", "model.num_classes=12", "data.image_size=16", "data.dataset.size=384",
          "data.batch_size=16", "trainer.max_steps=150", "model.algorithm.ema_decay=0.99"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    return train_each(tmp_path_factory.mktemp("guidance"), {
        "shapes": SHAPES,
        "digits": ["model=flow", "data=digits", "model.num_classes=10", "data.batch_size=8", "trainer.max_steps=2",
                   "model.denoiser.width=8"],
        "uncond": ["model=flow", "data=grid25", "data.batch_size=8", "model.networks.net.hidden=8",
                   "trainer.max_steps=2"],
    }, CPU)


def colour_match(x, y) -> float:
    """The share of images whose bright pixels' dominant channel is their label's colour (shapes:
    label = shape * 3 + colour, colours red, green, blue; the background is dark grey)."""
    img = (x + 1) / 2
    bright = img.amax(1, keepdim=True) > 0.45
    mean = (img * bright).sum((2, 3)) / bright.sum((2, 3)).clamp(min=1)
    return float((mean.argmax(1) == y % 3).float().mean())


def test_the_colour_rule_reads_the_data_and_not_shuffled_labels():
    from ganlab.data.synthetic import Shapes
    data = Shapes(size=120, image_size=16)
    x, y = torch.stack([data[i]["x"] for i in range(120)]), torch.arange(120) % 12
    assert colour_match(x, y) == 1.0 and colour_match(x, (y + 1) % 12) == 0.0


def test_guided_samples_show_their_class_colour_far_more_often_than_unguided_ones(runs, ganlab, tmp_path):
    from ganlab.training.resume import load_algorithm
    algo, _, _ = load_algorithm(str(runs / "shapes" / "checkpoints" / "last.pt"), torch.device("cpu"))
    algo.sample_steps = 8
    y = torch.arange(96) % 12
    match = {}
    for w in (0.0, 3.0):
        algo.guidance = w
        match[w] = colour_match(algo.generate(96, device=torch.device("cpu"), seed=0, y=y), y)
    assert match[3.0] >= 0.8 and match[3.0] > match[0.0] + 0.3, match  # w = 0: the colour is chance (1/3)
    p = ganlab("sample", str(runs / "shapes"), "--guidance", "3", "--steps", "4", "--out", "g.png", "--device", "cpu")
    assert "96 samples" in p.stdout and "guidance 3" in p.stdout and "16 network evaluations" in p.stdout
    from PIL import Image
    with Image.open(tmp_path / "g.png") as im:  # one row of 8 per class, 16 px and 2 px padding: 12 rows
        assert im.size == (8 * 18 + 2, 12 * 18 + 2)


def test_digits_train_conditionally_and_sample_a_row_per_digit(runs, ganlab):
    p = ganlab("sample", str(runs / "digits"), "--guidance", "2", "--steps", "2", "--n", "20", "--out", "d.png",
               "--device", "cpu")
    assert "20 samples" in p.stdout and "guidance 2" in p.stdout


def test_guidance_on_a_model_without_labels_is_one_line_and_writes_nothing(runs, ganlab, tiny_run, tmp_path):
    for ckpt, words in ((runs / "uncond", "unconditional flow"), (tiny_run, "not a flow or ddpm")):
        p = ganlab("sample", str(ckpt), "--guidance", "3", "--out", "x.png", "--device", "cpu", check=False)
        assert p.returncode == 2 and words in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr
        assert not (tmp_path / "x.png").exists()
