"""`ganlab bench translation`: generator passes per iteration and s/iter against the reference loop."""

from click.testing import CliRunner

from ganlab.commands.bench_translation import measure, translation

SMALL = ("model.width=4", "model.discriminator.width=4")


def test_both_loops_make_the_reference_six_generator_passes():
    for model in ("cyclegan", "agan"):
        r = measure(model, 32, steps=1, warmup=1, rounds=1, device="cpu", extra=SMALL)
        assert r["passes"] == r["bare_passes"] == 6, (model, r)
        assert r["s_per_iter"] > 0 and r["bare_s_per_iter"] > 0
        assert r["speed"] == r["bare_s_per_iter"] / r["s_per_iter"]


def test_the_command_prints_a_row_per_model_and_size():
    out = CliRunner().invoke(translation, ["--models", "agan", "--sizes", "32", "--steps", "1", "--warmup", "1",
                                           "--rounds", "1", "--device", "cpu"])
    assert out.exit_code == 0, out.output
    row = next(line for line in out.output.splitlines() if "agan" in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[:4] == ["agan", "32", "6", "6"]  # ganlab's and the reference's generator passes
    assert float(cells[-1]) > 0  # speed vs the bare loop


def test_cpu_clock_is_for_the_cpu_only():
    out = CliRunner().invoke(translation, ["--clock", "cpu", "--device", "cuda:0", "--steps", "1"])
    assert out.exit_code == 2 and "--clock" in out.output
