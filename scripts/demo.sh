#!/usr/bin/env bash
# The main job: three local machines with nothing of Swarmlet on them, `site.yml` over them
# through real SSH (the agent installed by the role, the swarm initialised and joined, node
# labels, an overlay network, a replicated service on it published on port 8080), then what
# an operator looks at, and the published port asked from the host on every machine's address
# (the routing mesh): it fails if a machine does not answer or fewer than 2 replicas did.
set -euo pipefail
cd "$(dirname "$0")/.."
swarmlet=.venv/bin/swarmlet
machines=(manager1 worker1 worker2)
inventory=dist/demo

echo "==> fresh machines: ${machines[*]} (no agent yet: site.yml installs it)"
for m in "${machines[@]}"; do
  if $swarmlet machine ip "$m" >/dev/null 2>&1; then $swarmlet machine rm "$m"; fi
done
$swarmlet machine create --no-agent "${machines[@]}"
$swarmlet machine ls

echo "==> the agent's wheels for the role (roles/agent/files/swarmlet-wheels.tar)"
scripts/build-wheels.sh

echo "==> an inventory: manager1 in group managers, the workers in workers ($inventory/)"
mkdir -p "$inventory/host_vars"
$swarmlet machine inventory --managers 1 "${machines[@]}" > "$inventory/hosts.yml"
printf 'swarmlet_node_labels:\n  zone: east\n' > "$inventory/host_vars/worker1.yml"
printf 'swarmlet_node_labels:\n  zone: west\n' > "$inventory/host_vars/worker2.yml"

echo "==> ansible-playbook -i $inventory/hosts.yml playbooks/site.yml -e @playbooks/vars/demo.yml"
.venv/bin/ansible-playbook -i "$inventory/hosts.yml" playbooks/site.yml -e @playbooks/vars/demo.yml

echo "==> the cluster, seen from manager1"
$swarmlet machine ssh manager1 -- swarmlet node ls
$swarmlet machine ssh manager1 -- swarmlet network ls
$swarmlet machine ssh manager1 -- swarmlet service ls
$swarmlet machine ssh manager1 -- swarmlet service ps web

echo "==> each task answers in its container (GET / on its own 127.0.0.1:80)"
for c in $(for m in "${machines[@]}"; do
             docker ps -q --filter label=swarmlet.service.name=web --filter "label=swarmlet.machine=$m"
           done); do
  name=$(docker inspect -f '{{ index .Config.Labels "swarmlet.task.name" }}@{{ index .Config.Labels "swarmlet.machine" }}' "$c")
  page=$(docker exec "$c" sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc 127.0.0.1 80 | tail -n 1")
  echo "$name: GET / -> ${page:?a task did not answer}"
done

echo "==> the routing mesh: GET http://<machine>:8080/ from the host, 3 times per machine"
# The page is the container's hostname (its short ID): docker inspect names the task and
# the machine that runs it.
declare -A replicas=()
for m in "${machines[@]}"; do
  ip=$($swarmlet machine ip "$m")
  for i in 1 2 3; do
    page=""
    for _ in $(seq 1 20); do  # the rules follow the tasks within a second or so
      page=$(curl -sf --max-time 3 "http://$ip:8080/" 2>/dev/null) && break
      page=""
      sleep 0.5
    done
    if [ -z "$page" ]; then
      echo "FAIL: $m ($ip:8080) does not answer" >&2
      exit 1
    fi
    who=$(docker inspect -f '{{ index .Config.Labels "swarmlet.task.name" }} on {{ index .Config.Labels "swarmlet.machine" }}' "$page" 2>/dev/null || echo "an unknown container")
    replicas[$page]=$who
    printf '%-9s %s:8080  GET #%d -> %s (%s)\n' "$m" "$ip" "$i" "$page" "$who"
  done
done
if [ "${#replicas[@]}" -lt 2 ]; then
  echo "FAIL: only ${#replicas[@]} replica answered (expected requests spread over several)" >&2
  exit 1
fi
answered=$(for page in "${!replicas[@]}"; do echo "${replicas[$page]}"; done | sort | paste -sd, - | sed 's/,/, /g')
echo "OK: every machine answered on :8080; ${#replicas[@]} replicas served: $answered"
echo
echo "Done. Run it again: .venv/bin/ansible-playbook -i $inventory/hosts.yml playbooks/site.yml -e @playbooks/vars/demo.yml"
echo "Try it: curl http://$($swarmlet machine ip worker2):8080/    Log in: $swarmlet machine ssh manager1"
# The service goes first: with its containers still on the overlays, `machine rm` kills the
# agents before them and dockerd then waits tens of seconds per container on the dead
# network driver (docs/networking.md, "A driver that does not answer makes dockerd wait").
echo "Clean up: $swarmlet machine ssh manager1 -- swarmlet service rm web; sleep 5; $swarmlet machine rm ${machines[*]}"
