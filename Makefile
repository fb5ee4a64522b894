.PHONY: test lint demo bench bench-markdown serve serve-load bench-serve soak

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
	CONFSQL_SERVE_LOAD_SECONDS=30 .venv/bin/pytest tests/serve/test_load.py -s -n 0

# Rows per second through psycopg and `confsql serve` versus the DB-API.
bench-serve:
	$(PYTHON) benchmarks/serve.py $(BENCH_ARGS)
# The long soak (writes, then reads on one shared connection, under random faults):
# prints statements, faults by kind and defects; exits 1 on any defect.
# The bounded form runs in `make test` (tests/soak).  ONLY=writes or ONLY=reads runs one soak.
DURATION ?= 600
THREADS ?= 4
SEED ?= 14
soak:
	$(PYTHON) -m tests.soak --duration $(DURATION) --threads $(THREADS) --seed $(SEED) $(if $(ONLY),--only $(ONLY))
