"""The two kinds of data objects, secrets and configs: what tells them apart. A module of its
own, without imports, so the API can register their routes on a node that is no manager."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    name: str  # "secret" or "config": the store kind and the word in messages
    max_bytes: int
    shows_data: bool  # inspect returns Spec.Data
    refs: str  # where a ContainerSpec lists them: "Secrets" or "Configs"


SECRET = Kind("secret", 512000, False, "Secrets")
CONFIG = Kind("config", 1024000, True, "Configs")
