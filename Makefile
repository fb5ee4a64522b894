.PHONY: test lint demo bench bench-markdown serve serve-load bench-serve

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

# `confsql serve` on 127.0.0.1:5433 with demo data (psql -h 127.0.0.1 -p 5433 -U confsql confsql).
serve:
	.venv/bin/confsql serve --sandbox

# The long form of the server load test: 32 clients for 30 s.
serve-load:
	CONFSQL_SERVE_LOAD_SECONDS=30 .venv/bin/pytest tests/serve/test_load.py -s

# Rows per second through psycopg and `confsql serve` versus the DB-API.
bench-serve:
	$(PYTHON) benchmarks/serve.py $(BENCH_ARGS)
