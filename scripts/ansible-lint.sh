#!/usr/bin/env bash
# ansible-lint's production profile on the swarmlet.swarm collection as users get it: the
# artifact `ansible-galaxy collection build` makes (galaxy.yml's build_ignore decides what
# ships), unpacked into a directory of its own, with galaxy.yml beside it (the artifact carries
# it as MANIFEST.json; the galaxy[...] rules read galaxy.yml). Not the checkout: its tests and
# tooling do not ship, and collections/ links back to the root, a loop for ansible-lint's walk.
#
#   scripts/ansible-lint.sh            exit 0 when there is no finding
#   scripts/ansible-lint.sh -f pep8    extra arguments go to ansible-lint
#
# Offline: --offline stops ansible-lint installing requirements and refreshing its schemas,
# and the collection has no dependencies to install.
#
# Environment: VENV (default .venv). The work directory is a fresh temporary one, removed at
# the end: several checkouts may lint at once.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
WORK=$(mktemp -d /tmp/swarmlet-lint.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
DEST=$WORK/ansible_collections/swarmlet/swarm

[ -x "$VENV/bin/ansible-lint" ] || {
  echo "ansible-lint: $VENV/bin/ansible-lint not found: run scripts/setup.sh first" >&2
  exit 2
}
mkdir -p "$WORK/dist" "$DEST"
"$VENV/bin/ansible-galaxy" collection build --force --output-path "$WORK/dist" "$ROOT" >/dev/null
tar -xzf "$WORK"/dist/swarmlet-swarm-*.tar.gz -C "$DEST"
cp galaxy.yml "$DEST/"

# ansible-lint runs ansible-playbook --syntax-check (from .venv), which must find swarmlet.swarm
# (the role in site.yml, the modules): the unpacked artifact is already at
# WORK/ansible_collections/swarmlet/swarm.
cd "$DEST"
ANSIBLE_COLLECTIONS_PATH=$WORK PATH=$VENV/bin:$PATH "$VENV/bin/ansible-lint" --offline --profile production --nocolor "$@"
