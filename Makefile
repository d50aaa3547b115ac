# The two commands of the README: `make demo` and `make test`. Both set up what is missing
# first (Debian packages, dockerd, .venv, the test image), so either works on a fresh machine.
SHELL := /bin/bash
VENV  := .venv

.PHONY: setup test unit demo lint wheels collection sanity vendor clean-machines

setup:
	@scripts/setup.sh

test: setup
	$(VENV)/bin/pytest tests

unit: setup
	$(VENV)/bin/pytest tests/unit

demo: setup
	@scripts/demo.sh

# The agent's wheels for the Ansible role (site.yml installs them on the hosts).
wheels: setup
	@scripts/build-wheels.sh

# The collection artifact (dist/swarmlet-swarm-VERSION.tar.gz), the agent's wheels inside it
# (roles/agent/files/swarmlet-wheels.tar): what `ansible-galaxy collection install` takes.
collection: setup
	@scripts/build-collection.sh

# The spec core's standard-library slice, copied into the collection (module_utils/_spec_syntax.py).
vendor:
	@scripts/vendor-spec.sh

# ansible-test sanity on the collection as users get it (built, then installed).
sanity: setup vendor
	@scripts/ansible-sanity.sh

# The gates CI runs before the tests: ruff, the layers contract (.importlinter), the
# vendored spec syntax matching its source, ansible-lint's production profile on the
# collection as built (no findings; offline), and the changelog's fragments and file.
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	@scripts/vendor-spec.sh --check
	@scripts/ansible-lint.sh
	$(VENV)/bin/antsibull-changelog lint
	$(VENV)/bin/antsibull-changelog lint-changelog-yaml changelogs/changelog.yaml

clean-machines:
	$(VENV)/bin/swarmlet machine rm --all
