#!/usr/bin/env bash
# The main job, on an embedded default: three local machines, and a container from the test
# image answering; a swarm across them. (Later: site.yml over the machines, and a service
# through the routing mesh.)
set -euo pipefail
cd "$(dirname "$0")/.."
swarmlet=.venv/bin/swarmlet
machines=(manager1 worker1 worker2)

echo "==> fresh machines: ${machines[*]}"
for m in "${machines[@]}"; do
  if $swarmlet machine ip "$m" >/dev/null 2>&1; then $swarmlet machine rm "$m"; fi
done
$swarmlet machine create "${machines[@]}"
$swarmlet machine ls

echo "==> each machine is its own host"
for m in "${machines[@]}"; do
  printf '%s: ' "$m"; $swarmlet machine ssh "$m" -- 'echo "hostname $(hostname), address $(ip -4 -br addr show eth0 | awk "{print \$3}")"'
done

echo "==> a swarm: manager1 initialises it, the workers join"
$swarmlet machine ssh manager1 -- swarmlet swarm init >/dev/null
token=$($swarmlet machine ssh manager1 -- swarmlet swarm join-token -q worker)
for m in worker1 worker2; do
  $swarmlet machine ssh "$m" -- swarmlet swarm join --token "$token" "$($swarmlet machine ip manager1):2377"
done
$swarmlet machine ssh manager1 -- swarmlet node ls

echo "==> a container from the test image, started from manager1"
$swarmlet machine ssh manager1 -- docker rm -f swarmlet-demo >/dev/null 2>&1 || true
$swarmlet machine ssh manager1 -- docker run -d --name swarmlet-demo \
  --label swarmlet.machine=manager1 -p 127.0.0.1::80 swarmlet/demo:latest >/dev/null
port=$(docker port swarmlet-demo 80/tcp | head -n1 | cut -d: -f2)
for _ in $(seq 1 50); do
  page=$(curl -fsS --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null) && break
  sleep 0.2
done
echo "GET http://127.0.0.1:$port/ -> ${page:?the demo container did not answer}"
echo
echo "Done. Try: $swarmlet machine ssh manager1    Clean up: $swarmlet machine rm --all"
