"""One module per `ganlab` subcommand, each exporting `command` (a Click command). This table is
what `ganlab --help` and shell completion show without importing them (torch is slow to import)."""

# command -> (module in this package, what it does)
COMMANDS = {
    "train": ("train", "train a run: Hydra overrides (model=, loss=, data=, schedule=, experiment=), -m sweeps, "
              "resume=RUN_DIR; `ganlab train --help` lists the config groups"),
    "resume": ("resume", "continue a run: RUN_DIR or a checkpoint, however named, then overrides (trainer.max_steps=...)"),
    "sample": ("sample", "images (or a 2D scatter) from a checkpoint alone"),
    "translate": ("translate", "a folder of images through a translation checkpoint (+ masks for agan)"),
    "eval": ("evaluate", "metrics of a checkpoint -> eval.json beside it"),
    "data": ("data", "data download NAME | data prepare [overrides]: fetch a dataset, write an h5 cache"),
    "bench": ("bench", "bench | bench loader | bench quality | bench small-data | bench sdpc | bench e2e: throughput vs a bare "
              "loop, loader, 2D quality, augmentation on 500 images, DCGAN vs its SDPC fusions, whole short runs vs a plain "
              "script"),
    "report": ("report", "a self-contained HTML report of a run"),
    "compare": ("compare", "a table of runs (dirs, parents of runs, globs), grouped over seeds"),
    "runs": ("runs", "the runs under outputs/: running, stalled, finished, failed; step, wall time, best"),
    "completion": ("completion", "the shell completion script: eval \"$(ganlab completion bash)\""),
}
