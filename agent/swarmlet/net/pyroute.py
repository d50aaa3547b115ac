"""The pyroute2 classes the dataplane uses, imported without pyroute2's package __init__.

pyroute2/__init__.py imports the whole library up front (NDB with sqlite3, IPDB, nl80211,
devlink, wireguard, plan9...): ~6 MB resident in every agent for classes it never uses. So
the package goes into sys.modules without running its __init__ (its submodules import as
usual), and the first use of a name that only __init__ defines (`from pyroute2 import NDB`,
`pyroute2.IPDB`) runs it then: other importers of pyroute2 keep working.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType
from typing import Any


def _defer_package_init(name: str = "pyroute2") -> None:
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        return  # not installed: the imports below say so
    package = importlib.util.module_from_spec(spec)
    lock = threading.RLock()
    ran: list[bool] = []

    def __getattr__(attr: str) -> Any:  # a module attribute hook (PEP 562)
        if attr.startswith("__"):
            raise AttributeError(attr)
        try:  # `from pyroute2 import config` inside pyroute2: a submodule
            return importlib.import_module(f"{name}.{attr}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{name}.{attr}":
                raise
        with lock:
            if not ran:
                ran.append(True)
                spec.loader.exec_module(package)  # type: ignore[union-attr]
        try:
            return package.__dict__[attr]
        except KeyError:
            raise AttributeError(f"module {name!r} has no attribute {attr!r}") from None

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules[name] = package


def package_initialised(module: ModuleType | None = None) -> bool:
    """Whether pyroute2's own __init__ has run (for the test that it did not)."""
    module = module or sys.modules.get("pyroute2")
    return module is not None and "IPRoute" in module.__dict__


_defer_package_init()

# ruff: noqa: E402 - after the package is in place
from pyroute2.iproute.linux import IPRoute
from pyroute2.ipvs import IPVS, IPVSDest, IPVSService
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple, NFCTSocket
from pyroute2.netlink.rtnl import ndmsg

__all__ = ["IPVS", "IPRoute", "IPVSDest", "IPVSService", "NFCTAttrTuple", "NFCTSocket",
           "NetlinkError", "ndmsg"]
