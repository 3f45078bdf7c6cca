# wslab — the two set-up commands are `make demo` and `make test`; see README.md.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CURRENT := .venv-current
CURRENT_PY := $(CURRENT)/bin/python
INSTALL_FLAGS ?= -q
# The library tests run in four worker processes, one test file per worker at a time
# (module fixtures stay shared; most tests wait on sockets, so four keep two cores busy);
# XDIST= runs them in one process.
XDIST ?= -n 4 --dist loadfile
# nbval runs two notebooks at a time, each whole on one worker. An exercise and its
# solution append to the same logs/exercise_*.log, so the solutions run after the tasks.
NBVAL_XDIST ?= -n 2 --dist loadfile
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))
TASKS := $(sort $(wildcard notebooks/exercises/*.ipynb))
SOLUTIONS := $(sort $(wildcard notebooks/exercises/solutions/*.ipynb))
EXERCISES := $(TASKS) $(SOLUTIONS)

VENDOR_JS := lib/wslab/app/static/vendor/socket.io.min.js

.PHONY: help install browser-setup demo test test-lib test-current nbval notebooks workspace lab reset bench clean

help:
	@echo "make demo      run the stack notebooks headless; executed notebooks and charts in reports/"
	@echo "make test      all tests: library, integration, notebooks (nbval), library on current pins"
	@echo "make workspace copy the notebooks into workspace/ (outputs cleared; your edits are kept)"
	@echo "make lab       JupyterLab on workspace/ at 127.0.0.1:$$PORT (default 8888); prints the URL with its token"
	@echo "make nbval     notebooks only, compared with their stored outputs"
	@echo "make notebooks re-execute the notebooks in place (refresh stored outputs)"
	@echo "make bench     benchmark scripts (print figures)"
	@echo "make reset     stop the processes the kit started, clear its Redis keys, reports/, logs/, workspace/, temp folders"

$(VENV)/.installed: pyproject.toml requirements/incident.txt requirements/tools.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "wslab needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(INSTALL_FLAGS) --upgrade pip
	$(PY) -m pip install $(INSTALL_FLAGS) -r requirements/incident.txt -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	@touch $@

$(CURRENT)/.installed: pyproject.toml requirements/current.txt requirements/tools.txt
	$(PYTHON) -m venv $(CURRENT)
	$(CURRENT_PY) -m pip install $(INSTALL_FLAGS) --upgrade pip
	$(CURRENT_PY) -m pip install $(INSTALL_FLAGS) -r requirements/current.txt -e .
	@touch $@

install: $(VENV)/.installed

# The page's Socket.IO client comes from npm (never committed). Without npm the
# browser test says so in one line and is skipped.
$(VENDOR_JS): scripts/install_socketio_client.sh
	-scripts/install_socketio_client.sh

browser-setup: install $(VENDOR_JS)
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	 { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
	   apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } || \
	 echo "no Chromium (install the 'chromium' package); the browser test will be skipped"

demo: install $(CURRENT)/.installed $(VENDOR_JS)
	$(PY) -m wslab.teach.report --out reports $(NOTEBOOKS)

test: test-lib nbval test-current

test-lib: install browser-setup $(CURRENT)/.installed
	$(PY) -m pytest -q -rfEs $(XDIST) tests

test-current: $(CURRENT)/.installed
	$(CURRENT_PY) -m pytest -q -rfEs $(XDIST) -m "not incident and not pins_independent" tests

nbval: install $(CURRENT)/.installed
	$(PY) -m pytest -q -p no:cacheprovider --nbval --nbval-current-env $(NBVAL_XDIST) \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg $(NOTEBOOKS) $(TASKS)
	$(PY) -m pytest -q -p no:cacheprovider --nbval --nbval-current-env $(NBVAL_XDIST) \
		--nbval-sanitize-with notebooks/nbval_sanitize.cfg $(SOLUTIONS)

notebooks: install $(CURRENT)/.installed
	$(PY) -m wslab.teach.report --in-place $(NOTEBOOKS) $(EXERCISES)

workspace: install
	$(PY) -m wslab.teach.workspace

# As a user or as root (it adds --allow-root); 127.0.0.1 only; PORT=N picks the port.
lab: install
	$(PY) -m wslab.teach.lab $(if $(PORT),--port $(PORT))

bench: install
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

reset: install
	$(PY) -m wslab.teach.reset

clean:
	rm -rf $(VENV) $(CURRENT) reports .pytest_cache .hypothesis .wslab
