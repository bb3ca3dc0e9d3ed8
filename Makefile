# workbench — weekly ML monitoring reviews. `make` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AIRFLOW_VENV := .venv-airflow
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
WEEK ?=
ARGS ?=
BENCH_SIZES ?= 100000,1000000
# JupyterLab refuses to start as root (containers, CI) without --allow-root
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)

.PHONY: help setup prometheus chromium demo-up demo-down weekly-report screenshots lab test test-unit bench validity clean \
	airflow-venv bench-fleet bench-week test-distributed

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "workbench needs Python 3.11+ (found $$($(PYTHON) --version))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (workbench)" >/dev/null
	touch $(STAMP)

setup: $(STAMP) prometheus ## create .venv and install workbench with its dev tools (and Prometheus)

prometheus: ## install Debian's prometheus package (ships promtool) if it is missing
	@bash scripts/ensure-prometheus.sh

chromium: ## install Debian's chromium package (for the browser tests and screenshots) if it is missing
	@bash scripts/ensure-chromium.sh

demo-up: setup ## build (if stale) and start the demo stack: Prometheus, SQLite prediction DB, MLflow
	$(BIN)/workbench demo up

demo-down: ## stop the demo Prometheus
	@if [ -x $(BIN)/workbench ]; then $(BIN)/workbench demo down; fi

weekly-report: setup ## run every review into reports/<week>/ (WEEK=2026-W47 to pick a week, NOTIFY=1 to send the verdict)
	@if [ -z "$$WORKBENCH_PROMETHEUS_URL$$WORKBENCH_DATABASE_URL" ]; then $(BIN)/workbench demo up; fi
	$(BIN)/workbench report --params params $(if $(WEEK),--week $(WEEK)) $(if $(NOTIFY),--notify) $(ARGS)

screenshots: setup chromium ## first screens (1400x900 PNG) of the week page and each report into reports/<week>/screenshots/
	@week="$(WEEK)"; if [ -z "$$week" ]; then week=$$(ls -d reports/*-W* 2>/dev/null | sort | tail -n 1 | xargs -r basename); fi; \
	if [ -z "$$week" ]; then echo "no reports yet: run 'make weekly-report' first"; exit 1; fi; \
	$(BIN)/python -m workbench.browser screenshots reports/$$week && \
	$(BIN)/python -m workbench.artifact reports/$$week

lab: demo-up ## open JupyterLab on the notebooks (demo stack running)
	$(BIN)/jupyter lab notebooks/ $(LAB_ARGS)

test: setup airflow-venv ## unit, integration (real Prometheus, PostgreSQL, MLflow, Airflow) and notebook tests, with coverage
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-java.sh
	$(BIN)/pytest tests/unit tests/integration --cov=workbench --cov-report=term-missing
	$(BIN)/pytest tests/airflow
	$(MAKE) --no-print-directory test-distributed
	$(BIN)/nbstripout --verify notebooks/*.ipynb
	$(BIN)/pytest --nbval-lax notebooks/

test-distributed: setup airflow-venv ## the DAG on Airflow's CeleryExecutor: Redis broker, PostgreSQL metadata, two Celery workers (make test runs it)
	bash scripts/ensure-postgres.sh
	bash scripts/ensure-redis.sh
	$(BIN)/pytest tests/distributed -s

test-unit: setup ## unit tests only (no servers)
	$(BIN)/pytest tests/unit

bench: setup ## drift speed and memory against plain scipy and Evidently (goals beside ratios; exits 1 on a miss), then PostgreSQL
	@status=0; $(BIN)/python benchmarks/drift_bench.py $(ARGS) || status=$$?; \
	bash scripts/ensure-postgres.sh && \
	$(BIN)/python benchmarks/pg_memory_bench.py && \
	$(BIN)/python benchmarks/pg_scale_bench.py --sizes $(BENCH_SIZES) || exit $$?; \
	if [ $$status -ne 0 ]; then echo "make bench: a drift goal was missed (see the ratios above)"; fi; exit $$status

validity: setup ## seeded simulations: drift verdicts at 10k/70k/500k rows, weak segments and multivariate drift (detection and false alarms; several minutes)
	@status=0; $(BIN)/python benchmarks/drift_validity.py || status=1; \
	$(BIN)/python benchmarks/segments_validity.py || status=1; \
	$(BIN)/python benchmarks/multivariate_validity.py || status=1; exit $$status

# Airflow pins many packages; it gets its own virtualenv (with workbench installed into it too).
$(AIRFLOW_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "workbench needs Python 3.11+"; exit 1; }
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install --quiet --upgrade pip
	$(AIRFLOW_VENV)/bin/pip install --quiet -e '.[airflow]'
	$(AIRFLOW_VENV)/bin/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (workbench, airflow)" >/dev/null
	touch $(AIRFLOW_STAMP)

airflow-venv: $(AIRFLOW_STAMP) ## build .venv-airflow: Apache Airflow 3 + workbench, for dags/weekly_review.py

bench-fleet: setup ## cost curve of the weekly report over a generated fleet: N = 1, 10, 50 models, --jobs 1 and 2 (~20 min)
	$(BIN)/python benchmarks/fleet_bench.py $(ARGS)

bench-week: setup ## the demo week, base commit d4cc0c9 vs the current code side by side on the same stack
	$(BIN)/python benchmarks/week_bench.py $(ARGS)

clean: demo-down ## remove the virtualenv, demo data and generated reports
	rm -rf $(VENV) $(AIRFLOW_VENV) data .pytest_cache
	find reports -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
