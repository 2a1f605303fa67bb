# The two commands: `make demo` and `make test`. Both create/refresh .venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test venv lint typecheck unit bench catalogue clean demo-tenant teams-package

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	@$(VENV)/bin/smime-doctor demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(STAMP)
	$(VENV)/bin/mypy bot handlers workers

unit: $(STAMP)
	$(PY) -m pytest -q

test: lint typecheck unit

demo-tenant: $(STAMP)
	$(PY) scripts/make_demo_tenant.py

bench: $(STAMP)
	$(PY) bench/audit_throughput.py
	$(PY) bench/chat_latency.py
	$(PY) bench/slack_ack.py
	$(PY) bench/live_diagnose.py

catalogue: $(STAMP)
	$(PY) scripts/gen_catalogue.py --write README.md

teams-package: $(STAMP)
	$(PY) scripts/teams_package.py --app-id "$$MICROSOFT_APP_ID" --out dist/smime-doctor-teams.zip

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
