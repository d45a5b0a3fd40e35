# nkhr_events: `make run` serves the app on http://127.0.0.1:5000; `make test` runs every test;
# `make serve` runs it in production (gunicorn and the outbox workers; needs SECRET_KEY and
# NKHR_ENCRYPTION_KEYS).
# Both set up what they need first (virtual environment, packages, translations, database).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app wsgi
HOST   ?= 127.0.0.1
PORT   ?= 5000
TRANSLATIONS := nkhr_events/translations
PO_FILES := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run serve test setup install install-test translations db lint messages clean

run: setup
	NKHR_ENV=$${NKHR_ENV:-development} NKHR_BASE_URL=$${NKHR_BASE_URL:-http://$(HOST):$(PORT)} \
		$(BIN)/python -m nkhr_events.devserver --host $(HOST) --port $(PORT)

# Production: migrate, then gunicorn (gunicorn.conf.py) and OUTBOX_WORKERS delivery workers,
# stopped together and gracefully by SIGTERM or Ctrl+C (see nkhr_events/serve.py).
serve: install translations
	@if [ -z "$$SECRET_KEY" ] && [ "$${NKHR_ENV:-production}" != development ]; then \
		echo "make serve: SECRET_KEY is not set. Export a long random value first, e.g." >&2; \
		echo "  export SECRET_KEY=\$$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')" >&2; \
		exit 1; \
	fi
	@if [ -z "$$NKHR_ENCRYPTION_KEYS" ] && [ "$${NKHR_ENV:-production}" != development ]; then \
		echo "make serve: NKHR_ENCRYPTION_KEYS is not set. Export a key first (keep it safe and out" >&2; \
		echo "of database backups: without it the needs, notes and answers cannot be read), e.g." >&2; \
		echo "  export NKHR_ENCRYPTION_KEYS=\$$($(BIN)/python -m nkhr_events.encryption)" >&2; \
		exit 1; \
	fi
	NKHR_ENV=$${NKHR_ENV:-production} $(FLASK) db upgrade
	NKHR_ENV=$${NKHR_ENV:-production} HOST=$(HOST) PORT=$(PORT) exec $(BIN)/python -m nkhr_events.serve

test: install-test translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

setup: install translations db

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

translations: install $(MO_FILES)

%.mo: %.po
	$(BIN)/pybabel compile --statistics -i $< -o $@

db: install
	NKHR_ENV=$${NKHR_ENV:-development} $(FLASK) db upgrade
	NKHR_ENV=$${NKHR_ENV:-development} $(FLASK) history import
	NKHR_ENV=$${NKHR_ENV:-development} $(FLASK) staff bootstrap

# Style (ruff), the layer contracts (import-linter) and types (mypy); see pyproject.toml.
lint: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy nkhr_events

# Re-extract the strings and merge them into the catalogues (then translate the new ones).
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 --no-location \
		--sort-output -o $(TRANSLATIONS)/messages.pot .
	$(BIN)/pybabel update -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS) --no-fuzzy-matching \
		--ignore-obsolete

clean:
	rm -rf $(VENV) $(MO_FILES)
