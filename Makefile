# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: demo test test-quick conformance bench bench-peers docs lint install clean

$(STAMP): pyproject.toml setup.py constraints.txt polyro/backends/_threefry_kernel.c
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e '.[all,test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) docs/examples/demo.py

# the whole suite: unit tests, doctests and conformance (all but the full conformance run,
# `make conformance`); what CI runs
test: $(STAMP)
	$(VENV)/bin/ruff check polyro tests conformance benchmarks docs
	POLYRO_EXPECT_KERNEL=1 OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 --dist loadgroup --no-loadscope-reorder -q -m "not full" --durations=40 tests conformance --doctest-modules polyro

# the inner loop: leaves out the tests measured slow (tests/slow_tests.txt)
test-quick: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 --dist loadgroup --no-loadscope-reorder -q -m "not slow and not full" --durations=25 tests conformance --doctest-modules polyro

# the full conformance run: every catalog model and check on every backend, SBC included, with
# the report in conformance/report/; then the enumerated HMM under NUTS against Stan
conformance: $(STAMP)
	OMP_NUM_THREADS=1 $(PY) -m conformance --full
	OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 -q -m full conformance/test_enum_reference.py

bench: $(STAMP)
	$(PY) -m pip install -q -c constraints.txt asv
	cd benchmarks && ../$(VENV)/bin/asv run --environment existing:../$(PY) --quick --show-stderr

bench-peers: $(STAMP)
	$(PIP) install -q -c constraints.txt numpyro pyro-ppl
	$(PY) benchmarks/peers.py

lint: $(STAMP)
	$(VENV)/bin/ruff check polyro tests conformance benchmarks docs

clean:
	rm -rf $(VENV) build *.egg-info polyro/backends/*.so

docs: $(STAMP)
	$(PIP) install -q -c constraints.txt -e '.[docs]'
	$(VENV)/bin/mkdocs build --strict --site-dir build/site
