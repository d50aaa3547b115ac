#!/usr/bin/env bash
# `ansible-test sanity` on the swarmlet.swarm collection as users get it: build the collection
# artifact from the checkout (galaxy.yml's build_ignore decides what ships), install that
# artifact offline into a directory of its own at .../ansible_collections/swarmlet/swarm (a
# copy: ansible-test reads the physical path and, outside git, every file under it), and run
# the sanity tests there with .venv's ansible-test, in virtual environments of its own.
#
#   scripts/ansible-sanity.sh                      every sanity test
#   scripts/ansible-sanity.sh --test validate-modules plugins/modules/swarm_node.py
#   scripts/ansible-sanity.sh --prime-venvs        only prepare the virtual environments
#
# Extra arguments go to `ansible-test sanity`. Exit status: ansible-test's (0 = all passed).
#
# The first run needs PyPI (ansible-test makes one virtual environment per sanity test under
# ~/.ansible/test/venv, and one for itself under the work directory); later runs reuse them
# and need no network. ansible-test bootstraps pip in each new environment with a script it
# downloads from a host that is not reachable here; we put a stand-in at the path where it
# caches that script (see DESIGN.md §7).
#
# Environment: SWARMLET_SANITY_DIR (work directory, default /var/tmp/swarmlet-sanity),
# SANITY_PYTHON (default 3.11, the Python of .venv), VENV (default .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${VENV:-$ROOT/.venv}
WORK=${SWARMLET_SANITY_DIR:-/var/tmp/swarmlet-sanity}
PYVER=${SANITY_PYTHON:-3.11}
DEST=$WORK/collections/ansible_collections/swarmlet/swarm
LOG=$WORK/sanity.log
start=$(date +%s)

log() { printf '==> %s\n' "$*"; }
die() { printf 'ansible-sanity: %s\n' "$*" >&2; exit 2; }

[ -x "$VENV/bin/ansible-test" ] || die "$VENV/bin/ansible-test not found: run scripts/setup.sh first"
mkdir -p "$WORK/dist"

# --- 1. build the artifact ----------------------------------------------------------------------
log "building the collection (galaxy.yml build_ignore decides what ships)"
"$ROOT/scripts/vendor-spec.sh"  # module_utils/_spec_syntax.py: the spec core's copy
rm -f "$WORK"/dist/swarmlet-swarm-*.tar.gz
"$VENV/bin/ansible-galaxy" collection build --force --output-path "$WORK/dist" "$ROOT" >/dev/null
tarball=$(ls "$WORK"/dist/swarmlet-swarm-*.tar.gz)
log "built $(basename "$tarball"): $(tar -tzf "$tarball" | grep -vc '/$') files"

# --- 2. install it offline, keeping ansible-test's own environment ------------------------------
# tests/output/.tmp/delegation holds the virtual environment `--venv` runs ansible-test in:
# keep it across reinstalls so that later runs need no network.
keep=$WORK/output.keep
rm -rf "$keep"
[ -d "$DEST/tests/output" ] && mv "$DEST/tests/output" "$keep"
ANSIBLE_GALAXY_COLLECTIONS_PATH_WARNING=false \
  "$VENV/bin/ansible-galaxy" collection install --offline --no-deps --force \
    -p "$WORK/collections" "$tarball" >/dev/null
if [ -d "$keep" ]; then
  rm -rf "$DEST/tests/output"
  mkdir -p "$DEST/tests"
  mv "$keep" "$DEST/tests/output"
  # results of the previous run must not be mistaken for this one's
  rm -rf "$DEST/tests/output/bot" "$DEST/tests/output/junit" "$DEST/tests/output/reports"
fi
log "installed at $DEST"

# --- 3. the pip bootstrap stand-in ---------------------------------------------------------------
pip_version=$("$VENV/bin/python" - "$PYVER" <<'EOF'
import sys
from types import SimpleNamespace

from ansible_test._internal.python_requirements import get_venv_packages

print(get_venv_packages(SimpleNamespace(version=sys.argv[1]))["pip"])
EOF
)
get_pip=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
# The CA bundle pip must use here (an intercepting proxy signs PyPI's certificate); empty when
# pip needs none. It is written into each new environment's pip.conf, because ansible-test
# runs pip there without our environment.
cert=${PIP_CERT:-$("$VENV/bin/python" -m pip config get global.cert 2>/dev/null || true)}
marker="# swarmlet stand-in for get-pip"
if [ ! -e "$get_pip" ] || head -1 "$get_pip" | grep -qx "$marker"; then
  mkdir -p "$(dirname "$get_pip")"
  cat > "$get_pip.tmp" <<EOF
$marker (scripts/ansible-sanity.sh writes it; delete it to use the real one)
"""Install pip $pip_version in the running virtual environment: ensurepip, then pip itself."""
import os
import subprocess
import sys

CERT = "$cert"
VERSION = "$pip_version"

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
if CERT and os.path.exists(CERT):
    with open(os.path.join(sys.prefix, "pip.conf"), "w") as conf:
        conf.write("[global]\\ncert = %s\\n" % CERT)
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"],
                      stdout=subprocess.DEVNULL)
if not any(a.startswith("pip") for a in args):
    args.append("pip==" + VERSION)
subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet"] + args)
if "--no-setuptools" in sys.argv:
    subprocess.call([sys.executable, "-m", "pip", "uninstall", "--quiet", "--yes", "setuptools"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
EOF
  mv "$get_pip.tmp" "$get_pip"
fi

# --- 4. ansible-test sanity -----------------------------------------------------------------------
log "ansible-test sanity --venv --python $PYVER $* (log: $LOG)"
set +e
(cd "$DEST" && "$VENV/bin/ansible-test" sanity --venv --python "$PYVER" --color no "$@") 2>&1 \
  | tee "$LOG"
rc=${PIPESTATUS[0]}
set -e

# --- 5. summary ------------------------------------------------------------------------------------
elapsed=$(( $(date +%s) - start ))
ran=$(grep -c '^Running sanity test "' "$LOG" || true)
# the names ansible-test lists after "FATAL: The N sanity test(s) listed below (out of M) failed"
failed=$(awk '/^FATAL: The [0-9]+ sanity test\(s\) listed below/ {on=1; next}
              on && (/^FATAL:/ || /^$/ || / /) {on=0} on {print}' "$LOG" | sort -u | xargs)
echo
echo "================ ansible-test sanity summary ================"
echo "collection: $DEST"
echo "tests run:  $ran   time: ${elapsed}s   exit: $rc"
if [ "$rc" = 0 ]; then
  echo "result:     all sanity tests that ran passed"
else
  echo "failed:     ${failed:-(see $LOG)}"
  echo "errors by file:"
  grep -oE '^ERROR: [^ :]+:[0-9]+:[0-9]+: ' "$LOG" | sed -E 's/^ERROR: ([^:]+):.*/\1/' \
    | sort | uniq -c | sort -rn | sed 's/^/  /' || true
fi
if grep -q "missing-gplv3-license" "$LOG"; then
  echo "hint:       the collection is Apache-2.0: a new module needs the line"
  echo "            'plugins/modules/NAME.py validate-modules:missing-gplv3-license # ...'"
  echo "            in tests/sanity/ignore-2.19.txt (as the others have)"
fi
# ansible-test skips its shellcheck test when that program is missing (apt-get install shellcheck).
skipped=$(grep -E '^WARNING: (Skipping|Required program|Reason)' "$LOG" | sort -u || true)
if [ -n "$skipped" ]; then
  echo "skipped:"
  while IFS= read -r line; do echo "  $line"; done <<< "$skipped"
fi
exit "$rc"
