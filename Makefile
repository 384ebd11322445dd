# Two commands do all the set-up on a fresh machine:
#   make demo   creates .venv, installs optdyn, runs the headline demo (PNG + netCDF in demo_output/)
#   make test   installs the test extras and runs the default suite (slow checks skipped)
#               and the strict build of the documentation site
#   make docs   installs the docs extras and builds the site (mkdocs, --strict) into site/
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
# a broken link, a missing page or a docstring that does not render fails the build
MKDOCS := NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

.PHONY: demo test test-slow lint docs bench install clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -e ".[test]"
	touch $@

$(VENV)/.installed-docs: $(VENV)/.installed
	$(PIP) install -e ".[docs]"
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/optdyn demo --out demo_output

test: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(MKDOCS)
	$(PY) -m pytest -m "not slow" -q -n 2

test-slow: $(VENV)/.installed-test
	$(PY) -m pytest -m slow -q

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

docs: $(VENV)/.installed-docs
	$(MKDOCS)

bench: $(VENV)/.installed
	$(PY) benchmarks/bench_theory.py
	$(PY) benchmarks/bench_simulate.py
	$(PY) benchmarks/bench_phases.py
	$(PY) benchmarks/bench_latency.py

clean:
	rm -rf $(VENV) demo_output site
