"""Whether this host's kernel could carry encrypted overlays: what Docker's overlay driver
needs for `--opt encrypted` (IPsec ESP in transport mode between nodes, XFRM states and
policies for the VXLAN traffic, and the AEAD rfc4106(gcm(aes))).

Swarmlet programs no IPsec, so an encrypted overlay is always refused (spec/network.py); this
finding only makes the refusal say what is missing here. It is read once per process, from
/proc, /sys, /lib/modules and one AF_ALG bind: nothing is loaded or changed. A module that
exists but is not loaded counts as present (the kernel loads esp4 when a state asks for it).
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
from pathlib import Path

AEAD = "rfc4106(gcm(aes))"
ESP_SYMBOL = "esp4_rcv_cb"  # a function of net/ipv4/esp4.c, built in or loaded


def kernel_release() -> str:
    return os.uname().release


@functools.cache
def missing_esp_support() -> tuple[str, ...]:
    """What this kernel lacks for IPsec ESP overlays, by name ("xfrm", "esp4", the AEAD);
    empty when it has all of it."""
    missing = []
    if not Path("/proc/sys/net/core/xfrm_acq_expires").exists():
        missing.append("xfrm")
    if not _has_module("esp4", ESP_SYMBOL):
        missing.append("esp4")
    if not _has_aead(AEAD):
        missing.append(AEAD)
    return tuple(missing)


def _has_module(name: str, symbol: str) -> bool:
    if Path("/sys/module", name).exists():
        return True
    modules = Path("/lib/modules", kernel_release())
    for listing in ("modules.builtin", "modules.dep"):
        with contextlib.suppress(OSError):
            if f"/{name}.ko" in (modules / listing).read_text():
                return True
    with contextlib.suppress(OSError), open("/proc/kallsyms") as symbols:
        return any(line.split()[2:3] == [symbol] for line in symbols)
    return False


def _has_aead(name: str) -> bool:
    """The kernel's crypto API instantiates a template on a bind of an AF_ALG socket, so a
    bind tells what /proc/crypto (only what was used so far) cannot."""
    try:
        with socket.socket(socket.AF_ALG, socket.SOCK_SEQPACKET, 0) as alg:
            alg.bind(("aead", name))
            return True
    except FileNotFoundError:
        return False
    except OSError:  # no AF_ALG here: what was instantiated so far
        with contextlib.suppress(OSError):
            return any(line.split(":", 1)[-1].strip() == name
                       for line in Path("/proc/crypto").read_text().splitlines()
                       if line.startswith("name"))
        return False
