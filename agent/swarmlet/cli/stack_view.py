"""How `stack deploy` and `stack rm` report what the manager did, in Docker's lines, and how
`stack deploy --dry-run` shows the plan: pure functions from the answers of POST
/stacks/deploy and DELETE /stacks/{name} to text, as Docker's CLI prints them.

Docker's `stack deploy` prints "Creating network|secret|config NAME" for objects it creates,
"Updating service NAME (id: ID)" for every service that exists already (it sends every one
again), and nothing for networks, secrets and configs that exist. Warnings go to stderr
before those lines, with a blank line after them.
"""

from __future__ import annotations

from typing import Any

from swarmlet.cli.plan_view import _cell
from swarmlet.cli.service_format import natural_key
from swarmlet.cli.table import print_table

Obj = dict[str, Any]
NAMESPACE_LABEL = "com.docker.stack.namespace"
DETACH_NOTE = ("Since --detach=false was not specified, tasks will be created in the "
               "background.\nIn a future release, --detach=false will become the default.")
CHANGES = ("create", "update", "remove")


def action_line(step: Obj) -> str | None:
    """Docker's line for one step of an applied plan (None: Docker prints nothing)."""
    kind, name, action = step.get("Kind", ""), step.get("Name", ""), step.get("Action", "")
    if action == "create":
        return f"Creating {kind} {name}"
    if action == "remove":
        return f"Removing {kind} {name}"
    if kind == "service":  # update or unchanged: Docker sends every service again
        return f"Updating service {name} (id: {step.get('ID', '')})"
    return None


def deploy_lines(answer: Obj) -> list[str]:
    return [line for line in map(action_line, answer.get("Plan") or []) if line]


def warning_text(answer: Obj) -> str | None:
    """The warnings as Docker prints them on stderr (then a blank line), or None."""
    warnings = answer.get("Warnings") or []
    return "\n".join(warnings) + "\n" if warnings else None


def removal_lines(answer: Obj) -> list[str]:
    """DELETE /stacks/{name}: "Removing service X", ... in the order the manager removed."""
    return [f"Removing {r.get('Kind', '')} {r.get('Name', '')}"
            for r in answer.get("Removed") or []]


def has_changes(answer: Obj) -> bool:
    return any(step.get("Action") in CHANGES for step in answer.get("Plan") or [])


def print_plan(answer: Obj) -> None:
    """--dry-run: every object and what the deploy would do to it, then the changed fields of
    each object that would be updated."""
    plan = answer.get("Plan") or []
    if not plan:
        print("No objects in the stack.")
        return
    print_table(["KIND", "NAME", "ACTION", "ID"],
                [[s.get("Kind", ""), s.get("Name", ""), s.get("Action", ""),
                  (s.get("ID") or "-")[:12]] for s in plan])
    for step in plan:
        diff = step.get("Diff") or []
        if step.get("Action") != "update" or not diff:
            continue
        print(f"\n{step.get('Kind', '')} {step.get('Name', '')}:")
        print_table(["FIELD", "CURRENT", "PLANNED"],
                    [[c.get("Path", ""), _cell(c.get("Old")), _cell(c.get("New"))]
                     for c in diff])
    if not has_changes(answer):
        print("\nNo changes.")


def in_stack(obj: Obj, stack: str) -> bool:
    """Whether an object (a service, network, ...) carries the stack's namespace label."""
    return ((obj.get("Spec") or {}).get("Labels") or {}).get(NAMESPACE_LABEL) == stack


def stack_rows(stacks: list[Obj]) -> list[Obj]:
    """`stack ls` rows, keyed as Docker's --format json ("Services" a string, as Docker's)."""
    ordered = sorted(stacks, key=lambda s: natural_key(str(s.get("Name", ""))))
    return [{"Name": s.get("Name", ""), "Services": str(s.get("Services", 0))}
            for s in ordered]
