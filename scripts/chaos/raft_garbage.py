"""Run inside a machine: garbage to a Raft port HOST:PORT for SECONDS (random frames, and
frame headers announcing 64 MiB); prints the connections made and the attempts. A manager's
nftables admits only managers, so from a worker none is made. Used by bench/chaos.py and
tests/integration/test_swarm.py.

    python raft_garbage.py HOST PORT SECONDS
"""

import os
import socket
import struct
import sys
import time

host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
end, made, tried = time.time() + seconds, 0, 0
while time.time() < end:
    tried += 1
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            made += 1
            sock.sendall(struct.pack("i", 64 << 20) + os.urandom(65536) if made % 2
                         else os.urandom(4096))
    except OSError:
        time.sleep(0.01)
print(made, tried)
