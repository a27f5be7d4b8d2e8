# Every target runs inside .venv, created on first use, so that `make demo` and
# `make test` are each one command on a fresh machine with Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# Stamp written after a successful install; reinstalls when pyproject.toml changes.
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench wheel clean shipped-model

install: $(STAMP)

# pip, not poetry, installs: poetry.lock records the resolution, pip needs nothing else.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e ".[train,serve,ui,dev,ray]"
	touch $(STAMP)

# Starts from an empty folder so that the 20 captchas of seed 123 are all there is.
demo: $(STAMP)
	rm -rf data/demo
	$(BIN)/python model.py generate --out data/demo --count 20 --seed 123
	$(BIN)/python model.py predict --dataset data/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Lint and format check (ruff, configured in pyproject.toml); CI runs it before the tests.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(STAMP)
	$(BIN)/python bench/benchmark.py

wheel: $(STAMP)
	$(BIN)/python -m pip wheel --no-deps -w dist .

clean:
	rm -rf $(VENV) dist build

# The shipped model, from scratch: captchas made with the public generator's
# assets (kept outside the project, never committed), a quarter of them mixed
# with the project's own procedural background and Liberation Sans.
SEED_ASSETS ?= ../shared/datasets/seed-generator
shipped-model: $(STAMP)
	rm -rf data/train-shipped
	$(BIN)/python model.py generate --out data/train-shipped --count 6000 --seed 11 \
		--background $(SEED_ASSETS)/base-img.png --font $(SEED_ASSETS)/arial.ttf
	$(BIN)/python model.py generate --out data/train-shipped --count 2000 --seed 12 \
		--background $(SEED_ASSETS)/base-img.png --font $(SEED_ASSETS)/arial.ttf --mix-builtin
	$(BIN)/python model.py train --dataset data/train-shipped --model-dir captcha_solver/shipped_model
	# Side bearings of the seed font alone: the Liberation Sans quarter would blur them.
	rm -rf data/bearings-shipped
	$(BIN)/python model.py generate --out data/bearings-shipped --count 4000 --seed 11 \
		--background $(SEED_ASSETS)/base-img.png --font $(SEED_ASSETS)/arial.ttf
	$(BIN)/python model.py fit-bearings --dataset data/bearings-shipped --model-dir captcha_solver/shipped_model
