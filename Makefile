# Two commands: `make run` (set up and run the product), `make test` (set up and run the tests).
# With no DATABASE_URL both start the project-local PostgreSQL cluster (scripts/devdb.py).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEVDB := $(PY) scripts/devdb.py
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test browser promtool install db-start db-stop migrate lint test-faults bench clean

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: $(VENV)/.installed

run: install
	$(DEVDB) exec -- $(PY) manage.py serve --port $(PORT)

test: install browser promtool
	$(DEVDB) exec -- $(PY) -m pytest $(PYTEST_ARGS)

# The browser tests drive Debian's Chromium; this installs it where it can
# (as root, with apt-get) and otherwise says why those tests will skip.
browser:
	@if [ -f scripts/ensure_browser.sh ]; then bash scripts/ensure_browser.sh; fi

# The alert-rule tests run Prometheus' promtool (Debian's prometheus package); this
# installs it where it can and otherwise says why those tests will skip.
promtool:
	@bash scripts/ensure_promtool.sh

test-faults: install
	FAULTS=1 $(DEVDB) exec -- $(PY) -m pytest tests/faults $(PYTEST_ARGS)

bench: install
	@bash scripts/ensure_wrk.sh
	$(DEVDB) exec -- $(PY) bench/run.py

db-start: install
	$(DEVDB) start

db-stop:
	$(DEVDB) stop

migrate: install
	$(DEVDB) exec -- $(PY) manage.py migrate

# ruff, then mypy with the Django and DRF plugins (configured in pyproject.toml).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy .

clean:
	rm -rf $(VENV) staticfiles
