# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Pure helpers of swarm_network and swarm_network_info: the NetworkSpec the options ask
for, Docker's NetworkResource view of a swarm network (what community.docker's modules
return), and what differs, as community.docker's docker_network compares them.

Standard library only and no I/O, so that tests/unit can test them without a swarm.
"""

from __future__ import annotations

import ipaddress

VXLAN_OPTION = "com.docker.network.driver.overlay.vxlanid_list"
INTERNAL_REFUSED = ("internal networks are not supported: swarmlet's overlay networks "
                    "always reach out through their nodes")


class NetworkOptionError(ValueError):
    pass


def network_resource(network):
    """Docker's NetworkResource (``docker network inspect``) of a swarm Network object."""
    if network is None:
        return None
    spec = network.get("Spec") or {}
    driver = spec.get("DriverConfiguration") or {}
    ipam = network.get("IPAM") or spec.get("IPAMOptions") or {}
    options = dict(driver.get("Options") or {})
    options.update((network.get("DriverState") or {}).get("Options") or {})
    return {
        "Name": spec.get("Name", ""),
        "Id": network.get("ID", ""),
        "Created": network.get("CreatedAt", ""),
        "Scope": "swarm",
        "Driver": driver.get("Name") or "overlay",
        "EnableIPv4": True,
        "EnableIPv6": False,
        "IPAM": {"Driver": (ipam.get("Driver") or {}).get("Name", "default"),
                 "Options": None,
                 "Config": [dict(c) for c in ipam.get("Configs") or []]},
        "Internal": False,
        "Attachable": bool(spec.get("Attachable")),
        "Ingress": bool(spec.get("Ingress")),
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": {},
        "Options": options,
        "Labels": dict(spec.get("Labels") or {}),
    }


def _strings(values, option):
    """Option values as the API takes them: strings (booleans as Docker's "true"/"false")."""
    result = {}
    for key, value in (values or {}).items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif not isinstance(value, (str, int, float)):
            raise NetworkOptionError(
                f"{option}: the value of '{key}' must be a string, got "
                f"{type(value).__name__} {value!r}")
        result[str(key)] = str(value)
    return result


def _network(text, what):
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise NetworkOptionError(f"ipam configuration: invalid {what} {text}") from None


def check_ipam_config(configs):
    """The ipam_config entries with their addresses checked, in the agent's words (a valid
    subnet, a gateway and an ip range inside it), before anything is removed or created;
    NetworkOptionError otherwise. Host bits in a subnet are the agent's to refuse."""
    for config in configs or []:
        subnet = _network(config["subnet"], "subnet")
        if config.get("iprange"):
            iprange = _network(config["iprange"], "ip range")
            if iprange.version != subnet.version or not iprange.subnet_of(subnet):
                raise NetworkOptionError(f"ipam configuration: subnet {config['subnet']} "
                                         f"does not contain ip range {config['iprange']}")
        if config.get("gateway"):
            try:
                gateway = ipaddress.ip_address(config["gateway"])
            except ValueError:
                raise NetworkOptionError(
                    f"ipam configuration: invalid gateway {config['gateway']}") from None
            if gateway not in subnet:
                raise NetworkOptionError(f"ipam configuration: subnet {config['subnet']} "
                                         f"does not contain gateway {config['gateway']}")
    return configs


def wanted_spec(params):
    """The NetworkSpec (POST /networks/create) of the module's options."""
    driver = {"Name": params["driver"]}
    options = _strings(params.get("driver_options"), "driver_options")
    if options:
        driver["Options"] = options
    spec = {"Name": params["name"],
            "Labels": _strings(params.get("labels"), "labels"),
            "DriverConfiguration": driver,
            "Attachable": bool(params.get("attachable"))}
    if params.get("internal"):
        spec["Internal"] = True
    configs = []
    for config in params.get("ipam_config") or []:
        pool = {"Subnet": config["subnet"]}
        if config.get("gateway"):
            pool["Gateway"] = config["gateway"]
        if config.get("iprange"):
            pool["Range"] = config["iprange"]
        configs.append(pool)
    if configs:
        spec["IPAMOptions"] = {"Driver": {"Name": "default"}, "Configs": configs}
    return spec


def settings(resource):
    """The module's options as a network has them (for ``diff``)."""
    if resource is None:
        return {}
    return {
        "name": resource["Name"],
        "driver": resource["Driver"],
        "driver_options": dict(resource["Options"]),
        "scope": resource["Scope"],
        "attachable": resource["Attachable"],
        "internal": resource["Internal"],
        "ipam_config": [dict((k, v) for k, v in (("subnet", c.get("Subnet")),
                                                 ("gateway", c.get("Gateway")),
                                                 ("iprange", c.get("Range") or c.get("Subnet")))
                             if v)
                        for c in resource["IPAM"]["Config"]],
        "labels": dict(resource["Labels"]),
    }


def wanted_settings(params, planned=None):
    """The options as the network would have them: the ones given, and (when the agent
    planned the creation: ``planned``, a NetworkResource) what the manager chooses."""
    after = settings(planned) if planned is not None else {}
    after.update(name=params["name"], driver=params["driver"], scope="swarm")
    for key in ("attachable", "internal"):  # a new network's default: false
        after[key] = bool(params.get(key))
    after["driver_options"] = dict(after.get("driver_options") or {},
                                   **_strings(params.get("driver_options"), "driver_options"))
    after["labels"] = dict(after.get("labels") or {}, **_strings(params.get("labels"), "labels"))
    if params.get("ipam_config") and planned is None:
        after["ipam_config"] = [dict((k, v) for k, v in c.items() if v is not None)
                                for c in params["ipam_config"]]
    return after


def _subnet(text):
    return ipaddress.ip_network(text, strict=False)


def _same_address(a, b, parse):
    try:
        return a is not None and b is not None and parse(a) == parse(b)
    except ValueError:
        return False


def differences(params, resource):
    """(name, wanted, current) of each option given that the network does not have, as
    docker_network finds them: options and labels as subsets (a key the network has beyond
    them is no difference), ipam_config entry by entry with addresses normalised."""
    found = []
    if params["driver"] != resource["Driver"]:
        found.append(("driver", params["driver"], resource["Driver"]))
    for key, value in _strings(params.get("driver_options"), "driver_options").items():
        if resource["Options"].get(key) != value:
            found.append((f"driver_options.{key}", value, resource["Options"].get(key)))
    for key in ("attachable", "internal"):
        current = resource[key.capitalize()]
        if params.get(key) is not None and params[key] != current:
            found.append((key, params[key], current))
    net_configs = resource["IPAM"]["Config"]
    net = _subnet
    for idx, config in enumerate(params.get("ipam_config") or []):
        have = next((c for c in net_configs
                     if _same_address(config["subnet"], c.get("Subnet"), net)), None)
        if have is None:
            have = net_configs[idx] if idx < len(net_configs) else {}
        current = {"subnet": have.get("Subnet"), "gateway": have.get("Gateway"),
                   # the agent keeps no range narrower than the subnet (it refuses one)
                   "iprange": have.get("Range") or have.get("Subnet")}
        checks = (("subnet", net), ("gateway", ipaddress.ip_address), ("iprange", net))
        for key, parse in checks:
            if config.get(key) and not _same_address(config[key], current[key], parse):
                found.append((f"ipam_config[{idx}].{key}", config[key], current[key]))
    for key, value in _strings(params.get("labels"), "labels").items():
        if resource["Labels"].get(key) != value:
            found.append((f"labels.{key}", value, resource["Labels"].get(key)))
    return found


def cannot_change(name, names):
    """The refusal of a change the agent cannot make in place (networks have no update)."""
    return (f"network {name} exists with other settings ({', '.join(names)}): a network's "
            "settings cannot be changed in place; set force=true to remove the network and "
            "create it again (it must not be in use)")
