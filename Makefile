# The two commands a newcomer needs: `make run` and `make test`. Both set everything up first.
SHELL := /bin/bash
PORT ?= 8000
VENV := .venv
PY := $(VENV)/bin/python
# The first Python >= 3.12 on the PATH (pyenv's shims honour .python-version).
BOOT_PYTHON := $(shell for p in python3.12 python3.13 python3.14 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; \
	then echo $$p; break; fi; done)

.PHONY: run serve test lint format setup migrate seed screenshots bench-pipeline bench-pages bench-concurrency bench-context bench-storm bench-answers bench-email bench-api bench-live clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(BOOT_PYTHON)" || { echo "Python 3.12 or newer is needed (see .python-version)"; exit 1; }
	@test -x $(PY) || $(BOOT_PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

# axe-core for the accessibility tests (package-lock.json pins it). Without npm the app and the other
# tests still run; the accessibility tests then skip (and fail under REQUIRE_SERVICES=1).
node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the accessibility tests will skip (apt-get install npm)"; fi

setup: $(VENV)/.installed node_modules/.package-lock.json
	@mkdir -p var

migrate: setup
	$(PY) manage.py migrate --noinput -v 0

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	@echo ""
	@echo "  Help desk: http://127.0.0.1:$(PORT)/"
	@echo "  Staff workspace: http://127.0.0.1:$(PORT)/staff/   admin: http://127.0.0.1:$(PORT)/admin/"
	@echo "  Demo logins (password: demo12345):"
	@echo "    lead@example.com (support lead)   agent@example.com (support agent)"
	@echo "    alice@example.com, bob@example.com (customers, portal at /portal/)"
	@echo "  Ctrl-C stops the web server, the worker and the scheduler."
	@echo ""
	DEBUG=true PORT=$(PORT) $(VENV)/bin/honcho -f Procfile start

# The production way on one machine: gunicorn (gunicorn.conf.py), a worker and beat, DEBUG off.
# Set SECRET_KEY, ALLOWED_HOSTS, SITE_URL, DATABASE_URL and CELERY_BROKER_URL first (README: Deployment).
serve: migrate
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py check --deploy --fail-level WARNING
	PORT=$(PORT) $(VENV)/bin/honcho -f Procfile.prod start

# Two pytest-xdist processes by default (this machine has 2 cores): most of the suite's time is spent
# waiting on real workers, browsers and servers, and one process waits while the other runs.
# TEST_PROCESSES=0 runs in this process only.
TEST_PROCESSES ?= 2
test: setup
	$(PY) -m pytest -q -n $(TEST_PROCESSES) $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

screenshots: setup
	SCREENSHOTS=1 $(PY) -m pytest -q tests/screenshots.py

bench-pipeline: migrate
	$(PY) bench/pipeline.py

bench-pages: migrate
	$(PY) bench/pages.py

bench-concurrency: migrate
	$(PY) bench/concurrency.py

bench-context: migrate
	$(PY) bench/context_cost.py

bench-storm: migrate
	$(PY) bench/storm.py

# The assistant's answers on bench/eval: the tuning part, then the held-out part (own SQLite, no services).
bench-answers: setup
	$(PY) bench/answer_quality.py --split tune
	$(PY) bench/answer_quality.py --split holdout
	$(PY) bench/answer_quality.py --eval bench/eval/tallybook --split tune
	$(PY) bench/answer_quality.py --eval bench/eval/tallybook --split holdout
	$(PY) bench/answer_quality.py --eval bench/eval/taskloom --split tune
	$(PY) bench/answer_quality.py --eval bench/eval/taskloom --split holdout

bench-email: migrate
	$(PY) bench/email_ingest.py

# The REST API: listing pages in-process (queries, p50) and message creates/s through gunicorn (4 workers).
bench-api: migrate
	$(PY) bench/api.py

bench-live: migrate
	$(PY) bench/live.py

clean:
	rm -rf $(VENV) var
