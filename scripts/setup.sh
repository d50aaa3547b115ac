#!/usr/bin/env bash
# One-shot setup for a fresh Debian 12 machine, as root, with or without systemd.
# Idempotent: run it as often as you like; it only does what is missing.
#   1. Debian packages (docker.io, busybox-static, nftables, iproute2, openssh-server, curl,
#      fuse3 + libfuse3-3 for the local machines' power-cut filesystem); docker.io is also
#      the docker CLI (20.10) the Engine API tests drive (a newer one at
#      /usr/local/bin/docker is optional: tests/integration/engine_cluster.py); chromium
#      for the visualizer's browser test (tests/integration/test_visualizer.py)
#   2. dockerd running (started by hand when there is no service manager)
#   3. .venv with the agent and the test tools
#   4. the local test image swarmlet/demo:latest
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '==> %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { echo "setup: run as root (it installs packages and starts dockerd)" >&2; exit 1; }

# --- 1. Debian packages -------------------------------------------------------------------
packages=(docker.io busybox-static nftables iproute2 iptables openssh-server openssh-client curl
          util-linux python3-venv shellcheck fuse3 libfuse3-3
          chromium)  # chromium: the visualizer's browser test (Playwright drives it)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  # Keep package scripts from starting daemons (sshd on every address, dockerd): we start
  # what we need ourselves. Only add the policy file when the machine has none, and only
  # remove the one we added.
  added_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  trap '[ -n "$added_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- 2. dockerd -----------------------------------------------------------------------------
scripts/start-dockerd.sh

# --- 3. the venv ------------------------------------------------------------------------------
# Reinstall only when the dependency list changed (stamp = hash of pyproject.toml).
python=${PYTHON:-python3}
stamp_want=$(sha256sum agent/pyproject.toml | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.swarmlet-stamp 2>/dev/null)" != "$stamp_want" ]; then
  log "creating .venv with the agent and test dependencies"
  [ -x .venv/bin/python ] || "$python" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e 'agent[test,machine]'
  echo "$stamp_want" > .venv/.swarmlet-stamp
fi

# --- 4. the test image ------------------------------------------------------------------------
images/demo/build.sh
log "setup done"
