#!/usr/bin/python
# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
module: swarm_service
short_description: Create, update and remove swarmlet services
description:
  - Manages a service of a swarmlet swarm, as community.docker's C(docker_swarm_service) manages
    a Docker Swarm service, with the same option names and return values.
  - Unlike C(docker_swarm_service), an update B(merges) with the current spec. An option left
    unset is neither compared nor changed; it keeps its current value, whoever set it (another
    task, the CLI, a stack). An explicit empty value (V([]), V({}), V("")) clears the option.
  - For options with sub-options (O(placement), O(limits), O(reservations), O(restart_config),
    O(healthcheck), O(update_config), O(rollback_config)) the same holds for each sub-option;
    the option given as V({}) clears it (back to the agent's defaults).
  - O(networks) and O(publish) are compared as sets (networks by their ID, whether given by
    name or by ID); a port given without O(publish[].published_port) matches the port the
    swarm picked for it.
  - Changing O(mode) of an existing service removes it and creates it again (RV(rebuilt)).
  - With O(wait=true) the module waits until the service has converged and fails with the
    tasks' errors when it cannot.
  - Must run against a manager.
version_added: 0.1.0
author:
  - Swarmlet developers (!UNKNOWN)
extends_documentation_fragment:
  - swarmlet.swarm.api
  - swarmlet.swarm.api.attributes
  - swarmlet.swarm.api.actiongroup_swarm
attributes:
  check_mode:
    support: full
    details:
      - The agent plans the change (the same request with C(dry_run=1)) and the module reports
        what the plan says; nothing is written.
  diff_mode:
    support: full
    details:
      - The differing options before and after, from the agent's plan of the change.
  idempotent:
    support: partial
    details:
      - O(force_update=true) changes the service on every run.
options:
  name:
    description:
      - Service name.
    type: str
    required: true
  state:
    description:
      - V(present) creates the service, or updates the options given.
      - V(absent) removes the service and stops its tasks.
    type: str
    default: present
    choices: [present, absent]
  image:
    description:
      - Image reference, for example V(swarmlet/demo:latest).
      - Required to create a service; unset on an update keeps the current image.
    type: str
  command:
    description:
      - Overrides the image's entrypoint (C(--entrypoint) of C(swarmlet service create)).
      - A string (split as a shell would) or a list of strings. V([]) clears the override.
    type: raw
  args:
    description:
      - Arguments of the command (C([COMMAND] [ARG...]) of C(swarmlet service create)). Order
        matters. V([]) clears them.
    type: list
    elements: str
  env:
    description:
      - Environment variables, as a dict or as a list of C(KEY=VALUE) strings.
      - Values YAML would read as booleans (V(yes), V(true)) must be quoted.
      - Compared regardless of order. V([]) or V({}) clears them.
    type: raw
  mode:
    description:
      - V(replicated) runs O(replicas) tasks; V(global) runs one task on every eligible node.
      - V(replicated-job) runs tasks to completion until O(replicas) of them have completed,
        O(max_concurrent) at a time; V(global-job) runs one task to completion on every
        eligible node (and on a node that joins later). A task that completed is never
        restarted; one that failed is retried as O(restart_config) says. A job has no
        O(update_config) or O(rollback_config); O(force_update=true) runs it again.
      - Default V(replicated) on create; unset on an update keeps the current mode.
      - A change removes and creates the service again (RV(rebuilt=true)).
    type: str
    choices: [replicated, global, replicated-job, global-job]
  replicas:
    description:
      - Number of tasks of a replicated service; the number of completions of a replicated
        job (its C(TotalCompletions)).
      - V(-1) (the default) keeps the current count; a new service gets V(1).
      - A changed count runs a job again.
    type: int
    default: -1
  max_concurrent:
    description:
      - How many tasks of a replicated job run at once (its C(MaxConcurrent)).
      - Default on create O(replicas), as C(swarmlet service create --mode replicated-job)
        makes it; unset on an update keeps the current number.
    type: int
  placement:
    description:
      - Where tasks may run.
    type: dict
    suboptions:
      constraints:
        description:
          - Constraints such as V(node.role==manager) or V(node.labels.zone!=east)
            (C(--constraint)). Compared regardless of order.
        type: list
        elements: str
      preferences:
        description:
          - Spread preferences, in order (C(--placement-pref)), each a dict with the key
            C(spread) and a descriptor such as V(node.labels.zone) as its value.
        type: list
        elements: dict
      replicas_max_per_node:
        description:
          - Maximum number of tasks per node; V(0) is unlimited.
        type: int
  limits:
    description:
      - Resource limits of each task.
    type: dict
    suboptions:
      cpus:
        description:
          - CPU limit, for example V(0.5); V(0) is no limit.
        type: float
      memory:
        description:
          - Memory limit, C(<number>[B|K|M|G|T|P]) in powers of 1024 (V(64M), V(1.5G)), or an
            integer of bytes; V(0) is no limit.
        type: raw
  reservations:
    description:
      - Resources reserved for each task (the scheduler places tasks where they fit).
    type: dict
    suboptions:
      cpus:
        description:
          - CPUs reserved; V(0) is none.
        type: float
      memory:
        description:
          - Memory reserved, as O(limits.memory); V(0) is none.
        type: raw
  restart_config:
    description:
      - When and how tasks are restarted when they end.
    type: dict
    suboptions:
      condition:
        description:
          - Restart condition (agent default V(any)).
        type: str
        choices: [none, on-failure, any]
      delay:
        description:
          - Delay between restarts, a duration such as V(5s) (agent default V(5s)).
        type: raw
      max_attempts:
        description:
          - Maximum restarts of a slot; V(0) is unlimited.
        type: int
      window:
        description:
          - Window in which restarts are counted, a duration; V(0) is unbounded.
        type: raw
  healthcheck:
    description:
      - Overrides the image's health check. V({}) removes the override.
      - A task is C(starting) until healthy; an unhealthy task fails and is replaced.
    type: dict
    suboptions:
      test:
        description:
          - A string (run with the shell, C(CMD-SHELL)) or a list starting with V(CMD),
            V(CMD-SHELL) or V(NONE). V([NONE]) disables the image's health check.
        type: raw
      interval:
        description:
          - Time between checks, a duration.
        type: raw
      timeout:
        description:
          - Maximum time one check may take, a duration.
        type: raw
      start_period:
        description:
          - Time for the container to start before failures count, a duration.
        type: raw
      retries:
        description:
          - Consecutive failures needed to report unhealthy.
        type: int
  mounts:
    description:
      - Filesystem mounts of the tasks. Compared regardless of order (by target). V([])
        removes them all.
    type: list
    elements: dict
    suboptions:
      source:
        description:
          - Host path (bind) or volume name (volume). Required unless O(mounts[].type=tmpfs).
        type: str
      target:
        description:
          - Path in the container.
        type: str
        required: true
      type:
        description:
          - Mount type.
        type: str
        default: bind
        choices: [bind, volume, tmpfs]
      readonly:
        description:
          - Mount read-only.
        type: bool
        default: false
      tmpfs_size:
        description:
          - Size of a tmpfs mount, as O(limits.memory).
        type: raw
      tmpfs_mode:
        description:
          - File mode of a tmpfs mount, an octal string such as V("1777") or V("0o1777"), or
            an integer (YAML reads V(01777) as octal).
        type: raw
      no_copy:
        description:
          - For a volume mount, do not copy the image's files at the target into a new volume
            (C(volume-nocopy) of C(--mount)).
        type: bool
      labels:
        description:
          - For a volume mount, labels of the volume the node's Docker Engine creates
            (C(volume-label)).
        type: dict
      driver_config:
        description:
          - For a volume mount, the volume driver and its options (C(volume-driver),
            C(volume-opt)). The node's Docker Engine creates and mounts the volume with it, so
            any volume plugin installed on the nodes (rex-ray, ...) serves it. Without
            O(mounts[].driver_config.name), the local driver's options.
        type: dict
        suboptions:
          name:
            description:
              - Volume driver name.
            type: str
          options:
            description:
              - Driver options, such as C(type=tmpfs) and C(device=tmpfs) for the local driver.
            type: dict
      propagation:
        description:
          - For a bind mount, its propagation mode (C(bind-propagation)).
        type: str
        choices: [shared, slave, private, rshared, rslave, rprivate]
  secrets:
    description:
      - The secrets the tasks read as files, each given by name or ID, as C(--secret) of
        C(swarmlet service create). Names are resolved to IDs through the agent; an unknown
        secret fails the task (V(secrets) then says C(secret NAME not found)), in check mode too.
      - Compared by secret ID and file (path, owner, mode), regardless of order; a secret
        deleted and created again under its name is a change. The whole list is wanted
        (secrets not listed are removed from the service); V([]) removes them all; unset
        keeps the current ones.
      - A change rolls the tasks out again (a rolling update, as O(update_config) says).
      - To rotate a secret in use, create a new version with C(swarmlet.swarm.swarm_secret)
        and O(swarmlet.swarm.swarm_secret#module:rolling_versions=true), and give its
        RV(swarmlet.swarm.swarm_secret#module:secret_name) here with the same
        O(secrets[].filename).
    type: list
    elements: dict
    suboptions:
      secret_name:
        description:
          - The secret's name. One of O(secrets[].secret_name) and O(secrets[].secret_id) is
            required; given both, they must be the same secret.
        type: str
      secret_id:
        description:
          - The secret's ID (or a unique prefix of it).
        type: str
      filename:
        description:
          - The file in the container. A relative name is under C(/run/secrets/).
          - Default the secret's name (give it when the name changes with rolling versions).
        type: str
      uid:
        description:
          - The owner of the file (a numeric user ID), default V("0").
        type: str
      gid:
        description:
          - The group of the file (a numeric group ID), default V("0").
        type: str
      mode:
        description:
          - The file mode, an octal string such as V("0400") or an integer (YAML reads
            V(0400) as octal), at most V(0777); default V(0444).
        type: raw
  configs:
    description:
      - The configs the tasks read as files, as O(secrets) (C(--config) of
        C(swarmlet service create)); the same rules.
      - A relative O(configs[].filename) is from C(/).
    type: list
    elements: dict
    suboptions:
      config_name:
        description:
          - The config's name. One of O(configs[].config_name) and O(configs[].config_id) is
            required.
        type: str
      config_id:
        description:
          - The config's ID (or a unique prefix of it).
        type: str
      filename:
        description:
          - The path of the file in the container; default C(/<config name>).
        type: str
      uid:
        description:
          - The owner of the file (a numeric user ID), default V("0").
        type: str
      gid:
        description:
          - The group of the file (a numeric group ID), default V("0").
        type: str
      mode:
        description:
          - The file mode, as O(secrets[].mode); default V(0444).
        type: raw
  labels:
    description:
      - Service labels (C(--label)). V({}) removes them all.
    type: dict
  container_labels:
    description:
      - Labels of the tasks' containers (C(--container-label)). V({}) removes them all.
    type: dict
  hostname:
    description:
      - Container hostname. V("") clears it.
    type: str
  user:
    description:
      - User (name or UID, optionally C(:group)) the command runs as. V("") clears it.
    type: str
  working_dir:
    description:
      - Working directory of the command. V("") clears it.
    type: str
  stop_grace_period:
    description:
      - Time to wait before killing a container that does not stop, a duration (agent
        default V(10s)).
    type: raw
  stop_signal:
    description:
      - Signal that stops the container. V("") clears it.
    type: str
  update_config:
    description:
      - How rolling updates replace tasks.
    type: dict
    suboptions:
      parallelism:
        description:
          - Tasks replaced at a time; V(0) replaces all at once (agent default V(1)).
        type: int
      delay:
        description:
          - Delay between replacements, a duration (agent default V(0s)).
        type: raw
      failure_action:
        description:
          - What an update does when new tasks fail (agent default V(pause)).
        type: str
        choices: [continue, pause, rollback]
      monitor:
        description:
          - Time a new task is watched for failure, a duration (agent default V(5s)).
        type: raw
      max_failure_ratio:
        description:
          - Fraction of failed tasks tolerated, between V(0) and V(1).
        type: float
      order:
        description:
          - Stop the old task first, or start the new one first (agent default
            V(stop-first)).
        type: str
        choices: [stop-first, start-first]
  rollback_config:
    description:
      - How a rollback replaces tasks; the sub-options of O(update_config).
    type: dict
    suboptions:
      parallelism:
        description:
          - Tasks rolled back at a time; V(0) rolls back all at once.
        type: int
      delay:
        description:
          - Delay between task rollbacks, a duration.
        type: raw
      failure_action:
        description:
          - What a rollback does when tasks fail.
        type: str
        choices: [continue, pause]
      monitor:
        description:
          - Time a task is watched for failure after its rollback, a duration.
        type: raw
      max_failure_ratio:
        description:
          - Fraction of failed tasks tolerated, between V(0) and V(1).
        type: float
      order:
        description:
          - Rollback order.
        type: str
        choices: [stop-first, start-first]
  networks:
    description:
      - The overlay networks the tasks are attached to, each a network name or ID, or a dict
        with the keys C(name) (a network name or ID, required), C(aliases) (a list of names the
        task also answers to on that network) and C(options) (a dict of driver options), as
        C(--network) of C(swarmlet service create).
      - Names are resolved to network IDs by the agent (C(GET /networks/NAME)); an unknown
        network fails the task with the agent's message (C(network NAME not found)), in check
        mode too. The C(ingress) network cannot be listed (publishing a port in ingress mode
        attaches the service to it).
      - Compared by network ID, regardless of order and of name versus ID. C(aliases) and
        C(options) left out keep those the service has on that network (none on a network
        it joins).
      - The whole list is wanted (networks not listed are left); V([]) detaches the service
        from all its networks. Unset keeps the current networks.
    type: list
    elements: raw
  publish:
    description:
      - The ports published by the service, as C(--publish) of C(swarmlet service create).
      - Compared as a set. The whole list is wanted; V([]) removes all published ports; unset
        keeps the current ones.
      - Published in V(ingress) mode, a port answers on every node of the swarm (the routing
        mesh) and is balanced over the service's tasks; in V(host) mode, only on the nodes
        where a task runs.
    type: list
    elements: dict
    suboptions:
      published_port:
        description:
          - The port clients connect to, on the nodes' addresses.
          - Optional. Left out, an ingress port gets one from 30000-32767 when the port is
            new; on an update the service keeps the number it has for that target port,
            protocol and mode, which is not counted as a change. C(publish) of RV(swarm_service)
            shows the number picked.
        type: int
      target_port:
        description:
          - The port the tasks' containers listen on.
        type: int
        required: true
      protocol:
        description:
          - The protocol.
        type: str
        default: tcp
        choices: [tcp, udp]
      mode:
        description:
          - V(ingress) publishes the port on every node (routing mesh); V(host), only on the
            nodes where a task runs, straight to that task.
        type: str
        default: ingress
        choices: [ingress, host]
  dns:
    description:
      - DNS servers of the containers (C(--dns)), in order. On an overlay network the node's
        resolver still answers the names of services and forwards the other names to them,
        as Docker's embedded resolver does. V([]) removes them.
    type: list
    elements: str
  dns_search:
    description:
      - DNS search domains of the containers (C(--dns-search)).
    type: list
    elements: str
  dns_options:
    description:
      - Resolver options of the containers, such as V(ndots:2) (C(--dns-option)).
    type: list
    elements: str
  hosts:
    description:
      - Host names and their IP addresses, added to the containers' C(/etc/hosts)
        (C(--host name:IP)). V({}) removes them.
    type: dict
  groups:
    description:
      - Supplementary groups (names or IDs) of the container's process (C(--group)).
        Compared regardless of order.
    type: list
    elements: str
  init:
    description:
      - Run an init inside each container that forwards signals and reaps processes
        (C(--init)). Unset, the node's Docker Engine decides.
    type: bool
  read_only:
    description:
      - Mount the containers' root filesystem read-only (C(--read-only)).
    type: bool
  tty:
    description:
      - Allocate a pseudo-TTY (C(--tty)).
    type: bool
  sysctls:
    description:
      - Namespaced kernel parameters of the containers (C(--sysctl)), such as
        V(net.core.somaxconn).
    type: dict
  cap_add:
    description:
      - Linux capabilities to add (C(--cap-add)); V(NET_ADMIN) and V(CAP_NET_ADMIN) are one.
        Compared regardless of order.
    type: list
    elements: str
  cap_drop:
    description:
      - Linux capabilities to drop (C(--cap-drop)).
    type: list
    elements: str
  ulimits:
    description:
      - "Resource limits of the containers (C(--ulimit)): each a dict with C(name), C(soft)
        and C(hard) (hard defaults to soft), or Docker's V(nofile=1024:2048). Not in
        community.docker."
    type: list
    elements: raw
  logging:
    description:
      - The tasks' log driver (C(--log-driver), C(--log-opt)). Unset, the node's Docker
        Engine's default driver. V({}) removes it.
    type: dict
    suboptions:
      driver:
        description:
          - Log driver name, such as V(json-file), V(local), V(syslog), V(none).
        type: str
      options:
        description:
          - Options of the log driver, such as V(max-size).
        type: dict
  env_files:
    description:
      - Files on the target in Docker's env-file format (C(NAME=value) lines), read in order;
        a variable of O(env) wins over them. They make O(env) together with it.
    type: list
    elements: path
  resolve_image:
    description:
      - Whether to resolve the image's digest from its registry. Swarmlet does not talk to
        registries, so only V(false) is accepted; pin a digest in O(image) instead.
    type: bool
    default: false
  endpoint_mode:
    description:
      - How clients find the tasks on the service's networks. V(vip) gives the service a
        virtual IP on each of its networks, balanced over its tasks; V(dnsrr) gives it none
        (clients use the tasks' addresses). Ports in V(ingress) mode need V(vip).
      - Default V(vip) on create; unset on an update keeps the current mode.
    type: str
    choices: [vip, dnsrr]
  force_update:
    description:
      - Replace every task even when nothing changed (C(swarmlet service update --force)).
      - Always reports a change.
    type: bool
    default: false
  wait:
    description:
      - After creating or updating the service, wait until it has converged. Every slot of a
        replicated service (every eligible node of a global one) runs a task of the new spec,
        the rolling update (if any) has completed, and the new tasks stayed up for the update
        monitor period (default 5 s) when no update watched them.
      - For a job, until this run of it has completed (O(replicas) completions of a
        replicated job; a task on every node the agent gave one of a global job).
      - Fails, with the tasks' errors in RV(ignore:msg), when a task of the new spec fails,
        the update is paused or rolled back, or O(wait_timeout) passes.
      - With O(state=absent), waits until the service's tasks have stopped.
      - Nothing is waited for when nothing changed, or in check mode.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait=true).
    type: int
    default: 120
notes:
  - Durations are strings such as V(500ms), V(10s), V(1m30s) or V(2h) (units V(ns), V(us),
    V(ms), V(s), V(m), V(h)), or integers of nanoseconds.
seealso:
  - name: community.docker.docker_swarm_service
    description: The Docker Swarm module whose options and return values this one follows.
    link: https://docs.ansible.com/ansible/latest/collections/community/docker/docker_swarm_service_module.html
"""

EXAMPLES = r"""
- name: Run three replicas of a web server
  swarmlet.swarm.swarm_service:
    name: web
    image: swarmlet/demo:latest
    replicas: 3
    env:
      LOG_LEVEL: info
    labels:
      team: web
    limits:
      cpus: 0.5
      memory: 64M
    update_config:
      parallelism: 1
      delay: 10s
      failure_action: rollback
    wait: true

- name: Scale it; env, labels and everything else stay as they are
  swarmlet.swarm.swarm_service:
    name: web
    replicas: 5

- name: Clear its environment
  swarmlet.swarm.swarm_service:
    name: web
    env: []

- name: Roll out a new image and fail if it does not come up within 5 minutes
  swarmlet.swarm.swarm_service:
    name: web
    image: swarmlet/demo:2
    wait: true
    wait_timeout: 300

- name: A global service on the workers, with a health check and a bind mount
  swarmlet.swarm.swarm_service:
    name: agent
    image: swarmlet/demo:latest
    mode: global
    placement:
      constraints: [node.role==worker]
    healthcheck:
      test: [CMD, wget, -q, -O-, http://localhost/]
      interval: 10s
      retries: 3
    mounts:
      - source: /var/log
        target: /host/log
        readonly: true

- name: A database whose volume a volume plugin (rex-ray) creates and mounts on its node
  swarmlet.swarm.swarm_service:
    name: db
    image: postgres:16
    mounts:
      - type: volume
        source: pgdata
        target: /var/lib/postgresql/data
        labels:
          tier: db
        driver_config:
          name: rexray
          options:
            size: "20"

- name: A batch job of 10 tasks, 2 at a time, waited for until all 10 have completed
  swarmlet.swarm.swarm_service:
    name: thumbnails
    image: swarmlet/demo:latest
    command: [sh, -c, "echo working; sleep 5"]
    mode: replicated-job
    replicas: 10
    max_concurrent: 2
    restart_config:
      condition: on-failure
      max_attempts: 3
    wait: true

- name: Run the job again (a new run of it, as swarmlet service update --force)
  swarmlet.swarm.swarm_service:
    name: thumbnails
    force_update: true

- name: Once on every node (and on nodes that join later)
  swarmlet.swarm.swarm_service:
    name: prune-images
    image: swarmlet/demo:latest
    command: [sh, -c, "echo pruned"]
    mode: global-job

- name: Web servers on an overlay network, published on port 8080 of every node
  swarmlet.swarm.swarm_service:
    name: web
    image: swarmlet/demo:latest
    replicas: 3
    networks:
      - front
      - name: back
        aliases: [www]
    publish:
      - published_port: 8080
        target_port: 80
    wait: true

- name: Also publish port 443, on a port the swarm picks (30000-32767)
  swarmlet.swarm.swarm_service:
    name: web
    publish:
      - published_port: 8080
        target_port: 80
      - target_port: 443
  register: web

- name: Show the port picked
  ansible.builtin.debug:
    msg: >-
      {{ web.swarm_service.publish | selectattr('target_port', '==', 443)
         | map(attribute='published_port') | first }}

- name: No published port any more, and no virtual IP (DNS round robin)
  swarmlet.swarm.swarm_service:
    name: web
    publish: []
    endpoint_mode: dnsrr

- name: A secret and a config as files, with an owner and a mode
  swarmlet.swarm.swarm_service:
    name: db
    image: mysql:8
    secrets:
      - secret_name: db_root_password          # /run/secrets/db_root_password, 0444
      - secret_name: db_password
        filename: mysql_pw                     # /run/secrets/mysql_pw
        uid: "999"
        gid: "999"
        mode: "0400"
    configs:
      - config_name: my.cnf
        filename: /etc/mysql/conf.d/my.cnf
    wait: true

- name: Restart every task (a rolling restart)
  swarmlet.swarm.swarm_service:
    name: web
    force_update: true

- name: Remove the service
  swarmlet.swarm.swarm_service:
    name: web
    state: absent
"""

RETURN = r"""
swarm_service:
  description:
    - The service's options after the task (in check mode, as they would be), flattened as
      community.docker's C(swarm_service); V({}) when the service is absent.
    - Durations are in nanoseconds, memory in bytes, CPUs as a number of CPUs.
    - C(networks) lists the service's networks by ID, with their names; C(publish) its ports,
      with the number the swarm picked for a port given none (V(null) in check mode, and in
      RV(diff), which shows the service's spec).
  returned: always
  type: dict
  sample:
    args: ["3600"]
    command: ["sleep"]
    constraints: ["node.role==worker"]
    container_labels: null
    endpoint_mode: vip
    env: ["LOG_LEVEL=info"]
    force_update: 0
    healthcheck: {interval: 10000000000, retries: 3, test: [CMD, wget, -q, -O-, "http://localhost/"]}
    healthcheck_disabled: false
    hostname: null
    image: swarmlet/demo:latest
    labels: {team: web}
    limit_cpu: 0.5
    limit_memory: 67108864
    max_concurrent: null
    mode: replicated
    mounts: [{source: /var/log, target: /host/log, type: bind, readonly: true, tmpfs_size: null,
              tmpfs_mode: null, no_copy: false, labels: null, driver_config: null,
              propagation: null}]
    cap_add: [CAP_NET_ADMIN]
    cap_drop: null
    dns: null
    dns_options: null
    dns_search: null
    groups: null
    hosts: {db.local: 192.0.2.7}
    init: true
    log_driver: json-file
    log_driver_options: {max-size: 10m}
    read_only: true
    sysctls: null
    tty: null
    ulimits: [{name: nofile, soft: 1024, hard: 2048}]
    secrets: [{secret_id: 7w3skbb2q0sy4o6pt3hrvyl2g, secret_name: db_password_v2,
               filename: db_password, uid: "0", gid: "0", mode: 256}]
    configs: null
    networks: [{id: 5vb3kq0s9zgjm7d3mr2wa8ysl, name: front, aliases: [www], options: {}}]
    placement_preferences: [{spread: node.labels.zone}]
    publish: [{published_port: 8080, target_port: 80, protocol: tcp, mode: ingress},
              {published_port: 30000, target_port: 443, protocol: tcp, mode: ingress}]
    replicas: 3
    replicas_max_per_node: null
    reserve_cpu: null
    reserve_memory: null
    restart_policy: any
    restart_policy_attempts: 0
    restart_policy_delay: 5000000000
    restart_policy_window: 0
    rollback_config: {delay: 0, failure_action: pause, max_failure_ratio: 0, monitor: 5000000000,
                      order: stop-first, parallelism: 1}
    stop_grace_period: null
    stop_signal: null
    update_delay: 10000000000
    update_failure_action: rollback
    update_max_failure_ratio: 0
    update_monitor: 5000000000
    update_order: stop-first
    update_parallelism: 1
    user: null
    working_dir: null
changes:
  description:
    - The names (keys of RV(swarm_service)) of the options that differed and were changed;
      V([]) when the service was created, removed or left unchanged.
  returned: always
  type: list
  elements: str
  sample: [env, replicas]
rebuilt:
  description: Whether the service was removed and created again (a O(mode) change).
  returned: always
  type: bool
  sample: false
msg:
  description:
    - What happened; V(Service created), V(Service updated), V(Service forcefully updated),
      V(Service rebuilt), V(Service unchanged), V(Service removed) or V(Service absent).
    - On failure, the error, with the tasks' errors when O(wait=true) gave up.
  returned: always
  type: str
  sample: Service updated
diff:
  description:
    - In diff mode, the differing options before and after (all of them for a service created
      or removed).
  returned: when diff mode is on
  type: dict
  sample:
    before: {replicas: 1}
    after: {replicas: 3}
"""

import time
from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.swarmlet.swarm.plugins.module_utils._api import SwarmletAPIError
from ansible_collections.swarmlet.swarm.plugins.module_utils._module import (
    api_argument_spec,
    client_for,
    require_manager,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils._service_spec import (
    SpecError,
    changed_facts,
    check_with_current,
    differences,
    merged_spec,
    new_spec,
    planned_tasks,
    rebuilt_spec,
    resolve_networks,
    resolve_references,
    service_facts,
    wanted_options,
)
from ansible_collections.swarmlet.swarm.plugins.module_utils._service_wait import (
    FAILED,
    ConvergeError,
    wait_for_removal,
    wait_for_service,
)

UPDATE_RETRIES = 3
ENDPOINT_WAIT = 10  # seconds for the swarm to pick the published ports given no number


def _policy_options(actions):
    return dict(
        parallelism=dict(type="int"),
        delay=dict(type="raw"),
        failure_action=dict(type="str", choices=actions),
        monitor=dict(type="raw"),
        max_failure_ratio=dict(type="float"),
        order=dict(type="str", choices=["stop-first", "start-first"]),
    )


def _reference_options(kind):
    return {
        kind + "_name": dict(type="str"),
        kind + "_id": dict(type="str"),
        "filename": dict(type="str"),
        "uid": dict(type="str"),
        "gid": dict(type="str"),
        "mode": dict(type="raw"),
    }


def argument_spec():
    resources = dict(cpus=dict(type="float"), memory=dict(type="raw"))
    spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        image=dict(type="str"),
        command=dict(type="raw"),
        args=dict(type="list", elements="str"),
        env=dict(type="raw"),
        mode=dict(type="str", choices=["replicated", "global", "replicated-job",
                                       "global-job"]),
        replicas=dict(type="int", default=-1),
        max_concurrent=dict(type="int"),
        placement=dict(type="dict", options=dict(
            constraints=dict(type="list", elements="str"),
            preferences=dict(type="list", elements="dict"),
            replicas_max_per_node=dict(type="int"),
        )),
        limits=dict(type="dict", options=resources),
        reservations=dict(type="dict", options=dict(resources)),
        restart_config=dict(type="dict", options=dict(
            condition=dict(type="str", choices=["none", "on-failure", "any"]),
            delay=dict(type="raw"),
            max_attempts=dict(type="int"),
            window=dict(type="raw"),
        )),
        healthcheck=dict(type="dict", options=dict(
            test=dict(type="raw"),
            interval=dict(type="raw"),
            timeout=dict(type="raw"),
            start_period=dict(type="raw"),
            retries=dict(type="int"),
        )),
        mounts=dict(type="list", elements="dict", options=dict(
            source=dict(type="str"),
            target=dict(type="str", required=True),
            type=dict(type="str", default="bind", choices=["bind", "volume", "tmpfs"]),
            readonly=dict(type="bool", default=False),
            tmpfs_size=dict(type="raw"),
            tmpfs_mode=dict(type="raw"),
            no_copy=dict(type="bool"),
            labels=dict(type="dict"),
            propagation=dict(type="str", choices=["shared", "slave", "private", "rshared",
                                                  "rslave", "rprivate"]),
            driver_config=dict(type="dict", options=dict(
                name=dict(type="str"),
                options=dict(type="dict"),
            )),
        )),
        secrets=dict(type="list", elements="dict", no_log=False,  # names, not values
                     options=_reference_options("secret")),
        configs=dict(type="list", elements="dict", options=_reference_options("config")),
        labels=dict(type="dict"),
        container_labels=dict(type="dict"),
        hostname=dict(type="str"),
        user=dict(type="str"),
        working_dir=dict(type="str"),
        stop_grace_period=dict(type="raw"),
        stop_signal=dict(type="str"),
        update_config=dict(type="dict", options=_policy_options(["continue", "pause",
                                                                 "rollback"])),
        rollback_config=dict(type="dict", options=_policy_options(["continue", "pause"])),
        networks=dict(type="list", elements="raw"),
        publish=dict(type="list", elements="dict", options=dict(
            published_port=dict(type="int"),
            target_port=dict(type="int", required=True),
            protocol=dict(type="str", default="tcp", choices=["tcp", "udp"]),
            mode=dict(type="str", default="ingress", choices=["ingress", "host"]),
        )),
        endpoint_mode=dict(type="str", choices=["vip", "dnsrr"]),
        dns=dict(type="list", elements="str"),
        dns_search=dict(type="list", elements="str"),
        dns_options=dict(type="list", elements="str"),
        hosts=dict(type="dict"),
        groups=dict(type="list", elements="str"),
        init=dict(type="bool"),
        read_only=dict(type="bool"),
        tty=dict(type="bool"),
        sysctls=dict(type="dict"),
        cap_add=dict(type="list", elements="str"),
        cap_drop=dict(type="list", elements="str"),
        ulimits=dict(type="list", elements="raw"),
        logging=dict(type="dict", options=dict(driver=dict(type="str"),
                                               options=dict(type="dict"))),
        env_files=dict(type="list", elements="path"),
        resolve_image=dict(type="bool", default=False),
        force_update=dict(type="bool", default=False),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=120),
    )
    spec.update(api_argument_spec())
    return spec


class ServiceManager:
    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.name = module.params["name"]
        self.result = dict(changed=False, changes=[], rebuilt=False, swarm_service={})
        self.diff = None
        self._network_names = None
        self._objects = {}

    def fail(self, msg):
        self.module.fail_json(msg=msg, **self.result)

    def call(self, what, method, path, *args, **query):
        try:
            return getattr(self.client, method)(path, *args, **query)
        except SwarmletAPIError as exc:
            self.fail(f"{what} service {self.name}: {exc.message}")

    def current(self):
        service = self.call("Cannot read", "get_or_none",
                            f"/services/{quote(self.name, safe='')}")
        if service and str(service["Spec"].get("Name", "")).lower() != self.name.lower():
            return None  # the name matched another service's ID (prefix)
        return service

    # --- networks ----------------------------------------------------------------------------

    def network_id(self, ref):
        """The ID of a network given by name, ID or unique ID prefix, as the agent resolves
        it (its message when it cannot)."""
        try:
            network = self.client.get(f"/networks/{quote(ref, safe='')}")
        except SwarmletAPIError as exc:
            if exc.status in (404, 409):
                raise SpecError(f"networks: {exc.message}") from None
            self.fail(f"Cannot read network {ref}: {exc.message}")
        if (network.get("Spec") or {}).get("Ingress"):
            raise SpecError("networks: Service cannot be explicitly attached to the ingress "
                            f'network "{network["Spec"].get("Name")}" (publishing a port in '
                            "ingress mode attaches it)")
        return network["ID"]

    def reference(self, kind, name, ref_id):
        """(ID, name) of a secret or config given by name (exactly) and/or by ID (or a
        unique ID prefix); SpecError naming it when there is none."""
        if kind not in self._objects:
            try:
                self._objects[kind] = self.client.get(f"/{kind}s")
            except SwarmletAPIError as exc:
                self.fail(f"Cannot read the {kind}s: {exc.message}")
        objects = self._objects[kind]
        by_name = [o for o in objects if o["Spec"]["Name"] == name] if name else None
        by_id = None
        if ref_id:
            by_id = [o for o in objects if o["ID"] == ref_id] or \
                [o for o in objects if o["ID"].startswith(ref_id)]
            if len(by_id) > 1:
                raise SpecError(f"{kind}s: {kind} ID {ref_id} is ambiguous ({len(by_id)} "
                                "matches found)")
        found = by_name if by_name is not None else by_id
        if not found:
            raise SpecError(f"{kind}s: {kind} {name or ref_id} not found")
        if by_name is not None and by_id is not None and by_id != by_name:
            raise SpecError(f"{kind}s: {kind}_id {ref_id} is not the ID of {kind} {name}"
                            f" ({found[0]['ID']})")
        return found[0]["ID"], found[0]["Spec"]["Name"]

    def network_names(self):
        if self._network_names is None:
            try:
                networks = self.client.get("/networks")
            except SwarmletAPIError as exc:
                self.fail(f"Cannot read the networks: {exc.message}")
            self._network_names = dict((n["ID"], (n.get("Spec") or {}).get("Name"))
                                       for n in networks)
        return self._network_names

    def facts(self, spec, endpoint=None):
        """The facts of a spec, its networks named; with the service's Endpoint, the
        published ports the swarm picked."""
        named = (spec.get("TaskTemplate") or {}).get("Networks")
        return service_facts(spec, endpoint, self.network_names() if named else None)

    def facts_of(self, service_id):
        """The facts of the service as stored, once the swarm has picked the numbers of the
        ingress ports given none (it does so right after the write, in the leader's next
        allocation pass)."""
        deadline = time.monotonic() + ENDPOINT_WAIT
        while True:
            service = self.call("Cannot read", "get", f"/services/{service_id}")
            endpoint_spec = service["Spec"].get("EndpointSpec") or {}
            unnumbered = [p for p in endpoint_spec.get("Ports") or []
                          if not p.get("PublishedPort")
                          and (p.get("PublishMode") or "ingress") == "ingress"]
            allocated = (service.get("Endpoint") or {}).get("Spec") == \
                service["Spec"].get("EndpointSpec")
            if not unnumbered or allocated or time.monotonic() >= deadline:
                return self.facts(service["Spec"], service.get("Endpoint"))
            time.sleep(0.2)

    def finish(self, msg):
        self.result["msg"] = msg
        if self.module._diff:
            self.result["diff"] = self.diff or {"before": {}, "after": {}}
        self.module.exit_json(**self.result)

    # --- the states ---------------------------------------------------------------------------

    def absent(self):
        service = self.current()
        if service is None:
            self.finish("Service absent")
        facts = self.facts(service["Spec"], service.get("Endpoint"))
        self.result["changed"] = True
        self.diff = {"before": facts, "after": {}}
        if not self.module.check_mode:
            self.call("Cannot remove", "delete", f"/services/{service['ID']}")
            if self.module.params["wait"]:
                self.wait(wait_for_removal, self.client, service["ID"], self.name,
                          self.module.params["wait_timeout"])
        self.finish("Service removed")

    def plan(self, what, path, spec, **query):
        """The agent's plan of the write (POST ``path`` with ``?dry_run=1``): the spec as it
        would be stored, its Diff and where the tasks would run; nothing is written."""
        try:
            return self.client.dry_run("POST", path, spec, **query)
        except SwarmletAPIError as exc:
            self.fail(f"{what} service {self.name}: {exc.message}")

    def present(self, wanted):
        service = self.current()
        if service is None:
            if not wanted.get("image"):
                self.fail(f"image is required to create service {self.name}")
            try:
                check_with_current(wanted, {})
            except SpecError as exc:
                self.fail(str(exc))
            return self.create(new_spec(self.name, wanted), "Service created")
        facts = self.facts(service["Spec"])
        self.result["swarm_service"] = self.facts(service["Spec"], service.get("Endpoint"))
        try:
            check_with_current(wanted, facts)
        except SpecError as exc:
            self.fail(str(exc))
        force = self.module.params["force_update"]
        if "mode" in differences(wanted, facts):
            return self.rebuild(service, wanted, facts)
        spec = merged_spec(service["Spec"], wanted, force_update=force)
        plan = self.plan("Cannot update", f"/services/{service['ID']}/update", spec,
                         version=service["Version"]["Index"])
        after = self.facts(plan["Spec"])
        changes = changed_facts(facts, after)
        self.diff = {"before": dict((n, facts[n]) for n in changes),
                     "after": dict((n, after[n]) for n in changes)}
        self.result["changes"] = changes
        if not plan["Diff"]:
            self.finish("Service unchanged")
        if self.module.check_mode:
            self.result.update(changed=True, swarm_service=after)
        else:
            self.update(service, wanted, force, planned_tasks(plan))
        self.finish("Service forcefully updated" if changes == ["force_update"]
                    else "Service updated")

    def create(self, spec, msg, plan=None):
        """Create the service; ``plan``: its plan when already asked for."""
        plan = plan or self.plan("Cannot create", "/services/create", spec)
        facts = self.facts(plan["Spec"])
        if self.diff is None:
            self.diff = {"before": {}, "after": facts}
        if self.module.check_mode:
            self.result.update(changed=True, swarm_service=facts)
        else:
            created = self.call("Cannot create", "post", "/services/create", spec)
            self.result["changed"] = True
            self.result["swarm_service"] = self.facts_of(created["ID"])
            if self.module.params["wait"]:
                self.wait(wait_for_service, self.client, created["ID"],
                          self.module.params["wait_timeout"], expected=planned_tasks(plan))
        self.finish(msg)

    def rebuild(self, service, wanted, facts):
        """A mode change: remove the service and create it again with the merged spec. The
        agent plans the new service before the old one goes (under no name, as the name is
        still taken: the plan's facts have none)."""
        spec = rebuilt_spec(service["Spec"], wanted)
        plan = self.plan("Cannot rebuild", "/services/create",
                         dict((k, v) for k, v in spec.items() if k != "Name"))
        plan["Spec"]["Name"] = spec["Name"]  # planned under a made-up name: the real one
        after = self.facts(plan["Spec"])
        changes = changed_facts(facts, after)
        self.result.update(changes=changes, rebuilt=True)
        self.diff = {"before": dict((n, facts[n]) for n in changes),
                     "after": dict((n, after[n]) for n in changes)}
        if not self.module.check_mode:
            self.call("Cannot remove", "delete", f"/services/{service['ID']}")
            self.result.update(changed=True, swarm_service={})
        return self.create(spec, "Service rebuilt", plan)

    def update(self, service, wanted, force, expected=None):
        """POST the merged spec; on a concurrent write, merge onto the newer spec again.
        ``expected``: the number of tasks the plan placed (for ``wait``)."""
        for attempt in range(UPDATE_RETRIES):
            known_failed = ()
            if self.module.params["wait"]:
                known_failed = set(
                    t["ID"] for t in self.call("Cannot read the tasks of", "get", "/tasks",
                                               service=service["ID"])
                    if (t.get("Status") or {}).get("State") in FAILED)
            spec = merged_spec(service["Spec"], wanted, force_update=force)
            try:
                self.client.post(f"/services/{service['ID']}/update", spec,
                                 version=service["Version"]["Index"])
                self.result["changed"] = True
                break
            except SwarmletAPIError as exc:
                if exc.status != 409 or attempt == UPDATE_RETRIES - 1:
                    self.fail(f"Cannot update service {self.name}: {exc.message}")
            service = self.current()
            if service is None:
                self.fail(f"Cannot update service {self.name}: it was removed meanwhile")
        self.result["swarm_service"] = self.facts_of(service["ID"])
        if self.module.params["wait"]:
            self.wait(wait_for_service, self.client, service["ID"],
                      self.module.params["wait_timeout"], known_failed,
                      service.get("UpdateStatus"), expected=expected)

    def wait(self, func, *args, **kwargs):
        try:
            func(*args, **kwargs)
        except ConvergeError as exc:
            self.fail(str(exc))
        except SwarmletAPIError as exc:
            self.fail(f"Cannot follow service {self.name}: {exc.message}")


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    wanted = None
    if module.params["state"] == "present":
        try:
            wanted = wanted_options(module.params)
        except SpecError as exc:
            module.fail_json(msg=str(exc))
    client = client_for(module)
    require_manager(module, client)
    manager = ServiceManager(module, client)
    if wanted is not None:
        try:
            wanted = resolve_networks(wanted, manager.network_id)
            wanted = resolve_references(wanted, manager.reference)
        except SpecError as exc:
            module.fail_json(msg=str(exc))
    if wanted is None:
        manager.absent()
    else:
        manager.present(wanted)


if __name__ == "__main__":
    main()
