# Two commands on a fresh machine with python3 and make: `make demo` and `make test`.
# With Node.js and npm present, setup also installs Azurite (package.json) for the Azure Storage queue
# tests and `devhost serve --azurite`; without them it says so and those tests are skipped.
# `make test` also installs Debian's chromium for the dashboard's browser tests when it is missing and
# apt-get can run (as root); otherwise it says so and those tests are skipped.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt requirements-vendor.txt | cksum | cut -d' ' -f1)
NPM    := $(shell command -v npm 2>/dev/null)
NODE_STAMP := node_modules/.installed-$(shell cat package.json package-lock.json | cksum | cut -d' ' -f1)

.PHONY: setup node-tools browser demo test lint serve serve-azurite bench clean

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

# Playwright (requirements-dev.txt) drives this Chromium; it never downloads a browser of its own.
CHROMIUM := $(firstword $(wildcard /usr/bin/chromium /usr/bin/chromium-browser))
browser:
ifeq ($(CHROMIUM),)
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "setup: installing Debian's chromium for the dashboard's browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium) \
	    >/dev/null 2>&1 || echo "setup: chromium could not be installed; the browser tests will be skipped"; \
	else \
	  echo "setup: no chromium and no apt-get as root: the dashboard's browser tests will be skipped" \
	       "(install Debian's chromium package, or set RUNBRIDGE_CHROMIUM to a Chromium binary)"; \
	fi
else
	@true
endif

demo: setup
	$(BIN)/python -m demo

test: setup browser
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: setup
	$(BIN)/ruff check .

serve: setup
	@echo "dashboard: http://127.0.0.1:7071/api/dashboard"
	$(BIN)/python -m devhost serve --simulate --event-sinks

serve-azurite: setup
	$(BIN)/python -m devhost serve --simulate --event-sinks --azurite

bench: setup
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .devhost .pytest_cache .ruff_cache node_modules
