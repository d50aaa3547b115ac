"""Run on a machine: call a manager's cluster API the way another node would.

    python tls_probe.py MANAGER_ADDR METHOD PATH [--no-cert] [--certs DIR]

Prints the HTTP status and the answer's message (or "ok"): with the node's own certificate
from /var/lib/swarmlet/certificates (or a copy of them in DIR), or with none (only trusting
the CA).
"""

import json
import sys
from pathlib import Path

from swarmlet.ca.tls import client_context
from swarmlet.client import ApiResponseError, Client

CERTS = Path("/var/lib/swarmlet/certificates")


def manager_key_password(certs: Path) -> bytes | None:
    """A manager's node key is encrypted: root opens the manager's keys with its KEK file, as
    the agent does at start (node/keys.py)."""
    if b"ENCRYPTED" not in (certs / "swarm-node.key").read_bytes()[:40]:
        return None
    from swarmlet.ca.kek import KekFile
    from swarmlet.ca.node_state import NodeFiles
    from swarmlet.node.keys import LocalKeys

    files = NodeFiles(certs.parent)
    LocalKeys(files, KekFile(Path("/etc/swarmlet/swarm.kek"))).open()
    return files.node_key_password


def main() -> None:
    addr, method, path = sys.argv[1:4]
    no_cert = "--no-cert" in sys.argv
    certs = Path(sys.argv[sys.argv.index("--certs") + 1]) if "--certs" in sys.argv else CERTS
    ca_pem = (certs / "swarm-root-ca.crt").read_bytes()
    context = client_context(None if no_cert else certs, ca_pem, manager_key_password(certs))
    try:
        Client(f"tcp://{addr}", tls_context=context).request(method, path, body={})
        print(json.dumps({"status": 200, "message": "ok"}))
    except ApiResponseError as exc:
        print(json.dumps({"status": exc.status, "message": str(exc)}))


if __name__ == "__main__":
    main()
