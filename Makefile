# fastws: every task starts from a fresh machine; the venv is made on first use.
# `make test`  builds the compiled backend (a failure is fatal), runs the suite on
#              both backends, then again with FASTWS_NO_EXTENSIONS=1 (pure only).
# `make bench` runs the kernel benchmarks beside the peers and prints the table.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
PYTEST_ARGS ?=

.PHONY: all venv build dev test test-c test-pure wheel wheel-test bench bench-e2e lint typecheck demo clean asan-test fuzz

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
	mkdir -p bench/results
	$(PY) -m pytest bench -q -p no:cacheprovider -o python_files='bench_*.py' \
		--benchmark-min-time=0.05 --benchmark-max-time=0.5 --benchmark-warmup=on \
		--benchmark-json=bench/results/kernels.json $(PYTEST_ARGS)
	$(PY) bench/report.py bench/results/kernels.json --markdown bench/results/kernels.md
	$(MAKE) bench-e2e

# End-to-end: echo servers and clients against the peers, TCP/TLS, both loops,
# uvicorn, compression, memory -> bench/results/e2e.{md,json,png} (~10 min;
# E2E_ARGS=--quick: a subset in under a minute).
bench-e2e: build
	$(PIP) install --no-build-isolation -e '.[bench]'
	$(PY) bench/e2e/run.py $(E2E_ARGS)

# `make demo`: build, start `fastws serve --echo` on a free port, send it two
# messages with `fastws -v` in pipe mode (the handshake shown as curl -v shows
# it, the echoes as "< ..."), then stop the server with SIGINT.
demo: build
	@log=$$(mktemp); \
	echo '$$ fastws serve --echo --port 0 &'; \
	$(PY) -m fastws serve --echo --port 0 >$$log & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; rm -f $$log' EXIT; \
	i=0; until grep -q '^listening on ' $$log; do \
		i=$$((i + 1)); \
		if [ $$i -gt 100 ] || ! kill -0 $$pid 2>/dev/null; then \
			echo 'fastws serve did not start' >&2; exit 1; fi; \
		sleep 0.1; \
	done; \
	cat $$log; url=$$(sed -n 's/^listening on //p' $$log | head -n 1); \
	echo; printf '%s\n' "\$$ printf 'Hello, WebSocket!\\n{\"fastws\": \"demo\"}\\n' | fastws -v $$url"; \
	printf 'Hello, WebSocket!\n{"fastws": "demo"}\n' | $(PY) -m fastws -v --wait 0.5 $$url; \
	status=$$?; \
	echo; echo '$$ kill -INT %1'; kill -INT $$pid; wait $$pid; \
	echo "fastws serve stopped (exit status $$?)"; exit $$status

# Memory safety of the C kernels (tools/sanitize.py; GCC on Linux). `asan-test`
# builds them with ASan+UBSan into build/asan/ (the in-place build is untouched)
# and runs the kernel tests and the fuzz seeds under the sanitizer runtime.
# `fuzz` runs each atheris target in tests/fuzz/ for FUZZ_SECONDS, one at a time
# (FUZZ_TARGETS=frames,http,dispatch,... picks some; failing inputs: build/fuzz/artifacts/).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=

asan-test: $(PY)
	$(PY) -c "import pytest, hypothesis" 2>/dev/null || $(PIP) install "pytest>=8" "hypothesis>=6.100"
	$(PY) tools/sanitize.py test $(PYTEST_ARGS)

fuzz: $(PY)
	$(PY) -c "import atheris" 2>/dev/null || $(PIP) install atheris
	$(PY) tools/sanitize.py fuzz --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

lint: dev
	$(VENV)/bin/ruff check fastws fastws_c tests bench setup.py
	$(VENV)/bin/mypy

clean:
	rm -rf build dist *.egg-info fastws_c/*.so fastws_c/mask.c fastws_c/accept.c fastws_c/http.c \
		fastws_c/frames.c fastws_c/utf8.c fastws_c/close.c fastws_c/dispatch.c .pytest_cache .hypothesis
