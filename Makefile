# Two entry points on a fresh machine: `make run` (the quick experiment, end to end) and
# `make test`. Both create .venv and install requirements.txt when needed; `make test` also
# builds .venv-jax (requirements-jax.txt) for the backend tests on JAX.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The second test environment: keras + jax, no TensorFlow (tests/backend on KERAS_BACKEND=jax).
JAX_VENV ?= .venv-jax
JAX_PY := $(JAX_VENV)/bin/python
JAX_STAMP := $(JAX_VENV)/.installed

.PHONY: run test test-fast test-docs lint venvs smoke bench clean-venv

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(JAX_STAMP): requirements-jax.txt
	test -x $(JAX_PY) || $(PYTHON) -m venv $(JAX_VENV)
	$(JAX_PY) -m pip install --quiet -r requirements-jax.txt
	touch $(JAX_STAMP)

run: $(STAMP)
	$(PY) -m attention_xai run $(EXPERIMENT)

# Both environments at once: each install is mostly unpacking and waits on the disk as much
# as on a core. pip byte-compiles every module as it installs: keep it. Without it
# (--no-compile) the TensorFlow environment took 112 s instead of 183 s, but where
# PYTHONDONTWRITEBYTECODE is set (as on the CI machines) no process then caches what it
# compiles, so every test process compiled TensorFlow again: importing the stack took 37 s
# instead of 21 s, and the TensorFlow suite 924 s instead of about 800 s (2-core AVX2).
venvs:
	$(MAKE) -j2 $(STAMP) $(JAX_STAMP)

# The whole suite on TensorFlow, then the backend tests again on JAX; each run's resume
# test loads its exported model in the other environment. Two pytest workers
# (pytest-xdist) for the TensorFlow suite, each taking whole files so that a module's trained
# fixture is built once: much of a test's time there is single-threaded (tracing, imports,
# starting processes); two workers took it from about 1,350 s to 790-900 s on the 2-core AVX2
# machine. The JAX suite stays in one process: XLA already uses both cores, and two workers
# made it slower (460 s against 419 s).
XDIST ?= -n 2 --dist loadfile
test: venvs
	ATTENTION_XAI_OTHER_PYTHON=$(abspath $(JAX_PY)) $(PY) -m pytest -q $(XDIST) -m "not documented" $(PYTEST_ARGS)
	KERAS_BACKEND=jax ATTENTION_XAI_OTHER_PYTHON=$(abspath $(PY)) PYTHONPATH=$(CURDIR) \
		$(JAX_PY) -m pytest -q -p no:cacheprovider tests/backend

# The edit loop: the tests that train nothing larger than a few batches (TensorFlow only).
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow" $(PYTEST_ARGS)

# Every `python -m attention_xai` line of the README and docs/, run at smoke size (about 7
# minutes on the AVX-512 machine; tests/test_doc_commands.py says what it changes). CI runs it
# after `make test`; it is its own target so that `make test` stays the suite's time.
test-docs: $(STAMP)
	$(PY) -m pytest -q -m documented $(PYTEST_ARGS)

# ruff (pyproject.toml: pycodestyle errors and warnings, pyflakes, 120 columns); .ci/run
# runs it before the tests.
lint: $(STAMP)
	$(PY) -m ruff check attention_xai tests experiments

smoke: $(STAMP)
	$(PY) -m attention_xai run quick --smoke

bench: $(STAMP)
	$(PY) experiments/benchmarks/bench_training.py

clean-venv:
	rm -rf $(VENV) $(JAX_VENV)
