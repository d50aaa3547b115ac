#!/usr/bin/env bash
# The agent's wheels for the Ansible role: the swarmlet wheel of this checkout and its
# dependencies' wheels in dist/wheels, packed into dist/swarmlet-wheels.tar and copied to
# roles/agent/files/swarmlet-wheels.tar, the role's default agent_wheels, which
# `ansible-galaxy collection build` puts into the artifact (scripts/build-collection.sh).
# One file to copy; hosts then install with no index.
# Reproducible: a rebuild of unchanged sources gives the same bytes (SOURCE_DATE_EPOCH), so
# the role copies, reinstalls and restarts only when the code changed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=dist/wheels
mkdir -p "$out"
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 315532800)}
rm -f "$out"/swarmlet-*.whl
.venv/bin/python -m pip wheel --quiet --disable-pip-version-check --wheel-dir "$out" ./agent \
  2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
tar --create --file dist/swarmlet-wheels.tar --directory "$out" --sort=name \
  --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner --mode=u=rwX,go=rX .
cp dist/swarmlet-wheels.tar roles/agent/files/swarmlet-wheels.tar
echo "==> agent wheels: dist/swarmlet-wheels.tar, roles/agent/files/ ($(ls "$out" | wc -l) wheels)"
