# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""The syntax of a service spec's values, shared by the agent, the CLI and the Ansible modules.

Only how values are written (Go durations, Docker's sizes and CPU counts, the --mount CSV,
key=value labels), the task states and their order, and the health-check merge that Docker's
updateHealthcheck does. No defaults and no rules of a spec: those are the agent's
(swarmlet.spec.service), and clients ask it for a plan (?dry_run=1) instead.

Standard library only, and nothing newer than Python 3.8: scripts/vendor-spec.sh copies this
file into the Ansible collection as plugins/module_utils/_spec_syntax.py (as community.docker
vendors docker-py), where it runs on the target's own Python. Errors are ValueError
(SyntaxValueError) with Docker's wording; each caller names its flag or option.
"""

from __future__ import annotations

import csv
import re
from decimal import Decimal, InvalidOperation

NANO = 10**9
MAX_DURATION = 2**63 - 1  # Go's time.Duration is an int64 of nanoseconds


class SyntaxValueError(ValueError):
    """A value that is not written as its kind is; the message is Docker's (Go's) wording."""


# --- Go durations: 300ms, 5s, .5s, 1m30s, 2h --------------------------------------------------

DURATION_UNITS = {"ns": 1, "us": 10**3, "\u00b5s": 10**3, "\u03bcs": 10**3, "ms": 10**6,
                  "s": NANO, "m": 60 * NANO, "h": 3600 * NANO}
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)")


def parse_duration(text, negative=False):
    """Nanoseconds in a Go duration as time.ParseDuration reads it ("1m30s", ".5s", "300ms",
    "0"); a sign only where the caller allows a negative one. SyntaxValueError otherwise."""
    if not isinstance(text, str):
        raise SyntaxValueError(f'time: invalid duration "{text}"')
    body, sign = text, 1
    if body[:1] in ("+", "-"):
        if body[0] == "-":
            sign = -1
        body = body[1:]
    if body == "0":
        return 0
    total, pos = Decimal(0), 0
    for match in _DURATION_PART.finditer(body):
        if match.start() != pos:
            break
        total += Decimal(match.group(1)) * DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not body or pos != len(body) or total > MAX_DURATION:
        raise SyntaxValueError(f'time: invalid duration "{text}"')
    nanos = sign * int(total)
    if nanos < 0 and not negative:
        raise SyntaxValueError(f'time: invalid duration "{text}": it cannot be negative')
    return nanos


def format_duration(nanos):
    """Go's time.Duration.String(): 0s, 500ms, 1.5s, 1m30s, 1h0m0s."""
    if nanos == 0:
        return "0s"
    sign, n = ("-", -nanos) if nanos < 0 else ("", nanos)
    if n < NANO:
        for unit, scale in (("ms", 10**6), ("\u00b5s", 10**3), ("ns", 1)):
            if n >= scale:
                return sign + _fraction(n, scale) + unit
    hours, rest = divmod(n, 3600 * NANO)
    minutes, rest = divmod(rest, 60 * NANO)
    text = _fraction(rest, NANO) + "s"
    if hours or minutes:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return sign + text


def _fraction(value, scale):
    whole, frac = divmod(value, scale)
    if not frac:
        return str(whole)
    digits = len(str(scale)) - 1
    return f"{whole}." + f"{frac:0{digits}d}".rstrip("0")


# --- Docker's sizes (go-units RAMInBytes, BytesSize) and CPU counts -----------------------------

_BINARY = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
_BINARY_ABBRS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")


def ram_in_bytes(text):
    """Bytes in a size as Docker's RAMInBytes reads it: 64m, 1g, 512k, 1.5GiB, 100 MB, 42
    (binary units, whatever the case)."""
    sep = max(text.rfind(c) for c in "0123456789. ")
    if sep == -1:
        raise SyntaxValueError(f"invalid size: '{text}'")
    number, suffix = (text[:sep + 1], text[sep + 1:]) if text[sep] != " " else (
        text[:sep], text[sep + 1:])
    if not re.fullmatch(r"[0-9.]+", number):
        raise SyntaxValueError(f'strconv.ParseFloat: parsing "{number}": invalid syntax')
    try:
        size = float(number)
    except ValueError:
        raise SyntaxValueError(
            f'strconv.ParseFloat: parsing "{number}": invalid syntax') from None
    if not suffix:
        return int(size)
    low = suffix.lower()
    if len(low) > 3 or (low[0] == "b" and len(low) > 1):
        raise SyntaxValueError(f"invalid suffix: '{low}'")
    if low[0] == "b":
        return int(size)
    if low[0] not in _BINARY or (len(low) == 2 and low[1] != "b") or (
            len(low) == 3 and low[1:] != "ib"):
        raise SyntaxValueError(f"invalid suffix: '{low}'")
    return int(size * _BINARY[low[0]])


def bytes_size(size):
    """Docker's BytesSize: 536870912 -> "512MiB", 1610612736 -> "1.5GiB"."""
    i = 0
    while size >= 1024 and i < len(_BINARY_ABBRS) - 1:
        size /= 1024
        i += 1
    return f"{size:.4g}{_BINARY_ABBRS[i]}"


def nano_cpus(text):
    """NanoCPUs in a decimal CPU count ("0.5" -> 500000000), as Docker's NanoCPUs flag."""
    try:
        cpus = Decimal(str(text))
    except InvalidOperation:
        raise SyntaxValueError(f"failed to parse {text} as a rational number") from None
    if not cpus.is_finite():
        raise SyntaxValueError(f"failed to parse {text} as a rational number")
    nanos = cpus * NANO
    if nanos != nanos.to_integral_value():
        raise SyntaxValueError("value is too precise")
    return int(nanos)


def cpus_text(nanos):
    """NanoCPUs as a CPU count the way Go prints a float64: 1, 0.5, 1.25."""
    return f"{nanos / NANO:.15g}"


# --- task states (SwarmKit's api/types.proto TaskState, lower-case as Docker's API has them) ---

STATES = ("new", "pending", "assigned", "accepted", "preparing", "ready", "starting",
          "running", "complete", "shutdown", "failed", "rejected", "remove", "orphaned")
ORDER = {s: i for i, s in enumerate(STATES)}
# Observed states a task never leaves. "remove" is only ever a desired state.
TERMINAL = frozenset(("complete", "shutdown", "failed", "rejected", "orphaned"))
FAILED = frozenset(("failed", "rejected"))


def past_running(state):
    """Whether a (desired or observed) state comes after running: the task is ending or
    ended. Unknown states are not."""
    return ORDER.get(state or "", 0) > ORDER["running"]


# --- key=value ----------------------------------------------------------------------------------

def parse_labels(pairs):
    """key=value strings (a bare key: value "") as Docker's ConvertKVStringsToMap; a later
    value of a key replaces the earlier one."""
    result = {}
    for pair in pairs:
        key, value = pair.partition("=")[::2]
        if not key.strip():
            raise SyntaxValueError(f"invalid label '{pair}': empty name")
        result[key] = value
    return result


def parse_env_file(raw, path, environ=None):
    """Docker's env-file format (bytes): NAME=value lines (the value kept verbatim), #
    comments and blank lines skipped; a bare NAME takes its value from `environ`, or is
    passed on unset."""
    environ = {} if environ is None else environ
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    result = []
    for number, line_bytes in enumerate(raw.splitlines(), start=1):
        try:
            text = line_bytes.decode()
        except UnicodeDecodeError:
            raise SyntaxValueError(f"env file {path} contains invalid utf8 bytes at line "
                                   f"{number}: {line_bytes!r}") from None
        line = text.lstrip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.lstrip()
        if not name:
            raise SyntaxValueError(f"no variable name on line '{line}'")
        if any(c in name for c in " \t"):
            raise SyntaxValueError(
                f"poorly formatted environment: variable '{name}' contains whitespaces")
        if sep:
            result.append(f"{name}={value}")
        elif name in environ:
            result.append(f"{name}={environ[name]}")
        else:
            result.append(name)
    return result


def env_name(value):
    """The variable name of an Env entry ("A=1" -> "A", "A" -> "A")."""
    return value.partition("=")[0]


# --- mounts -------------------------------------------------------------------------------------

MOUNT_TYPES = ("bind", "volume", "tmpfs")
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def mount_spec(kind, target, source=None, readonly=False, tmpfs_size=None, tmpfs_mode=None,
               nocopy=None, volume_labels=None, driver=None, driver_opts=None,
               propagation=None):
    """An Engine API Mount from its parts (sizes in bytes, the mode an int, labels and
    driver options dicts); the checks Docker's CLI makes before sending it, with its words.
    A volume's driver options without a driver name are the local driver's (Docker's)."""
    if kind not in MOUNT_TYPES:
        raise SyntaxValueError(f"mount type unknown: '{kind}' (use bind, volume or tmpfs)")
    if not target:
        raise SyntaxValueError("target is required")
    tmpfs = {}
    if tmpfs_size is not None:
        tmpfs["SizeBytes"] = tmpfs_size
    if tmpfs_mode is not None:
        tmpfs["Mode"] = tmpfs_mode
    volume = _volume_options(nocopy, volume_labels, driver, driver_opts)
    if tmpfs and kind != "tmpfs":
        raise SyntaxValueError(f"cannot mix 'tmpfs-*' options with mount type '{kind}'")
    if volume is not None and kind != "volume":
        raise SyntaxValueError(f"cannot mix 'volume-*' options with mount type '{kind}'")
    if propagation is not None and kind != "bind":
        raise SyntaxValueError(f"cannot mix 'bind-*' options with mount type '{kind}'")
    if propagation is not None and propagation not in BIND_PROPAGATIONS:
        raise SyntaxValueError(f"invalid bind propagation: {propagation!r} (use "
                               f"{', '.join(BIND_PROPAGATIONS)})")
    if kind == "bind" and not source:
        raise SyntaxValueError('invalid mount config for type "bind": field Source must not '
                               "be empty")
    if kind == "tmpfs" and source:
        raise SyntaxValueError('invalid mount config for type "tmpfs": field Source must not '
                               "be specified")
    mount = {"Type": kind, "Target": target}
    if source:
        mount["Source"] = source
    if readonly:
        mount["ReadOnly"] = True
    if tmpfs:
        mount["TmpfsOptions"] = tmpfs
    if volume is not None:
        mount["VolumeOptions"] = volume
    if propagation is not None:
        mount["BindOptions"] = {"Propagation": propagation}
    return mount


def _volume_options(nocopy, labels, driver, driver_opts):
    """A Mount's VolumeOptions, or None when no volume option was given (as Docker's CLI
    makes them only for a volume-* option)."""
    if nocopy is None and labels is None and driver is None and driver_opts is None:
        return None
    volume = {}
    if nocopy:
        volume["NoCopy"] = True
    if labels:
        volume["Labels"] = dict(labels)
    if driver is not None or driver_opts is not None:
        config = {}
        if driver:
            config["Name"] = driver
        if driver_opts:
            config["Options"] = dict(driver_opts)
        volume["DriverConfig"] = config
    return volume


def _set_on_map(target, key_value):
    """Docker's setValueOnMap: "k=v" (or "k", an empty value) into a dict; "=v" is skipped."""
    key, value = key_value.partition("=")[::2]
    target = {} if target is None else target
    if key:
        target[key] = value
    return target


def _bool_field(key, val, has_value):
    if not has_value:
        return True
    if val not in _TRUE + _FALSE:
        raise SyntaxValueError(f"invalid value for {key}: {val}")
    return val in _TRUE


_FLAGS = ("readonly", "ro", "volume-nocopy")  # fields that may stand without a value


def parse_mount(value):
    """Docker's --mount CSV: type=bind|volume|tmpfs,source=,target=,readonly,tmpfs-size=,
    tmpfs-mode=,volume-driver=,volume-opt=k=v,volume-label=k=v,volume-nocopy,
    bind-propagation= (type volume unless given)."""
    try:
        fields = next(csv.reader([value]), [])
    except csv.Error as exc:
        raise SyntaxValueError(str(exc)) from None
    parts = {"kind": "volume", "target": None, "source": None, "readonly": False}
    for field in fields:
        key, sep, val = field.partition("=")
        key = key.lower()
        if not sep and key not in _FLAGS:
            raise SyntaxValueError(f"invalid field '{field}' must be a key=value pair")
        if key == "type":
            parts["kind"] = val.lower()
        elif key in ("source", "src"):
            parts["source"] = val
        elif key in ("target", "dst", "destination"):
            parts["target"] = val
        elif key in ("readonly", "ro"):
            parts["readonly"] = _bool_field(key, val, bool(sep))
        elif key == "volume-nocopy":
            parts["nocopy"] = _bool_field(key, val, bool(sep))
        elif key == "volume-label":
            parts["volume_labels"] = _set_on_map(parts.get("volume_labels"), val)
        elif key == "volume-driver":
            parts["driver"] = val
        elif key == "bind-propagation":
            parts["propagation"] = val.lower()
        elif key == "volume-opt":
            parts["driver_opts"] = _set_on_map(parts.get("driver_opts"), val)
        elif key == "tmpfs-size":
            try:
                parts["tmpfs_size"] = ram_in_bytes(val)
            except ValueError:
                raise SyntaxValueError(f"invalid value for {key}: {val}") from None
        elif key == "tmpfs-mode":
            parts["tmpfs_mode"] = parse_file_mode(val, key)
        else:
            raise SyntaxValueError(f"unexpected key '{key}' in '{field}'")
    return mount_spec(**parts)


def parse_file_mode(text, key="mode"):
    """An octal file mode ("1777", "0644", "0o644")."""
    digits = text.strip().lower()
    digits = digits[2:] if digits.startswith("0o") else digits
    if not digits or any(c not in "01234567" for c in digits):
        raise SyntaxValueError(f"invalid value for {key}: {text}")
    return int(digits, 8)


# --- container options: ulimits, extra hosts, bind propagation -------------------------------

BIND_PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")


def parse_ulimit(text):
    """`--ulimit name=soft[:hard]` (go-units ParseUlimit) -> {"Name", "Soft", "Hard"}; a
    limit given once is both. Which names and values are allowed is the agent's rule."""
    name, sep, values = text.partition("=")
    if not sep:
        raise SyntaxValueError(f"invalid ulimit argument: {text}")
    soft_text, colon, hard_text = values.partition(":")
    try:
        soft = int(soft_text, 10)
        hard = int(hard_text, 10) if colon else soft
    except ValueError:
        raise SyntaxValueError(f"invalid ulimit argument: {text}") from None
    return {"Name": name, "Soft": soft, "Hard": hard}


def host_entry(text):
    """`--host name:IP` (or name=IP) as the spec's Hosts entry, "IP name" (Docker's CLI
    convertExtraHostsToSwarmHosts). An IPv6 address keeps its colons: the name is what
    comes before the first separator."""
    cut = min((i for i in (text.find("="), text.find(":")) if i >= 0), default=-1)
    if cut <= 0 or cut == len(text) - 1:
        raise SyntaxValueError(f"bad format for add-host: {text!r}")
    name, address = text[:cut], text[cut + 1:]
    if address.startswith("[") and address.endswith("]"):
        address = address[1:-1]
    return f"{address} {name}"


# --- health checks ------------------------------------------------------------------------------

HEALTH_DURATIONS = ("Interval", "Timeout", "StartPeriod")


def merge_healthcheck(old, given):
    """The health-check settings given over the current ones, as Docker's updateHealthcheck
    (on create there are none): a NONE test disables it; other settings drop a NONE test;
    a setting given as 0 (or an empty test) is the image's again, so it goes. None when
    nothing is left."""
    if (given.get("Test") or [])[:1] == ["NONE"]:
        return {"Test": ["NONE"]}
    merged = dict((k, v) for k, v in (old or {}).items()
                  if not (k == "Test" and (v or [])[:1] == ["NONE"]))
    for key, value in given.items():
        if value in (None, 0, []):
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged or None
