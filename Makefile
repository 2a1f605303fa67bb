# The two commands: `make demo` and `make test`. Both create/refresh .venv first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
# Every dependency (runtime + the dev extra) pinned with hashes; `make lock` refreshes it.
LOCK   := requirements.lock
# Runtime + the kerberos extra, same pins; tests/samba/kerberos.py installs gssapi from it.
KRB_LOCK := requirements-kerberos.lock
PIP_VERSION := 26.3
UV_VERSION  := 0.13.9
UV_VENV     := $(VENV)/lock-tools
UV          := $(UV_VENV)/bin/uv
UV_STAMP    := $(UV_VENV)/.uv-$(UV_VERSION)
UV_COMPILE   = $(UV) pip compile pyproject.toml --quiet --universal --python-version 3.11 \
	--generate-hashes --custom-compile-command 'make lock'

.PHONY: demo test venv lint typecheck unit bench catalogue clean demo-tenant teams-package lock lock-upgrade

# The project itself goes in without its dependencies: they all come from $(LOCK), hash-checked.
# pip check then fails if pyproject.toml asks for something the lock does not have.
$(STAMP): $(LOCK) pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q pip==$(PIP_VERSION)
	@$(PY) -m pip install -q --require-hashes -r $(LOCK)
	@$(PY) -m pip install -q --no-deps -e .
	@$(PY) -m pip check >/dev/null || { $(PY) -m pip check; \
		echo "pip check failed: if pyproject.toml's dependencies changed, run 'make lock'" >&2; exit 1; }
	@touch $(STAMP)

venv: $(STAMP)

# Re-resolve after a dependency change in pyproject.toml, keeping every pin that still fits;
# `make lock-upgrade` moves everything to the newest allowed versions. Commit the lock files.
lock: $(UV_STAMP)
	$(UV_COMPILE) --extra dev -o $(LOCK)
	$(UV_COMPILE) --extra kerberos -c $(LOCK) -o $(KRB_LOCK)

lock-upgrade: $(UV_STAMP)
	$(UV_COMPILE) --upgrade --extra dev -o $(LOCK)
	$(UV_COMPILE) --upgrade --extra kerberos -c $(LOCK) -o $(KRB_LOCK)

$(UV_STAMP):
	@test -x $(UV_VENV)/bin/python || $(PYTHON) -m venv $(UV_VENV)
	@$(UV_VENV)/bin/python -m pip install -q uv==$(UV_VERSION)
	@touch $(UV_STAMP)

demo: $(STAMP)
	@$(VENV)/bin/smime-doctor demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

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
	$(PY) bench/understanding.py

catalogue: $(STAMP)
	$(PY) scripts/gen_catalogue.py --write docs/checks.md

teams-package: $(STAMP)
	$(PY) scripts/teams_package.py --app-id "$$MICROSOFT_APP_ID" --out dist/smime-doctor-teams.zip

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# docs/checks.md and the example configuration are generated from the code; unit tests fail when stale.
.PHONY: docs
docs: $(STAMP)
	$(PY) scripts/gen_catalogue.py --write docs/checks.md
	$(PY) scripts/gen_config.py --write deploy/smime-doctor.example.toml
