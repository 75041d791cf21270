# One command per action; CI runs the same ones (.ci/run).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test check lint bench bench-poller bench-forking bench-receiver bench-replay bench-poller-cpu bench-push-wait services clean

# The venv, then the hot worker modules compiled with mypyc (workers/native.py; a no-op when current).
install: $(STAMP)
	$(BIN)/python scripts/build_native.py

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

# Receiver + one worker + poller on the embedded defaults (SQLite, local Redis started if none answers).
run: install
	$(BIN)/cdr-ingest run

# The whole suite against real Redis and PostgreSQL (started here when they are not running).
test: install services
	$(BIN)/pytest

check: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

lint: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Load benchmark: its own Redis, PostgreSQL, receiver and workers; wrk (installed here if missing).
bench: install services
	command -v wrk >/dev/null || apt-get install -y -q wrk
	$(BIN)/python -m bench

# A real backfill (fake vendor API → poller → RQ → workers → PostgreSQL), BENCH_POLLER_ROWS rows per source.
bench-poller: install services
	$(BIN)/python -m bench.poller

# RQ's forking worker against the non-forking one the workers run, on the same ingest jobs.
bench-forking: install
	$(BIN)/python -m bench.forking

# The receiver alone under wrk: CPU a request of the receiver, Redis and wrk, envelopes per push.
bench-receiver: install
	command -v wrk >/dev/null || apt-get install -y -q wrk
	$(BIN)/python -m bench.receiver_cpu

# A worker's CPU a backfilled row in process: the real poller's jobs replayed through jobs.ingest into SQLite
# (BENCH_REPLAY_POSTGRES=1: PostgreSQL too), BENCH_RUNS times; the figure to compare commits by.
bench-replay: install
	$(BIN)/python -m bench.replay

# The poller's CPU a backfilled row in process: the real poller paging BENCH_POLLER_ROWS rows into a Redis of its own.
bench-poller-cpu: install
	$(BIN)/python -m bench.poller_cpu

# How long a push's job waits in the queue during a backfill, with the poller's bound and without.
bench-push-wait: install
	$(BIN)/python -m bench.push_wait

services:
	scripts/ensure-services

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build/native workers/_native.json
	find workers -name '*.so' -delete
