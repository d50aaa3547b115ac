"""What a worker's agent loads (bench/agent_idle.py measures its memory): the daemon as it
starts, before any swarm role, has not imported the manager's parts, the crypto library,
the docker SDK with requests, nor pyroute2's whole library; each still loads when it is
used (a worker's key and CSR: tests/unit/test_ca_csr.py)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# Loaded only by a manager (node/swarm.py), by nobody in the agent, or on first use.
NOT_IN_A_WORKER = ["swarmlet.manager.manager", "swarmlet.manager.loops",
                   "swarmlet.manager.dispatcher.dispatcher", "swarmlet.manager.controlapi.nodes",
                   "swarmlet.store.raft", "pysyncobj", "cryptography", "docker", "requests",
                   "urllib3", "charset_normalizer", "pyroute2.ndb.main", "pyroute2.ipdb",
                   "yaml"]  # yaml: only to read a config file (none here)


def run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_a_new_agent_has_not_loaded_what_only_managers_or_nobody_use(tmp_path):
    out = run(f"""
        import sys
        from pathlib import Path
        from swarmlet.daemon.daemon import Daemon
        from swarmlet.node.config import Config
        from swarmlet.net.pyroute import package_initialised

        Daemon(Config(data_dir=Path({str(tmp_path)!r}), socket=Path({str(tmp_path)!r}) / "s"))
        print([m for m in {NOT_IN_A_WORKER!r} if m in sys.modules])
        print(package_initialised())
    """)
    assert out.split("\n")[:2] == ["[]", "False"]


def test_the_manager_parts_still_load_when_a_node_becomes_one():
    out = run("""
        import socket
        import swarmlet.daemon.daemon
        from swarmlet.node.swarm import _raft_store
        from swarmlet.net.pyroute import IPRoute
        import pyroute2.netlink as netlink

        print(_raft_store().__name__)
        print(netlink.inet_ntop(socket.AF_INET, bytes([10, 0, 1, 5])))  # pysyncobj's damage
        print(socket.inet_ntop(socket.AF_INET, bytes([10, 0, 1, 6])))  # mended at once
    """)
    assert out.split() == ["RaftStore", "10.0.1.5", "10.0.1.6"]


def test_pyroute2_names_its_own_init_defines_still_import():
    out = run("""
        from swarmlet.net.pyroute import IPRoute, package_initialised
        print(package_initialised())
        from pyroute2 import NDB, IPRoute as Full
        print(package_initialised(), Full is IPRoute, NDB.__name__)
    """)
    assert out.split() == ["False", "True", "True", "NDB"]
