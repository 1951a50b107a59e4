# kaminario.k2 developer and CI entry points. `make test` runs everything CI checks.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
BUILD := $(CURDIR)/build
# ansible-test insists on a real (not symlinked) .../ansible_collections/kaminario/k2 directory, and
# lists files with git when it sits inside a checkout: so the copy lives outside this one.
TREE := $(or $(TMPDIR),/tmp)/kaminario-k2-tree-$(shell printf %s "$(CURDIR)" | cksum | cut -d' ' -f1)
COLL := $(TREE)/ansible_collections/kaminario/k2
STAMP := $(VENV)/.installed
# The oldest supported ansible-core (requirements-oldest.txt) in its own venv. Its controller runs on
# Python 3.10 to 3.12: the first of OLDEST_PYTHONS that is one. Candidates: python3, then python3.12 to
# 3.10 on the PATH (a pyenv shim without that version selected fails the check), then the versions pyenv
# has installed. None there: the -oldest stages say so in one line and count as skipped, never as passed.
OLDEST_VENV := .venv-oldest
OLDEST_BIN := $(CURDIR)/$(OLDEST_VENV)/bin
OLDEST_STAMP := $(OLDEST_VENV)/.installed
PYENV_VERSIONS := $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions
OLDEST_PYTHONS ?= $(PYTHON) python3.12 python3.11 python3.10 \
    $(sort $(wildcard $(PYENV_VERSIONS)/3.12.*/bin/python3 $(PYENV_VERSIONS)/3.11.*/bin/python3 $(PYENV_VERSIONS)/3.10.*/bin/python3))
OLDEST_PYTHON := $(shell for p in $(OLDEST_PYTHONS); do \
    $$p -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))' >/dev/null 2>&1 && { echo $$p; break; }; done)
OLDEST_MISSING = no Python 3.10 to 3.12 for ansible-core 2.16 (tried: $(OLDEST_PYTHONS))
# The integration suite on every core: each xdist worker starts its own simulator on free ports; tests
# marked fixed_ports share one xdist group (one worker), and those marked newest stay out of the oldest pass.
XDIST ?= -n auto --dist loadgroup --durations=25
# Tools call each other by name (antsibull-docs runs `ansible-doc`): the venv's come first.
export PATH := $(BIN):$(PATH)

.PHONY: test venv venv-oldest tree sanity lint units units-oldest simulator integration integration-oldest \
    build docs demo bench mutation clean

test: venv
	@bash tools/run-stages.sh sanity lint units units-oldest simulator integration integration-oldest build

venv: $(STAMP)

$(STAMP): requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

venv-oldest:
ifeq ($(OLDEST_PYTHON),)
	@echo "SKIPPED $@: $(OLDEST_MISSING)"
else
	@$(MAKE) --no-print-directory $(OLDEST_STAMP)
endif

$(OLDEST_STAMP): requirements-oldest.txt
	$(OLDEST_PYTHON) -m venv $(OLDEST_VENV)
	$(OLDEST_BIN)/pip install --quiet --disable-pip-version-check -r requirements-oldest.txt
	@touch $@

# A stage that cannot run here prints one SKIPPED line; tools/run-stages.sh counts it as skipped.
define skip_stage
@echo "SKIPPED $@: $(1)"; if [ -n "$${K2_STAGE_SKIPPED:-}" ]; then echo "$(1)" > "$$K2_STAGE_SKIPPED"; fi
endef

# A fresh copy of the checkout inside an ansible_collections tree: the files git sees (tracked, or new and
# not ignored), so leftovers of earlier runs (.hypothesis, reports, venvs) never reach sanity or lint.
# Outside a git checkout (an unpacked archive) everything but venvs and generated output is copied.
tree: venv
	rm -rf $(TREE) && mkdir -p $(COLL)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	    git ls-files -z --cached --others --exclude-standard \
	        | tar --null --ignore-failed-read -T - -cf - ; \
	else \
	    tar --exclude='./.venv*' --exclude=./build --exclude=./.git --exclude='__pycache__' \
	        --exclude=./.hypothesis --exclude=./tests/output -cf - . ; \
	fi | tar -xf - -C $(COLL)

sanity: tree
	bash tools/ansible-test-pip.sh "$(BIN)"
	cd $(COLL) && $(BIN)/ansible-test sanity --color no \
	    --python $$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')

lint: tree
	cd $(COLL) && ANSIBLE_COLLECTIONS_PATH=$(TREE) $(BIN)/ansible-lint --offline
	cd $(COLL) && ANSIBLE_COLLECTIONS_PATH=$(TREE) $(BIN)/antsibull-docs lint-collection-docs --plugin-docs .
	$(BIN)/antsibull-changelog lint

units: venv
	$(BIN)/pytest tests/unit

units-oldest: venv-oldest
ifeq ($(OLDEST_PYTHON),)
	$(call skip_stage,$(OLDEST_MISSING))
else
	$(OLDEST_BIN)/pytest tests/unit
endif

simulator: venv
	$(BIN)/pytest tests/simulator/tests

integration: venv
	$(BIN)/pytest $(XDIST) tests/integration

integration-oldest: venv-oldest
ifeq ($(OLDEST_PYTHON),)
	$(call skip_stage,$(OLDEST_MISSING))
else
	$(OLDEST_BIN)/pytest $(XDIST) -m "not newest" tests/integration
endif

# The release check: build the tarball, install it into an empty path, and from that copy only render
# every module, filter and role with ansible-doc and apply kaminario.k2.topology to the simulator.
build: venv
	rm -rf $(BUILD)/dist $(BUILD)/installed && mkdir -p $(BUILD)/dist $(BUILD)/installed
	$(BIN)/ansible-galaxy collection build --output-path $(BUILD)/dist .
	$(BIN)/ansible-galaxy collection install --offline -p $(BUILD)/installed $(BUILD)/dist/kaminario-k2-*.tar.gz
	$(BIN)/python tools/release_check.py $(BUILD)/installed

# The HTML docs from the plugins' and roles' own documentation and docs/docsite (build/docs/build/html).
docs: tree
	ANSIBLE_COLLECTIONS_PATH=$(TREE) bash tools/build-docs.sh $(BUILD)/docs
	@echo "docs: $(BUILD)/docs/build/html/index.html"

# The first run: the two-array simulator, the example topology applied, drift, failover and failback.
demo: venv
	@$(BIN)/python tools/demo.py

# Every benchmark under tests/benchmarks, each writing its figures as JSON under build/bench/. They print
# ratios and never fail on a time; not part of `make test` (minutes of a 2-core machine).
bench: venv
	mkdir -p $(BUILD)/bench
	$(BIN)/python tests/benchmarks/bench_simulator.py --json $(BUILD)/bench/simulator.json
	$(BIN)/python tests/benchmarks/bench_info.py --json $(BUILD)/bench/info.json
	$(BIN)/python tests/benchmarks/bench_topology.py --json $(BUILD)/bench/topology.json
	$(BIN)/python tests/benchmarks/bench_requests.py --json $(BUILD)/bench/requests.json
	$(BIN)/python tests/benchmarks/bench_roles.py --json $(BUILD)/bench/roles.json
	$(BIN)/python tests/benchmarks/bench_summary.py --folder $(BUILD)/bench

# Mutation testing of plugins/module_utils and plugins/plugin_utils (not part of `make test`): a score per file, two jobs at
# once. Every file takes hours on 2 cores (pair_planner.py alone: 26 min, dr.py 70 min, beside make test); FILES=x.py limits it.
# cosmic-ray comes from requirements-mutation.txt, installed here on demand.
mutation: venv
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-mutation.txt
	nice -n 15 $(BIN)/python tools/mutation/run.py $(FILES)

clean:
	rm -rf $(BUILD) $(TREE) $(VENV) $(OLDEST_VENV) tests/output
