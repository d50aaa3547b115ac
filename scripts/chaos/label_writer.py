"""Run inside a manager machine: node label adds through the local socket for SECONDS, one
JSON line per write (key, node, outcome, when it started and ended), to OUT or stdout, as a
client logs its acknowledgements. Label keys are PREFIX-N (default "chaos"). Used by
bench/chaos.py and tests/integration/test_swarm.py.

    python label_writer.py SECONDS [OUT [PREFIX]]
"""

import json
import sys
import time

from swarmlet.client import Client

seconds = float(sys.argv[1])
out = open(sys.argv[2], "w", buffering=1) if len(sys.argv) > 2 else sys.stdout  # noqa: SIM115
prefix = sys.argv[3] if len(sys.argv) > 3 else "chaos"
client, end, n = Client(timeout=3), time.time() + seconds, 0
node = client.get("/info")["Swarm"]["NodeID"]
while time.time() < end:
    n += 1
    key, started = f"{prefix}-{n}", time.time()
    try:
        current = client.get(f"/nodes/{node}")
        labels = {**(current["Spec"].get("Labels") or {}), key: "1"}
        client.post(f"/nodes/{node}/update", dict(current["Spec"], Labels=labels),
                    version=current["Version"]["Index"])
        outcome = "ack"
    except Exception as err:  # every failure is an outcome to log
        outcome, client = f"failed: {err}", Client(timeout=3)
        time.sleep(0.1)
    print(json.dumps({"key": key, "node": node, "outcome": outcome, "started": started,
                      "ended": time.time()}), file=out, flush=True)
    time.sleep(0.02)
