"""A stack's names and labels (cli/compose/convert/compose.go): objects are named
STACK_name and carry the label com.docker.stack.namespace=STACK; a service also records the
image its compose file names (com.docker.stack.image)."""

from __future__ import annotations

LABEL_NAMESPACE = "com.docker.stack.namespace"
LABEL_IMAGE = "com.docker.stack.image"
DEFAULT_NETWORK = "default"


def scope(stack: str, name: str) -> str:
    return f"{stack}_{name}"


def with_stack_label(stack: str, labels: dict[str, str] | None) -> dict[str, str]:
    return {**(labels or {}), LABEL_NAMESPACE: stack}


def stack_of(obj: dict) -> str | None:
    """The stack an object belongs to (its namespace label), or None."""
    return ((obj.get("Spec") or {}).get("Labels") or {}).get(LABEL_NAMESPACE)
