# Two entry points on a fresh machine: `make run` (the quick experiment, end to end) and
# `make test`. Both create .venv and install requirements.txt when needed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test smoke bench clean-venv

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m attention_xai run $(EXPERIMENT)

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

smoke: $(STAMP)
	$(PY) -m attention_xai run quick --smoke

bench: $(STAMP)
	$(PY) experiments/bench_training.py

clean-venv:
	rm -rf $(VENV)
