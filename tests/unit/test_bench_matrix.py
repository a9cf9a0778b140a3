"""`ganlab bench matrix`: each row times ganlab's loop after its warm-up steps."""

from ganlab.commands.bench_matrix import StepClock, measure

TINY = ["model=dcgan", "data=shapes", "data.image_size=16", "data.batch_size=8", "data.dataset.size=64",
        "model.width=8"]


def test_a_row_times_only_the_steps_after_warm_up():
    row = measure([*TINY, "trainer.precision=32"], steps=3, warmup=2, device="cpu")
    assert row["images_per_s"] > 0 and row["peak_mib"] is None  # no GPU memory on CPU


def test_the_clock_starts_after_warm_up_and_stops_at_the_end():
    class FakeRun:
        device, total_steps = type("D", (), {"type": "cpu"})(), 5
    clock, run = StepClock(warmup=2), FakeRun()
    for step in range(1, 6):
        run.step = step
        clock.on_step_end(run, {})
        assert (clock.t0 is None) == (step < 2) and (clock.t1 is None) == (step < 5)
