.PHONY: test lint demo bench bench-markdown

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
