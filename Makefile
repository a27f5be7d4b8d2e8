# Every target runs inside .venv, created on first use, so that `make demo` and
# `make test` are each one command on a fresh machine with Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Stamp written after a successful install; reinstalls when pyproject.toml changes.
STAMP := $(VENV)/.installed

.PHONY: install demo test bench wheel clean

install: $(STAMP)

# pip, not poetry, installs: poetry.lock records the resolution, pip needs nothing else.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e ".[train,dev]"
	touch $(STAMP)

# Starts from an empty folder so that the 20 captchas of seed 123 are all there is.
demo: $(STAMP)
	rm -rf data/demo
	$(BIN)/python model.py generate --out data/demo --count 20 --seed 123
	$(BIN)/python model.py predict --dataset data/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/benchmark.py

wheel: $(STAMP)
	$(BIN)/python -m pip wheel --no-deps -w dist .

clean:
	rm -rf $(VENV) dist build
