# The two commands of the README, each bootstrapping from nothing and idempotent:
#   make demo   - create .venv, install edgewhisk, Composer and redis-server, run the
#                 personal-assistant example as the Composer flow composer_flows/hierarchical.js
#   make test   - the above plus the host services the tests use (podman + runc), then pytest:
#                 the tests not marked mxnet on numpy 2 (.venv-core), the mxnet ones in .venv
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test test-fleet host lint lint-ruff lint-mypy bench-runtime image clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip wheel
	$(PY) -m pip install -q -e '.[ai,test]'
	# The placement benchmark's peer: skippy-core's pinned dependencies do not build on
	# Python 3.11 and its scheduler core needs only numpy, so it goes in without them.
	$(PY) -m pip install -q --no-deps edgerun-skippy-core==0.1.1
	touch $(STAMP)

# The proof that everything but the MXNet examples runs on numpy 2: a second venv with
# edgewhisk installed WITHOUT the `ai` extra (so without its numpy<1.24 pin) resolves numpy 2,
# and `make test` runs every test not marked `mxnet` there (the `mxnet` ones run in .venv).
# Only Python 3.11 exists on the project's machines; it is the one version CI runs.
CORE_VENV  := .venv-core
CORE_PY    := $(CORE_VENV)/bin/python
CORE_STAMP := $(CORE_VENV)/.installed-stamp

$(CORE_STAMP): setup.cfg pyproject.toml
	test -x $(CORE_PY) || $(PYTHON) -m venv $(CORE_VENV)
	$(CORE_PY) -m pip install -q --upgrade pip wheel
	$(CORE_PY) -m pip install -q -e '.[test]'
	$(CORE_PY) -m pip install -q --no-deps edgerun-skippy-core==0.1.1
	$(CORE_PY) -c 'import numpy, sys; sys.exit(None if int(numpy.__version__.split(".")[0]) >= 2 else f"numpy {numpy.__version__} resolved without the ai extra; numpy 2 expected")'
	touch $(CORE_STAMP)

# Node services the tests drive: pouchdb-server (CouchDB's HTTP API), the reference OpenWhisk
# JavaScript client and Composer. Pinned to the versions the tests were written against.
NPM_PACKAGES := pouchdb-server@4.2.0 openwhisk@3.21.9 openwhisk-composer@0.12.0 redis@3 uuid@8
NPM_STAMP    := .services/.installed-stamp

$(NPM_STAMP): Makefile
	mkdir -p .services
	npm install --prefix .services --no-audit --no-fund --loglevel=error $(NPM_PACKAGES)
	touch $(NPM_STAMP)

# Container engine for the image tests: podman with runc behind the Docker API.
host:
	bash runtime_images/host-setup.sh

demo: $(STAMP) $(NPM_STAMP)
	bash runtime_images/host-setup.sh redis-server redis-cli
	$(VENV)/bin/edgewhisk demo --flow

# Each test once: on numpy 2 (.venv-core) unless it needs MXNet, else on the ai extra (.venv).
# The fleet test is not among them (it takes minutes): `make test-fleet` runs it. Two lanes at
# once (tests/lanes.sh says why): SYSTEM_TESTS, the tests of containers, images and network
# namespaces, then the MXNet ones, beside every other test. The cluster's tests (about 3 min,
# no containers) run in the system lane only to even the lanes out.
SYSTEM_TESTS := tests/runtime tests/images tests/invoker tests/e2e tests/soak \
	tests/controller/api/test_docker_backend.py tests/cluster
test: $(STAMP) $(CORE_STAMP) host $(NPM_STAMP)
	bash tests/lanes.sh $(CORE_PY) $(PY) $(SYSTEM_TESTS)

# ansible/site.yml against three hosts booting systemd in podman containers inside the NAT
# topology's network namespaces (tests/fleet): a controller with CouchDB, two edge devices.
# About 5 minutes; the hosts' image is built on the runtime image's base (debootstrapped once).
test-fleet: $(CORE_STAMP) host $(NPM_STAMP)
	$(CORE_PY) -m pytest -m fleet tests/fleet

# Lint (CI runs it before the tests; .pre-commit-config.yaml runs the same two targets):
# ruff over every Python folder, mypy over every import package, and mypy --strict over the
# packages in MYPY_STRICT. $(wildcard) keeps folders that do not exist yet from failing it.
RUFF_DIRS := $(wildcard actions cli client devkit runtime_images controller_plugin edge_invoker \
	bench tests)
MYPY_PACKAGES := $(wildcard actions/edgewhisk actions/examples cli/edgewhisk_cli \
	client/edgewhisk_client devkit/edgewhisk_devkit runtime_images/edgewhisk_runtime \
	controller_plugin/edgewhisk_controller controller_plugin/edgewhisk_tunnel \
	controller_plugin/edgewhisk_json \
	edge_invoker/edgewhisk_invoker)
# Checked with --strict too: one folder a line (the SDK, the tunnel's wire schema, ...).
MYPY_STRICT := \
	actions/edgewhisk \
	controller_plugin/edgewhisk_tunnel \
	controller_plugin/edgewhisk_json \
	controller_plugin/edgewhisk_controller/placement

lint: lint-ruff lint-mypy

lint-ruff: $(STAMP)
	$(VENV)/bin/ruff check $(RUFF_DIRS)

# --strict keeps a cache of its own: sharing one would make each run re-check what the other did.
lint-mypy: $(STAMP)
	$(VENV)/bin/mypy $(MYPY_PACKAGES)
	$(VENV)/bin/mypy --strict --cache-dir .mypy_cache/strict $(MYPY_STRICT)

image: $(STAMP) host
	$(VENV)/bin/edgewhisk runtime image build

bench-runtime: $(STAMP)
	$(VENV)/bin/edgewhisk bench runtime

clean:
	rm -rf $(VENV) $(CORE_VENV) .build .services
