# whosthat: two commands for a newcomer, `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
export WHOSTHAT_HOME ?= $(CURDIR)/var
export WHOSTHAT_DATA ?= $(abspath $(CURDIR)/../shared/data)
# Minivision's MiniFASNet release (the print-attack model's source weights and detector), for its tests.
export MINIFASNET_DIR ?= $(abspath $(CURDIR)/../shared/models/silent-face-anti-spoofing)

.PHONY: run test bench lint install clean e2e-deps cluster cluster-bench i18n screenshots

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[train,dev]'
	# mediapipe depends on the GUI build of OpenCV (needs libGL); keep the headless one only.
	$(PIP) uninstall -q -y opencv-contrib-python opencv-python || true
	$(PIP) install -q --force-reinstall --no-deps 'opencv-python-headless>=4.9,<4.12'
	$(PY) -c "import cv2, mediapipe, dlib, onnxruntime; print('whosthat: environment ready, OpenCV', cv2.__version__)"
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/whosthat serve --host $${HOST:-127.0.0.1} --port $${PORT:-8000}

e2e-deps:
	@test -x /usr/bin/chromium || { echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "could not install chromium: browser tests will skip"; }
	@# axe-core (WCAG checks in the browser tests) from the npm registry, the version tests/a11y locks.
	@test -d tests/a11y/node_modules || { command -v npm >/dev/null && npm ci --prefix tests/a11y --no-audit --no-fund; } \
	  || echo "npm not found: the accessibility checks will skip"

test: $(STAMP) e2e-deps
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

# A real cluster on loopback (PostgreSQL, two replicas, HAProxy) and its tests: deploy/cluster.py.
cluster: $(STAMP)
	$(PY) deploy/cluster.py test

cluster-bench: $(STAMP)
	$(PY) deploy/cluster.py bench

bench: $(STAMP)
	$(VENV)/bin/whosthat bench

# Languages (docs/languages.md): extract every marked string (Python, templates, JS; babel.cfg) and add
# the new ones, empty, to the de/it/fr catalogues; translate them there (tests/test_i18n.py says which).
POT := $(VENV)/messages.pot
i18n: $(STAMP)
	$(VENV)/bin/pybabel -q extract -F babel.cfg -k M_ -k tr:2 -k trn:2,3 --no-location --sort-output --omit-header -o $(POT) .
	$(VENV)/bin/pybabel -q update -i $(POT) -d src/whosthat/locale --omit-header --no-fuzzy-matching --ignore-obsolete --width 110

# docs/img/admin/*.png (docs/admin.md): every admin page in headless Chromium over generated data.
screenshots: $(STAMP) e2e-deps
	$(PY) tests/e2e/admin_screenshots.py --out docs/img/admin $(if $(LANG_SHOTS),--lang $(LANG_SHOTS))

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

clean:
	rm -rf $(VENV) .pytest_cache build dist src/*.egg-info
