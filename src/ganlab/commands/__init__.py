"""One module per `ganlab` subcommand; this file holds their usage lines (for --help)."""

# command (and subcommand) -> its usage line with the defaults, and what it does
HELP = {
    "train": ("train [overrides] [-m]", "train a run (Hydra: model=, loss=, data=, schedule=, experiment=, -m for "
              "sweeps, --cfg job prints the composed config, resume=<run dir|checkpoint>; --help lists the groups)"),
    "sample": ("sample ckpt=PATH [n=64] [out=samples.png] [seed=0] [nrow=sqrt(n)] [device=auto]",
               "images (or a 2D scatter) from a checkpoint alone"),
    "translate": ("translate ckpt=PATH input=DIR out=DIR [direction=AtoB|BtoA] [batch_size=16] [device=auto]",
                  "a folder of images through a translation checkpoint (+ masks for agan)"),
    "eval": ("eval ckpt=PATH [metrics=[fid,kid]] [weights_path=PATH] [feature=inception|random_conv] [n=5000] "
             "[out=<ckpt dir>/eval.json] [cache_dir=data/cache] [device=auto]",
             "metrics of a checkpoint -> eval.json beside it (also the data's own evaluators by name: modes, masks)"),
    "data download": ("data download NAME [root=data/NAME] [url=URL] [force=false]",
                      "fetch and check a public dataset (horse2zebra)"),
    "data prepare": ("data prepare data=NAME [dtype=uint8|float16] [overrides]",
                     "write a dataset once into an h5 cache (train with data.cache=h5)"),
    "bench": ("bench [steps=10] [rounds=3] [image_size=64] [batch_size=64] [width=64]",
              "training throughput of ganlab's loop vs a bare PyTorch loop"),
    "bench loader": ("bench loader [n=512] [image_size=64] [rounds=3]", "data loading: image files vs the h5 cache"),
    "bench quality": ("bench quality [seeds=5] [jobs=2] [data=ring8,grid25] [steps=] [out=]",
                      "the 2D mode-collapse benchmark over seeds, next to published rows"),
    "report": ("report RUN_DIR [out=RUN_DIR/report.html]",
               "a self-contained HTML report of a run: config, events, curves, samples"),
    "compare": ("compare PATHS... [--sort KEY[:asc|:desc]] [--csv PATH] [--metrics m1,m2]",
                "a table of runs (dirs, parents of runs, globs), grouped over seeds"),
}
USAGE = "usage: ganlab <command> [args]   (ganlab <command> --help, ganlab --version)\n\n" + "\n".join(
    f"  {line}\n      {what}" for line, what in HELP.values())
