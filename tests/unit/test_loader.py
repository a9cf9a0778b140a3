import torch
from torch.utils.data import Dataset

from ganlab.data.loader import Batches, Position


class Noisy(Dataset):
    """index -> its index plus augmentation noise from the global RNG (like torchvision v2)."""

    def __len__(self):
        return 37

    def __getitem__(self, i):
        return {"x": torch.tensor([float(i)]) + torch.rand(1), "y": torch.tensor(0)}


def _all(b: Batches, pos: Position, n_epochs: int):
    out = []
    for _ in range(n_epochs):
        out += [x["x"] for x in b.epoch(pos)]
        pos = Position(pos.epoch + 1, 0)
    return out


def test_epochs_are_permutations_with_full_batches():
    b = Batches(Noisy(), batch_size=5, seed=0)
    assert b.steps_per_epoch == 7
    e0 = torch.cat(_all(b, Position(), 1)).floor().long().flatten()
    assert len(set(e0.tolist())) == 35
    e1 = torch.cat([x["x"] for x in b.epoch(Position(1, 0))]).floor().flatten()
    assert not torch.equal(e0.float(), e1)  # a new order every epoch


def test_resume_mid_epoch_sees_identical_batches_and_augmentations():
    b = Batches(Noisy(), batch_size=5, seed=3)
    straight = list(b.epoch(Position(2, 0)))
    torch.manual_seed(999)  # the global RNG state must not matter
    resumed = list(b.epoch(Position(2, 4)))
    assert len(resumed) == 3
    for a, c in zip(straight[4:], resumed):
        assert torch.equal(a["x"], c["x"])


def test_workers_give_the_same_batches_as_the_main_process():
    b0 = Batches(Noisy(), batch_size=5, seed=1)
    b2 = Batches(Noisy(), batch_size=5, seed=1, num_workers=2)
    for a, c in zip(b0.epoch(Position(0, 1)), b2.epoch(Position(0, 1))):
        assert torch.equal(a["x"], c["x"])


def test_in_memory_matches_order():
    class Det(Noisy):
        def __getitem__(self, i):
            return {"x": torch.tensor([float(i)]), "y": torch.tensor(0)}

    a = [x["x"] for x in Batches(Det(), batch_size=4, seed=0).epoch(Position())]
    m = [x["x"] for x in Batches(Det(), batch_size=4, seed=0, in_memory=True).epoch(Position())]
    assert all(torch.equal(x, y) for x, y in zip(a, m))
