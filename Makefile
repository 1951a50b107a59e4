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
# Tools call each other by name (antsibull-docs runs `ansible-doc`): the venv's come first.
export PATH := $(BIN):$(PATH)
MODULES = $(patsubst plugins/modules/%.py,kaminario.k2.%,$(wildcard plugins/modules/*.py))

.PHONY: test venv tree sanity lint units simulator integration build demo bench mutation clean

test: venv
	@bash tools/run-stages.sh sanity lint units simulator integration build

venv: $(STAMP)

$(STAMP): requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python >= 3.11 is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

# A fresh copy of the checkout (without venv, build output and git data) inside an ansible_collections tree.
tree: venv
	rm -rf $(TREE) && mkdir -p $(COLL)
	tar --exclude=./$(VENV) --exclude=./build --exclude=./.git --exclude='__pycache__' \
	    --exclude=./tests/output -cf - . | tar -xf - -C $(COLL)

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

simulator: venv
	$(BIN)/pytest tests/simulator/tests

integration: venv
	$(BIN)/pytest tests/integration

# Build the tarball, install it into a scratch path and render every module's docs from that copy.
build: venv
	rm -rf $(BUILD)/dist $(BUILD)/installed && mkdir -p $(BUILD)/dist $(BUILD)/installed
	$(BIN)/ansible-galaxy collection build --output-path $(BUILD)/dist .
	$(BIN)/ansible-galaxy collection install -p $(BUILD)/installed $(BUILD)/dist/kaminario-k2-*.tar.gz
	@for m in $(MODULES); do \
	    ANSIBLE_COLLECTIONS_PATH=$(BUILD)/installed $(BIN)/ansible-doc $$m > /dev/null || exit 1; \
	    echo "ansible-doc $$m: ok"; \
	done

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

# Mutation testing of plugins/module_utils (not part of `make test`): a score per file. About 20 CPU
# minutes, two jobs at once (31 min measured on 2 cores also running other tests). FILES=x.py limits it.
# cosmic-ray comes from requirements-mutation.txt, installed here on demand.
mutation: venv
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-mutation.txt
	nice -n 15 $(BIN)/python tools/mutation/run.py $(FILES)

clean:
	rm -rf $(BUILD) $(TREE) $(VENV) tests/output
