# Container Hotfix — developer entry points. `make demo` and `make test` work on a fresh
# Debian machine as root (they install and start a Docker engine when none answers).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: venv engine podman images demo test test-python test-extension test-e2e lint bench bench-quick clean dist bundle

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

venv: $(BIN)/.installed

engine:
	bash scripts/ensure-engine.sh

# tests/podman start a private Podman service of their own; installed (apt) beside the
# engine so the test run does not install it midway.
podman:
	bash scripts/ensure-podman.sh install

images: venv engine
	$(BIN)/python -m tests.images.build

demo: venv engine
	bash scripts/demo.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache
	$(BIN)/python scripts/check-function-length.py server

test-python: venv engine podman
	$(BIN)/pytest -q

# The wheel and sdist (the CLI alone: `pipx install dist/container_hotfix-*.whl`) and the
# .vsix that carries the server (client-extension/bundled/libs: pure-Python packages only).
dist: venv
	rm -rf dist
	$(BIN)/pip install -q build
	$(BIN)/python -m build --outdir dist .
	$(MAKE) bundle WHEEL="$$(ls dist/container_hotfix-*.whl)"
	cd client-extension && npm ci --no-audit --no-fund && npm run package
	cp client-extension/container-hotfix.vsix dist/

# The server into the extension: from WHEEL, or a wheel of the working tree.
bundle: venv
	rm -rf build/bundle-wheel
	[ -n "$(WHEEL)" ] || $(BIN)/pip wheel -q --no-deps -w build/bundle-wheel .
	$(BIN)/python scripts/bundle-server.py "$(if $(WHEEL),$(WHEEL),$$(ls build/bundle-wheel/*.whl))" client-extension/bundled/libs

test-extension:
	cd client-extension && npm ci --no-audit --no-fund && npm run lint && npm test

# A real VS Code (code-server) in headless Chromium, with the real server and engine.
test-e2e: venv engine
	cd client-extension && npm run e2e

# The benchmark harness in quick mode: that it runs (a case that fails fails the target);
# timings are not tests, so no speed is asserted.
test: lint test-python test-extension test-e2e bench-quick

bench: venv engine
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

bench-quick: venv engine
	$(BIN)/python -m benchmarks.run --quick

clean:
	rm -rf $(VENV) dist client-extension/node_modules client-extension/dist client-extension/bundled
