"""Every class of bad compose file is refused with the file, the key and the problem named
(in Docker's words where Docker has them), before anything could be created."""

from __future__ import annotations

import pytest
import yaml

from swarmlet.errors import SwarmletError
from swarmlet.spec.compose import ComposeError, load_stack

BAD = [
    ("services: {web: {image: a, foo: 1}}",
     "services.web.foo: Additional property foo is not allowed"),
    ("services: {web: {image: a, deploy: {replica: 2}}}",
     "services.web.deploy.replica: Additional property replica is not allowed"),
    ("services: {web: {image: a, deploy: {replicas: [1]}}}",
     "services.web.deploy.replicas: must be an integer"),
    ("services: {web: {image: a, deploy: {replicas: x}}}",
     'services.web.deploy.replicas: strconv.Atoi: parsing "x": invalid syntax'),
    ("services: {web: {image: a, ports: [3.5]}}",
     "services.web.ports.0: must be an integer, string or mapping"),
    ("services: {web: {image: a, environment: 3}}",
     "services.web.environment: must be a list or mapping"),
    ("services: {web: {image: a, cap_add: NET_ADMIN}}", "services.web.cap_add: must be a list"),
    ("services: {web: }", "services.web: must be a mapping"),
    ("- a", "top-level object must be a mapping"),
    ("services: {'we b': {image: a}}",
     "services.we b: does not match pattern ^[a-zA-Z0-9._-]+$"),
    ("version: '3.6'\nservices: {web: {image: a, init: true}}",
     "services.web.init: Additional property init is not allowed (version 3.6; it needs "
     "version 3.7)"),
    ("version: '3.3'\nx-common: 1\nservices: {web: {image: a}}",
     "x-common: Additional property x-common is not allowed (version 3.3; it needs version "
     "3.4)"),
    ("version: '3.8'\nservices: {web: {image: a, platform: linux/arm64}}",
     "services.web.platform: Additional property platform is not allowed (version 3.8; it "
     "needs a file without version)"),
    ("version: '2.4'\nservices: {web: {image: a}}",
     "version: unsupported Compose file version: 2.4"),
    ("services: {web: {image: a, mem_limit: 1g}}",
     "services.web.mem_limit: compose file contains unsupported options: mem_limit: Set "
     "resource limits using deploy.resources"),
    ("services: {web: {image: a, volumes_from: [db]}}",
     "services.web.volumes_from: compose file contains unsupported options: volumes_from: "),
    ("services: {web: {image: a, networks: [x]}}",
     'services.web.networks: undefined network "x"'),
    ("services: {web: {image: a, volumes: ['x:/data']}}",
     'services.web.volumes.0: undefined volume "x"'),
    ("services: {web: {image: a, secrets: [x]}}", 'services.web.secrets.0: undefined secret "x"'),
    ("services: {web: {environment: [A=1]}}",
     "services.web.image: invalid image reference for service web: no image specified"),
    ("services: {web: {image: a, ports: ['abc']}}",
     "services.web.ports.0: invalid containerPort: abc"),
    ("services: {web: {image: a, ports: ['80-81:90-92']}}",
     "services.web.ports.0: invalid ranges specified for container and host Ports: 90-92 and "
     "80-81"),
    ("services: {web: {image: a, stop_grace_period: 1x}}",
     'services.web.stop_grace_period: time: invalid duration "1x"'),
    ("services: {web: {image: a, deploy: {mode: global, replicas: 2}}}",
     "services.web.deploy.mode: replicas can only be used with replicated or replicated-job "
     "mode"),
    ("services: {web: {image: a, deploy: {mode: daemon}}}",
     "services.web.deploy.mode: unknown mode: daemon"),
    ("services: {web: {image: a, deploy: {replicas: 100000000}}}",
     "services.web.deploy.replicas: must be at most 10000"),
    ("services: {web: {image: a, deploy: {restart_policy: {condition: sometimes}}}}",
     'services.web.deploy.restart_policy: invalid restart condition "sometimes": expected '
     "any, on-failure or none"),
    ("services: {web: {image: a, deploy: {update_config: {failure_action: explode}}}}",
     "services.web.deploy.update_config: unrecognized update failure action explode"),
    ("services: {web: {image: a, deploy: {placement: {constraints: ['node.role = x']}}}}",
     "services.web.deploy.placement: constraint expected one operator from ==, !="),
    ("services: {web: {image: a, deploy: {endpoint_mode: dnsrr}, ports: ['80:80']}}",
     "services.web.ports: EndpointSpec: port published with ingress mode can't be used with "
     "dnsrr mode"),
    ("services: {web: {image: a, volumes: ['/:/host']}}",
     "services.web.volumes.0: invalid mount config for type \"bind\": the host's / may only "
     "be mounted read-only"),
    ("services: {web: {image: a, volumes: ['./data:/data']}}",
     "services.web.volumes.0: bind source './data' is relative to the client's directory"),
    ("services: {web: {image: a, volumes: [{type: npipe, source: x, target: /y}]}}",
     "services.web.volumes.0: volume type npipe: named pipes are Windows only"),
    ("services: {web: {image: a, healthcheck: {disable: true, test: [CMD, x]}}}",
     "services.web.healthcheck: test and disable can't be set at the same time"),
    ("services: {web: {image: a, ulimits: {nofile: {soft: 1}}}}",
     "services.web.ulimits.nofile.hard: hard is required"),
    ("services: {web: {image: a, isolation: hyperv}}",
     'services.web.isolation: invalid isolation "hyperv": only "default" exists on Linux'),
    ("services: {web: {image: a, env_file: x.env}}",
     "services.web.env_file: env file x.env was not sent with the request"),
    ("services: {web: {image: a}}\nsecrets: {s: {labels: [a=b]}}",
     "secrets.s: file (or external: true) is required"),
    ("version: '3.8'\nservices: {web: {image: a}}\nsecrets: {s: {driver: vault}}",
     "secrets.s.driver: secret drivers are not supported by swarmlet"),
    ("volumes: {v: {external: true, driver: foo}}\nservices: {web: {image: a}}",
     'volumes.v: conflicting parameters "external" and "driver" specified for volume "v"'),
    ("networks: {n: {external: {name: a}, name: b}}\nservices: {web: {image: a}}",
     "networks.n: network.external.name and network.name conflict; only use network.name"),
    ("networks: {default: {internal: true}}\nservices: {web: {image: a}}",
     "networks.default.internal: internal: not supported: swarmlet's overlay networks always "
     "reach out through their nodes"),
    ("networks: {n: {ipam: {driver: dhcp}}}\nservices: {web: {image: a, networks: [n]}}",
     "networks.n.ipam.driver: IPAM driver dhcp: not supported"),
    ("include: [other.yml]\nservices: {web: {image: a}}",
     "include: include is not supported by swarmlet stacks"),
]


@pytest.mark.parametrize(("text", "expected"), BAD, ids=[b[1].split(":")[0] for b in BAD])
def test_a_bad_file_names_its_file_and_key(text, expected):
    with pytest.raises(ComposeError) as exc:
        load_stack("app", [{"Filename": "stack.yml", "Config": yaml.safe_load(text)}], {})
    assert str(exc.value).startswith(f"stack.yml: {expected}")


def test_the_second_file_is_named_when_it_is_the_bad_one():
    good = {"version": "3.8", "services": {"web": {"image": "a"}}}
    bad = {"version": "3.8", "services": {"web": {"deploy": {"replicas": "many"}}}}
    with pytest.raises(ComposeError) as exc:
        load_stack("app", [{"Filename": "base.yml", "Config": good},
                           {"Filename": "prod.yml", "Config": bad}], {})
    assert str(exc.value) == ('prod.yml: services.web.deploy.replicas: strconv.Atoi: parsing '
                              '"many": invalid syntax')


def test_files_of_two_versions_are_refused_as_docker_refuses_them():
    with pytest.raises(ComposeError) as exc:
        load_stack("app", [{"Filename": "a.yml", "Config": {"version": "3.8", "services": {}}},
                           {"Filename": "b.yml", "Config": {"version": "3.9", "services": {}}}],
                   {})
    assert str(exc.value) == ("b.yml: version: version mismatched between two composefiles : "
                              "3.8 and 3.9")


def test_no_file_is_refused():
    with pytest.raises(SwarmletError, match="no compose file given"):
        load_stack("app", [], {})
