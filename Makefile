# ganlab — every target creates the environment first if it is missing.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
ARGS    ?=

.PHONY: install train test test-unit test-slow bench bench-quality tb lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# A short, meaningful run on embedded data (no download): the class-conditional DCGAN (cGAN) on
# `shapes`, judged by the shapes classifier too (metrics=shapes). Conditional because the
# unconditional DCGAN draws blobs, not outlines, in these CPU minutes (docs/BENCHMARKS.md).
# tests/e2e/test_quality_slow.py reads the overrides from the line below.
train: $(STAMP)
	$(BIN)/ganlab train model=cgan metrics=shapes $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --durations=15 $(ARGS)

# the inner loop: tests that spawn no process (tests/e2e/ runs the real `ganlab` command)
test-unit: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 tests/unit $(ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow $(ARGS)

bench: $(STAMP)
	$(BIN)/ganlab bench $(ARGS)

bench-quality: $(STAMP)
	$(BIN)/ganlab bench quality $(ARGS)

tb: $(STAMP)
	$(BIN)/tensorboard --logdir outputs

lint: $(STAMP)
	$(BIN)/ruff check src tests

clean:
	rm -rf outputs/*/ multirun .pytest_cache .ruff_cache build dist src/*.egg-info
