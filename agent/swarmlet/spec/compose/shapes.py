"""The short syntaxes of a compose file made long, as Docker's loader transforms them
(cli/compose/loader/loader.go): ports "8080:80/udp", volumes "data:/srv:ro", secrets by
name, environment and labels as lists, networks as a list, commands as one string.
Values are written as Go's fmt.Sprint writes them (3 -> "3", 1.5 -> "1.5", true -> "true").
Errors are ValueError with Docker's words; the caller names the key."""

from __future__ import annotations

import ipaddress
import shlex
from decimal import Decimal
from typing import Any

PROTOCOLS = ("tcp", "udp", "sctp")
PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")


def go_string(value: Any) -> str:
    """fmt.Sprint of a YAML scalar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _go_float(value: float) -> str:
    """strconv.FormatFloat(v, 'g', -1, 64), as %v prints a float64: 1, 0.5, 1e+08."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + int(exponent)  # digits before the decimal point
    exp = point - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:  # Go: "if precision was the shortest possible, use 6"
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return f"{prefix}{text[:point]}.{text[point:]}"


def mapping(value: Any, allow_nil: bool) -> dict[str, str | None]:
    """A list of key[=value] strings or a mapping, as a mapping (Docker's
    transformMappingOrList): a key without a value is None when `allow_nil` (environment:
    taken from the client's environment), "" otherwise (labels)."""
    if value is None:
        return {}
    result: dict[str, str | None] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            result[key] = go_string(item) if item is not None else (None if allow_nil else "")
        return result
    for entry in value:
        key, sep, item = entry.partition("=")
        result[key] = item if sep else (None if allow_nil else "")
    return result


def strings(value: Any) -> list[str]:
    """A string or a list of strings, as a list."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def command(value: Any) -> list[str] | None:
    """A command as one string (split as a shell would, Docker's shlex) or as a list."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise ValueError(str(exc)) from None
    return list(value)


def hosts(value: Any) -> list[str]:
    """extra_hosts as "host:ip" entries (Docker's transformHostsList): a mapping, or a list
    of host=ip or host:ip; an IPv6 address loses its brackets."""
    if value is None:
        return []
    if isinstance(value, dict):
        pairs = sorted(f"{k}:{go_string(v)}" for k, v in value.items() if v is not None)
    else:
        pairs = []
        for entry in value:
            for sep in ("=", ":"):
                if sep in entry:
                    key, _, item = entry.partition(sep)
                    pairs.append(f"{key}:{item}")
                    break
    result = []
    for pair in pairs:
        host, _, ip = pair.partition(":")
        if len(ip) > 2 and ip[0] == "[" and ip[-1] == "]":
            ip = ip[1:-1]
        result.append(f"{host}:{ip}")
    return result


def networks(value: Any) -> dict[str, dict[str, Any] | None]:
    """A service's networks: a list of names, or a mapping of names to their settings."""
    if isinstance(value, list):
        return {name: None for name in value}
    return dict(value or {})


def file_ref(value: Any) -> dict[str, Any]:
    """A service's secret or config: a name, or the long syntax."""
    return {"source": value} if isinstance(value, str) else dict(value)


# --- ports: [ip:][published:]target[/protocol] (nat.ParsePortSpecs, ConvertPortToPortConfig) --

def _port_range(text: str, what: str) -> tuple[int, int]:
    start, sep, end = text.partition("-")
    try:
        low = int(start) if start.isdigit() else -1
        high = (int(end) if end.isdigit() else -1) if sep else low
    except ValueError:
        low = high = -1
    if not 0 <= low <= 65535 or not 0 <= high <= 65535 or high < low:
        raise ValueError(f"invalid {what}: {text}")
    return low, high


def ports(spec: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The port configs of one short port spec, and Docker's warning for an IP address it
    ignores (a service listens on every address)."""
    raw = str(spec)
    parts = raw.split(":")
    container = parts[-1]
    host = parts[-2] if len(parts) >= 2 else ""
    ip = ":".join(parts[:-2]) if len(parts) >= 3 else ""
    proto = "tcp"
    if "/" in container:
        container, _, proto = container.partition("/")
        proto = proto or "tcp"
    if ip.startswith("[") and ip.endswith("]"):
        ip = ip[1:-1]
    if ip:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            raise ValueError(f"invalid IP address: {ip}") from None
    if not container:
        raise ValueError(f"no port specified: {raw}<empty>")
    start, end = _port_range(container, "containerPort")
    host_start, host_end = _port_range(host, "hostPort") if host else (0, 0)
    if host and end - start != host_end - host_start and end != start:
        raise ValueError(f"invalid ranges specified for container and host Ports: "
                         f"{container} and {host}")
    if proto.lower() not in PROTOCOLS:
        raise ValueError(f"invalid proto: {proto}")
    configs = []
    for i in range(end - start + 1):
        if start == end and host_start != host_end:  # one port, published on a range
            published = list(range(host_start, host_end + 1))
        else:
            published = [host_start + i if host else 0]
        configs += [{"target": start + i, "published": p, "protocol": proto.lower(),
                     "mode": "ingress"} for p in published]
    warning = None
    if ip and not address.is_unspecified:
        warning = (f"ignoring IP-address ({ip}:{host}:{container}/{proto}) service will "
                   "listen on '0.0.0.0'")
    return configs, warning


# --- volumes: [source:]target[:options] (volumespec.Parse) --------------------------------------

def volume(spec: str) -> dict[str, Any]:
    """A short volume spec in the long syntax."""
    if not spec:
        raise ValueError("invalid empty volume spec")
    if len(spec) <= 2:
        return {"type": "volume", "target": spec}
    fields = spec.split(":")
    if any(not f for f in fields):
        raise ValueError(f"invalid spec: {spec}: empty section between colons")
    if len(fields) > 3:
        raise ValueError(f"invalid spec: {spec}: too many colons")
    result: dict[str, Any] = {}
    if len(fields) == 1:
        result["target"] = fields[0]
    else:
        result["source"], result["target"] = fields[0], fields[1]
    if len(fields) == 3:
        for option in fields[2].split(","):
            if option in ("ro", "rw"):
                result["read_only"] = option == "ro"
            elif option == "nocopy":
                result["volume"] = {"nocopy": True}
            elif option in PROPAGATIONS:
                result["bind"] = {"propagation": option}
            # other options (z, Z, ...) are ignored, as Docker ignores them
    source = result.get("source", "")
    is_path = bool(source) and (source[0] in "./~")
    result["type"] = "bind" if is_path else "volume"
    return result
