"""The rules of a network's driver options that are swarmlet's own, for every way a network
is made (`network create`, the API, a stack's networks with their driver_opts).

`encrypted`: Docker's overlay driver turns it on by the key alone, whatever its value
("false" too), and then keeps the overlay's VXLAN traffic in IPsec ESP between nodes.
Swarmlet programs no IPsec, so such a network is refused before anything is made: never
made and left unencrypted behind the user's back.
"""

from __future__ import annotations

from typing import Any

from swarmlet.spec.errors import SpecError

ENCRYPTED = "encrypted"
FIELD = "DriverConfiguration.Options"


def check_driver_options(spec: dict[str, Any], missing: tuple[str, ...],
                         kernel: str) -> None:
    """Refuse an encrypted overlay, saying why: what the manager's kernel (`kernel`, its
    release) lacks for IPsec ESP (`missing`, net/ipsec.py's finding), or, on a kernel with
    all of it, that swarmlet does not encrypt overlays."""
    options = (spec.get("DriverConfiguration") or {}).get("Options") or {}
    if ENCRYPTED not in options:
        return
    name = spec.get("Name") or ""
    if missing:
        raise SpecError(
            f"network {name}: --opt encrypted needs IPsec ESP (XFRM, esp4 and "
            f"rfc4106(gcm(aes)) in the kernel), which this swarm's kernel lacks (Linux "
            f"{kernel} on this manager has no {', '.join(missing)}): refused rather than left "
            "unencrypted", FIELD)
    raise SpecError(
        f"network {name}: --opt encrypted: swarmlet does not program IPsec between nodes yet, "
        f"although this manager's kernel (Linux {kernel}) has IPsec ESP: refused rather than "
        "left unencrypted", FIELD)
