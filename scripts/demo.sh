#!/usr/bin/env bash
# The main job: three local machines with nothing of Swarmlet on them, `site.yml` over them
# through real SSH (the agent installed by the role, the swarm initialised and joined, node
# labels, a replicated service), then what an operator looks at.
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

echo "==> the agent's wheels for the role (dist/wheels)"
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
$swarmlet machine ssh manager1 -- swarmlet service ls
$swarmlet machine ssh manager1 -- swarmlet service ps web

echo "==> each task answers (asked from inside its container until the routing mesh arrives)"
for c in $(for m in "${machines[@]}"; do
             docker ps -q --filter label=swarmlet.service.name=web --filter "label=swarmlet.machine=$m"
           done); do
  name=$(docker inspect -f '{{ index .Config.Labels "swarmlet.task.name" }}@{{ index .Config.Labels "swarmlet.machine" }}' "$c")
  page=$(docker exec "$c" sh -c "printf 'GET / HTTP/1.0\r\n\r\n' | nc 127.0.0.1 80 | tail -n 1")
  echo "$name: GET / -> ${page:?a task did not answer}"
done
echo
echo "Done. Run it again: .venv/bin/ansible-playbook -i $inventory/hosts.yml playbooks/site.yml -e @playbooks/vars/demo.yml"
echo "Log in: $swarmlet machine ssh manager1    Clean up: $swarmlet machine rm --all"
