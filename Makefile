# The two commands a newcomer needs: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
SAMPLE = tests/data/basic

.PHONY: run test lint lint-deploy format schema clean

# Re-install only when the project's dependencies change.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

## Ingest the bundled sample into the embedded database and print its summary.
run: $(VENV)/.installed
	$(BIN)/backtestdb ingest $(SAMPLE)/report.json --csv $(SAMPLE)/history.csv \
		--params $(SAMPLE)/parameters.cbotset --name "MACross EURUSD h1 (sample)"

## The whole test suite, on SQLite and on PostgreSQL (TEST_POSTGRES_URL).
test: $(VENV)/.installed
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports

## Offline checks of the deployment files: Dockerfile, Kubernetes manifests, shell scripts.
K8S_VERSION ?= 1.30.0
K8S_MANIFESTS = $(shell find deploy/kubernetes -name '*.yaml' ! -name kustomization.yaml ! -name '.*' | sort)
lint-deploy: $(VENV)/.installed
	$(BIN)/hadolint Dockerfile
	$(BIN)/yamllint --strict -c deploy/kubernetes/.yamllint.yaml deploy/kubernetes
	$(BIN)/kubernetes-validate --strict --quiet -k $(K8S_VERSION) $(K8S_MANIFESTS)
	@# The kustomize render as applied (labels, namespace), where kubectl is installed.
	if command -v kubectl >/dev/null; then for k in deploy/kubernetes deploy/kubernetes/migrate; do \
		kubectl kustomize $$k | $(BIN)/kubernetes-validate --strict --quiet -k $(K8S_VERSION) - || exit 1; done; fi
	$(BIN)/shellcheck scripts/*.sh

format: $(VENV)/.installed
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

## Regenerate the plain PostgreSQL DDL from the migrations.
schema: $(VENV)/.installed
	$(BIN)/backtestdb db sql > schema/001_initial_schema.sql

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
