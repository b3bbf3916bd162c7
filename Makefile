# Two entry points: `make run` and `make test`; everything else is set-up they depend on.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench model system-deps

run: model
	$(BIN)/edgebrain run

test: model system-deps
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check edgebrain tests
	$(BIN)/mypy

bench: model
	$(BIN)/edgebrain bench

model: $(STAMP)
	$(BIN)/edgebrain model fetch

# A compiler and venv for llama-cpp-python's source build, and the Mosquitto broker the tests start;
# installed only when missing.
system-deps:
	@if ! command -v g++ >/dev/null || ! $(PYTHON) -c "import ensurepip" 2>/dev/null \
		|| ! PATH="$$PATH:/usr/sbin" command -v mosquitto >/dev/null; then \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q build-essential python3-venv python3-dev \
			mosquitto mosquitto-clients; \
	fi

$(STAMP): pyproject.toml | system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -e ".[dev]"
	touch $(STAMP)
