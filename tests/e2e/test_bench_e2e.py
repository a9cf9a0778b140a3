"""`ganlab bench e2e`: the whole `ganlab train` command against the plain PyTorch script, on a
tiny folder (speed is never asserted: only that both ran and the table and ratio are printed)."""

import re

from click.testing import CliRunner

from ganlab.commands.bench_e2e import e2e


def test_bench_e2e_times_both_commands_and_prints_the_ratio(ganlab):
    out = ganlab("bench", "e2e", "--n", "8", "--image-size", "16", "--batch-size", "4", "--epochs", "1",
                 "--workers", "0", "--device", "cpu").stdout
    assert "script, 1 epoch(s), round 1:" in out and "ganlab, 1 epoch(s), round 1:" in out
    # ganlab's closing evaluation, from its summary.json (timings.eval_time_s), shown apart
    assert re.search(r"ganlab, 1 epoch\(s\), round 1: [\d.]+ s \(of which evaluation [\d.]+ s\)", out)
    row = next(line for line in out.splitlines() if line.startswith("│ 1 "))
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[1] == "2" and all(float(c) > 0 for c in cells[2:])  # 8 images / batch 4: 2 steps
    assert len(cells) == 7 and float(cells[6]) > float(cells[4])  # without its evaluation ganlab is faster
    ratio = re.search(r"script/ganlab ratio: 1 epoch\(s\) (\d+\.\d+)", out)
    assert ratio and float(ratio.group(1)) > 0 and float(ratio.group(1)) == float(cells[4])


def test_bench_e2e_bad_options_name_the_option():
    out = CliRunner().invoke(e2e, ["--epochs", "1,zero"])
    assert out.exit_code == 2 and "'1,zero': a comma-separated list of epoch counts" in out.output
    out = CliRunner().invoke(e2e, ["--n", "8", "--batch-size", "16"])
    assert out.exit_code == 2 and "--n 8 is fewer images than one batch" in out.output
