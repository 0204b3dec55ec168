# Two commands set everything up on a fresh machine: `make dev` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
STAMP_DEV := $(VENV)/.installed-dev
STAMP_TEST := $(VENV)/.installed-test
CHROMIUM := /usr/bin/chromium

.PHONY: dev test check install venv clean

dev: $(STAMP_DEV)
	$(VENV)/bin/ignite-etl dev

# The package and its dependencies in .venv: what `make dev` runs on, and the container image's install step.
install: $(STAMP_DEV)

# Lint and types first (seconds), then the suite, which includes the Dagster definitions snapshot and the
# merchant pages in Debian's headless Chromium.
test: check $(CHROMIUM)
	$(VENV)/bin/pytest

check: $(STAMP_TEST)
	$(VENV)/bin/ruff check ignite_etl
	$(VENV)/bin/mypy

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ignite-etl needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

$(STAMP_DEV): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e . --config-settings editable_mode=compat
	@touch $@

$(STAMP_TEST): pyproject.toml | $(VENV)/bin/python
	$(VENV)/bin/pip install --quiet -e '.[test]' --config-settings editable_mode=compat
	@touch $@ $(STAMP_DEV)

# The browser tests need Debian's chromium; as root (CI, this machine) it is installed once, otherwise say how.
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the merchant-page browser tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null \
		|| { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium >/dev/null; }; \
	else \
		echo "the browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache
