# Two entry points: `make run` and `make test`; everything else is set-up they depend on.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint bench mutate model system-deps

run: model
	$(BIN)/edgebrain run

test: model system-deps
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check edgebrain tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: model
	$(BIN)/edgebrain bench

# Not in CI: breaks each safety promise of tests/mutations/*.toml in a scratch copy and runs its tests.
mutate: model system-deps
	$(BIN)/python tests/mutate.py

model: $(STAMP)
	$(BIN)/edgebrain model fetch

# A compiler and venv for llama-cpp-python's source build, PortAudio for the microphone, and what the
# tests use: the Mosquitto broker they start, espeak-ng and sox for speech, systemd-analyze for the unit,
# openssl for test certificates, chromium and its driver for the web console; installed only when missing.
system-deps:
	@export PATH="$$PATH:/usr/sbin:/sbin"; \
	if ! command -v g++ >/dev/null || ! $(PYTHON) -c "import ensurepip" 2>/dev/null \
		|| ! command -v mosquitto >/dev/null || ! command -v espeak-ng >/dev/null \
		|| ! command -v sox >/dev/null || ! command -v systemd-analyze >/dev/null \
		|| ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
		|| ! ldconfig -p 2>/dev/null | grep -q libportaudio; then \
		$(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q build-essential python3-venv python3-dev \
			mosquitto mosquitto-clients espeak-ng sox libportaudio2 systemd openssl chromium chromium-driver; \
	fi

$(STAMP): pyproject.toml | system-deps
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -e ".[dev]"
	touch $(STAMP)
