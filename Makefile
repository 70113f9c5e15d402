# CloudManager: `make run` starts everything, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
VENDOR := web/static/vendor
HTMX_VERSION       := 2.0.11
SWAGGER_UI_VERSION := 5.35.0

.PHONY: run test install vendor lint format bench i18n clean

run: install vendor
	$(BIN)/cloudmanager dev

test: install vendor
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "CloudManager needs Python 3.11 or newer (set PYTHON=python3.x)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable ".[test]"
	@touch $(STAMP)

# Third-party front-end files come from the npm registry at set-up and are never committed.
# Without npm the pages still work as plain forms; only htmx's smoothing is missing.
vendor: $(VENDOR)/htmx.min.js

$(VENDOR)/htmx.min.js:
	@if command -v npm >/dev/null 2>&1; then \
		tmp=$$(mktemp -d) && \
		(cd $$tmp && npm pack --silent htmx.org@$(HTMX_VERSION) swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null) && \
		mkdir -p $(VENDOR)/swagger-ui && \
		tar -xzf $$tmp/htmx.org-$(HTMX_VERSION).tgz -C $$tmp && \
		tar -xzf $$tmp/swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz -C $$tmp --transform 's,^package,swagger,' && \
		cp $$tmp/package/dist/htmx.min.js $(VENDOR)/htmx.min.js && \
		cp $$tmp/swagger/swagger-ui-bundle.js $$tmp/swagger/swagger-ui.css $(VENDOR)/swagger-ui/ && \
		rm -rf $$tmp && echo "fetched htmx $(HTMX_VERSION) and swagger-ui $(SWAGGER_UI_VERSION) into $(VENDOR)"; \
	else \
		echo "npm not found: skipping htmx (pages work as plain forms without it)"; \
	fi

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format:
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install
	$(BIN)/python -m bench.engine

# Refresh the translation template and catalogs after changing user-facing text.
i18n: install
	$(BIN)/pybabel extract -F babel.cfg --ignore-dirs ".* __pycache__" \
		-k _ -k gettext -k ngettext:1,2 -k translate:2 -k N_ -c TRANSLATORS: \
		--project CloudManager --copyright-holder "CloudManager contributors" \
		-o i18n/locales/messages.pot api web activities i18n workflows
	$(BIN)/pybabel update -i i18n/locales/messages.pot -d i18n/locales --no-fuzzy-matching

clean:
	rm -rf $(VENV) $(VENDOR) .pytest_cache .ruff_cache
