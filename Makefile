# The two commands: `make demo` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
VAR    := var
# The demo keeps its own generated keys under var/ (never committed).
DEMO_ENV := SECRET_KEY_FILE=$(VAR)/secret_key JINGWANG_PII_KEY_FILE=$(VAR)/pii_key
PYTEST_ARGS ?=

.PHONY: demo test serve lint messages clean bench

$(BIN)/jingwang: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

$(VAR)/secret_key $(VAR)/pii_key:
	mkdir -p $(VAR)
	$(PYTHON) -c "import secrets; open('$(VAR)/secret_key','w').write(secrets.token_urlsafe(50))"
	$(PYTHON) -c "import secrets; open('$(VAR)/pii_key','w').write(secrets.token_hex(32))"
	chmod 600 $(VAR)/secret_key $(VAR)/pii_key

messages: $(BIN)/jingwang
	JINGWANG_INSECURE_DEV_KEYS=1 $(BIN)/jingwang compile-messages

demo: $(BIN)/jingwang $(VAR)/secret_key $(VAR)/pii_key messages
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
