"""Service specs as the manager reads them. The rules, defaults and messages live in the spec
core (swarmlet.spec.service); this module keeps the names the manager's loops import."""

from __future__ import annotations

from swarmlet.spec.service import (
    DEFAULT_RESTART,
    DEFAULT_UPDATE,
    SECOND,
    mode_of,
    normalise_spec,
    random_name,
    replicas_of,
)

__all__ = ["DEFAULT_RESTART", "DEFAULT_UPDATE", "SECOND", "mode_of", "normalise_spec",
           "random_name", "replicas_of"]
