# fastws: every task starts from a fresh machine; the venv is made on first use.
# `make test`  builds the compiled backend (a failure is fatal), runs the suite on
#              both backends, then again with FASTWS_NO_EXTENSIONS=1 (pure only).
# `make bench` runs the kernel benchmarks beside the peers and prints the table.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
PYTEST_ARGS ?=

.PHONY: all venv build dev test test-c test-pure wheel wheel-test bench lint typecheck clean

all: test

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -U pip "setuptools>=68" "Cython>=3.0.10,<4" wheel

venv: $(PY)

# Editable install: the extensions are compiled in place into fastws_c/.
build: $(PY)
	FASTWS_REQUIRE_EXTENSIONS=1 $(PIP) install --no-build-isolation -e '.[test]'
	$(PY) -c "import fastws, fastws._backend as b; assert b.backend == 'c', b.backend; print('fastws backend:', b.backend)"

dev: build
	$(PIP) install -e '.[test,bench,dev]' --no-build-isolation

test: build test-c test-pure

test-c:
	$(PY) -m pytest $(PYTEST_ARGS)

test-pure:
	FASTWS_NO_EXTENSIONS=1 $(PY) -m pytest $(PYTEST_ARGS)

# The wheel, installed into a fresh venv, tested as an installed package
# (run from outside the source tree so `import fastws` cannot pick up ./fastws).
wheel: $(PY)
	rm -rf dist && FASTWS_REQUIRE_EXTENSIONS=1 $(PY) -m pip wheel --no-deps --no-build-isolation -w dist . -q

wheel-test: wheel
	rm -rf build/wheel-venv && $(PYTHON) -m venv build/wheel-venv
	build/wheel-venv/bin/python -m pip --disable-pip-version-check -q install "$$(ls dist/fastws-*.whl)[test]"
	cd build && FASTWS_EXPECT_INSTALLED=1 wheel-venv/bin/python -m pytest -p no:cacheprovider -c ../pyproject.toml --rootdir=.. ../tests -q $(PYTEST_ARGS)

bench: build
	$(PIP) install --no-build-isolation -e '.[bench]'
	$(PY) -m pytest bench -q -p no:cacheprovider -o python_files='bench_*.py' \
		--benchmark-min-time=0.05 --benchmark-max-time=0.5 --benchmark-warmup=on \
		--benchmark-json=bench/results/kernels.json $(PYTEST_ARGS)
	$(PY) bench/report.py bench/results/kernels.json --markdown bench/results/kernels.md

lint: dev
	$(VENV)/bin/ruff check fastws fastws_c tests bench setup.py
	$(VENV)/bin/mypy

clean:
	rm -rf build dist *.egg-info fastws_c/*.so fastws_c/mask.c fastws_c/accept.c fastws_c/http.c \
		fastws_c/frames.c fastws_c/utf8.c fastws_c/close.c .pytest_cache .hypothesis
