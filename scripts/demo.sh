#!/usr/bin/env bash
# The main job, on an embedded default: three local machines, a
# swarm across them, and a replicated service of the test image whose tasks answer. (Later:
# site.yml over the machines, and the service answering through the routing mesh.)
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

echo "==> a replicated service across the machines"
$swarmlet machine ssh manager1 -- swarmlet service rm web >/dev/null 2>&1 || true
$swarmlet machine ssh manager1 -- swarmlet service create --name web --replicas 3 swarmlet/demo:latest
$swarmlet machine ssh manager1 -- swarmlet service ls
$swarmlet machine ssh manager1 -- swarmlet service ps web

echo "==> each task answers (asked from inside its container until the routing mesh arrives)"
for c in $(docker ps -q --filter label=swarmlet.service.name=web); do
  name=$(docker inspect -f '{{ index .Config.Labels "swarmlet.task.name" }}@{{ index .Config.Labels "swarmlet.machine" }}' "$c")
  page=$(docker exec "$c" sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc 127.0.0.1 80 | tail -n 1")
  echo "$name: GET / -> ${page:?a task did not answer}"
done
echo
echo "Done. Try: $swarmlet machine ssh manager1    Clean up: $swarmlet machine rm --all"
