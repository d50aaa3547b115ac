#!/usr/bin/env bash
# The swarmlet.swarm collection as users get it: the agent's wheels (scripts/build-wheels.sh
# packs them into roles/agent/files/swarmlet-wheels.tar, the role's default agent_wheels),
# then `ansible-galaxy collection build` into dist/. The artifact alone installs
# the agent on hosts: no checkout, no package index.
#
#   scripts/build-collection.sh        -> dist/swarmlet-swarm-VERSION.tar.gz
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build-wheels.sh
.venv/bin/ansible-galaxy collection build --force --output-path dist . >/dev/null
artifact=$(ls -t dist/swarmlet-swarm-*.tar.gz | head -1)
echo "==> collection: $artifact ($(du -h "$artifact" | cut -f1))"
