# Two commands on a fresh machine with python3 and make: `make demo` and `make test`.
# With Node.js and npm present, setup also installs Azurite (package.json) for the Azure Storage queue
# tests and `devhost serve --azurite`; without them it says so and those tests are skipped.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt requirements-vendor.txt | cksum | cut -d' ' -f1)
NPM    := $(shell command -v npm 2>/dev/null)
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json | cksum | cut -d' ' -f1)

.PHONY: setup node-tools demo test lint serve serve-azurite bench clean

# requirements-vendor.txt: the vendors' SDKs, for tests/simulators/test_vendor_sdks.py (heavy, test-only)
$(STAMP): requirements.txt requirements-dev.txt requirements-vendor.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# an older pip (23.x) fails to resolve the vendor SDKs' OpenTelemetry ranges (InconsistentCandidate)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip>=25"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r requirements-vendor.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

setup: $(STAMP) node-tools

ifeq ($(NPM),)
node-tools:
	@echo "setup: npm not found: Azurite is not installed, so the Azure Storage queue tests will be skipped" \
	      "and devhost keeps queue triggers on its embedded queue (install Node.js 20+ with npm to run them)."
else
node-tools: $(NODE_STAMP)

$(NODE_STAMP): package.json package-lock.json
	@if npm ci --no-audit --no-fund --loglevel=error; then \
	  rm -f node_modules/.installed-*; touch $@; \
	else \
	  echo "setup: npm ci failed: Azurite is not installed; the Azure Storage queue tests will be skipped."; \
	fi
endif

demo: setup
	$(BIN)/python -m demo

test: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: setup
	$(BIN)/ruff check .

serve: setup
	$(BIN)/python -m devhost serve --simulate

serve-azurite: setup
	$(BIN)/python -m devhost serve --simulate --azurite

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .devhost .pytest_cache .ruff_cache node_modules
