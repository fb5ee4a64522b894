.PHONY: bench bench-markdown

PYTHON ?= .venv/bin/python

# Benchmarks against the built-in emulator (prints figures; not a test).
bench:
	$(PYTHON) benchmarks/run.py $(BENCH_ARGS)

# The README table: markdown on stdout, progress on stderr.
bench-markdown:
	$(PYTHON) benchmarks/run.py --markdown --scaling $(BENCH_ARGS)
