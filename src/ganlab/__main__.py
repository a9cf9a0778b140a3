"""`python -m ganlab ...` (e.g. under `torchrun -m ganlab train ...`)."""

from ganlab.cli import main

main()
