"""`ansible-test sanity` on the collection as users get it (built, installed offline): every
sanity test ansible-test has, with the ignore file tests/sanity/ignore-2.19.txt."""

from __future__ import annotations

import subprocess

from conftest import REPO


def test_ansible_test_sanity_passes() -> None:
    proc = subprocess.run([str(REPO / "scripts/ansible-sanity.sh")], cwd=REPO,
                          capture_output=True, text=True, timeout=1200,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-8000:]
