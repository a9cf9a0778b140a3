"""Read-only analysis of finished (or running) run directories: `ganlab report`, `ganlab compare`."""
