# Fresh-machine entry points: `make demo` (set up + run the main job) and `make test` (set up + test).
# Each target is idempotent: the virtualenv is created once and refreshed only when the pins change.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
DEB_PKGS := libusb-1.0-0 libgl1 libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1 libopengl0 libosmesa6 \
            libvulkan1 mesa-vulkan-drivers libgomp1 chromium
SUDO    := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo test test-slow lint debs

setup: $(STAMP)

debs:
	@missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(STAMP): pyproject.toml constraints.txt | debs
	[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt torch -e '.[all,dev]'
	touch $(STAMP)

demo: setup
	$(BIN)/neurender reconstruct scenes/examples/photos/vase.png --out runs/demo
	@echo "photo -> textured mesh written to runs/demo (open runs/demo/report.png)"

test: setup
	$(BIN)/python -m pytest -q

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

lint: setup
	$(BIN)/ruff check .
