# The two commands: `make demo` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
VAR    := var
# The demo keeps its database and its own generated keys under var/ (never committed); every
# command reads a key it is not given from there (docs/configuration.md).
KEYS     := $(VAR)/secret_key $(VAR)/pii_key $(VAR)/audit_key
DEMO_ENV := JINGWANG_VAR_DIR=$(abspath $(VAR))
PYTEST_ARGS ?=

.PHONY: demo test serve lint messages clean bench

$(BIN)/jingwang: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# Each key is made once, readable by its owner only, and never overwritten (O_EXCL): a new
# personal-data or audit key would make what was written under the old one unreadable.
$(KEYS):
	mkdir -p $(VAR)
	$(PYTHON) -c "import os, secrets; fd = os.open('$@', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600); \
		os.write(fd, secrets.token_hex(32).encode())"

messages: $(BIN)/jingwang
	JINGWANG_INSECURE_DEV_KEYS=1 $(BIN)/jingwang compile-messages

demo: $(BIN)/jingwang $(KEYS) messages
	$(DEMO_ENV) $(BIN)/jingwang migrate --noinput -v 0
	$(DEMO_ENV) $(BIN)/jingwang demo
	$(DEMO_ENV) $(BIN)/jingwang serve

test: $(BIN)/jingwang messages
	$(BIN)/python -m pytest -n 2 -q $(PYTEST_ARGS)

lint: $(BIN)/jingwang
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	JINGWANG_INSECURE_DEV_KEYS=1 $(BIN)/mypy jingwang tests

bench: $(BIN)/jingwang
	$(BIN)/python bench/locate.py

clean:
	rm -rf $(VENV) $(VAR)
