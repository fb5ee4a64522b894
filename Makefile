.PHONY: test lint demo bench bench-markdown soak

# Same as the README's test command (and .ci/run).
test:
	.venv/bin/pytest

lint:
	.venv/bin/ruff check .
	.venv/bin/mypy

demo:
	.venv/bin/confsql --sandbox


PYTHON ?= .venv/bin/python

# Benchmarks against the built-in emulator (prints figures; not a test).
bench:
	$(PYTHON) benchmarks/run.py $(BENCH_ARGS)

# The README table: markdown on stdout, progress on stderr.
bench-markdown:
	$(PYTHON) benchmarks/run.py --markdown --scaling $(BENCH_ARGS)

# The long soak (writes, then reads on one shared connection, under random faults):
# prints statements, faults by kind and defects; exits 1 on any defect.
# The bounded form runs in `make test` (tests/soak).
DURATION ?= 600
THREADS ?= 4
SEED ?= 14
soak:
	$(PYTHON) -m tests.soak --duration $(DURATION) --threads $(THREADS) --seed $(SEED)
