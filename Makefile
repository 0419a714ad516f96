# One entry point for users and CI. `make test` works on a fresh Debian machine with Python 3.11.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BUILD := .build
COLL_ROOT := $(BUILD)/collections
COLL_LINK := $(COLL_ROOT)/ansible_collections/ascend/mindie
BIN := $(VENV)/bin
export ANSIBLE_COLLECTIONS_PATH := $(abspath $(COLL_ROOT))
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: help venv deps collection sanity unit lint molecule test demo demo-down build clean

help:
	@echo "make demo   - bring up the simulated Atlas lab and run playbooks/site.yml on it end to end"
	@echo "make test   - set up everything and run the whole test suite (sanity, unit, lint, molecule)"
	@echo "make unit | sanity | lint | molecule - one stage"

$(BIN)/activate: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $(BIN)/activate

venv: $(BIN)/activate

# System tools the lab and the tests use (root on Debian; a no-op when already present).
deps:
	@bash tests/scripts/install-system-deps.sh
	@# the lab's Kubernetes control plane binaries (built once, ~5 min; cached under /var/cache/ascend-lab/k8s)
	@$(PYTHON) tests/lab/k8s/build.py

# The collection, as Ansible finds it: ansible_collections/ascend/mindie pointing at this checkout.
collection:
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn $(abspath .) $(COLL_LINK)

sanity: venv collection
	bash tests/scripts/sanity.sh

unit: venv collection
	$(BIN)/python -m pytest -q -rs -n 2 tests/unit

lint: venv collection
	$(BIN)/ansible-lint --profile production

molecule: venv deps collection
	bash tests/scripts/molecule-all.sh

test: venv deps collection
	$(BIN)/python tests/scripts/run_suite.py

demo: venv deps collection
	bash tests/scripts/demo.sh

demo-down: venv
	@# the lab's down also stops its Kubernetes control plane and node agents
	$(BIN)/python tests/lab/atlas_lab.py --lab-id demo down

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD)

clean:
	rm -rf $(BUILD) $(VENV)

# The AWX execution environment's build context (docs/awx/README.md): build it with podman/docker.
# ansible-builder only warns about a missing collection tarball; this target stops instead.
.PHONY: ee-context
ee-context: build
	rm -rf $(BUILD)/ee-context
	$(BIN)/ansible-builder create -f docs/awx/execution-environment.yml -c $(BUILD)/ee-context
	@test -f $(BUILD)/ee-context/_build/collections/ascend-mindie-$$(awk '/^version:/ {print $$2}' galaxy.yml).tar.gz \
	  || { echo "the collection tarball is not in $(BUILD)/ee-context: check the version in docs/awx/execution-environment.yml" >&2; exit 1; }
