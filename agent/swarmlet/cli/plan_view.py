"""`--dry-run`: the agent's plan of a change, printed as tables (nothing was written).

The plan comes from the agent (?dry_run=1); this only lays it out: what changes, field by
field, whether tasks are replaced, and where tasks would run — or why they cannot.
"""

from __future__ import annotations

import json
from typing import Any

from swarmlet.cli.table import print_table

MAX_CELL = 40  # a long value (a whole mount list) is cut in the table; --format json has it


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 3] + "..."


def print_plan(plan: dict[str, Any]) -> None:
    """A plan as tables: the object and action, the changed fields, then the placement."""
    replaced = plan.get("TasksReplaced")
    head = ["NAME", "ACTION"] + (["TASKS REPLACED"] if replaced is not None else [])
    row = [plan.get("Name") or plan.get("ID") or "-", plan["Action"]]
    if replaced is not None:
        row.append("yes" if replaced else "no")
    print_table(head, [row])
    changes = plan.get("Diff") or []
    print()
    if changes:
        print_table(["FIELD", "CURRENT", "PLANNED"],
                    [[c["Path"], _cell(c["Old"]), _cell(c["New"])] for c in changes])
    else:
        print("No changes.")
    placement = plan.get("Placement")
    if placement is None:
        return
    now = plan.get("CurrentPlacement") or {}
    planned = placement.get("Nodes") or {}
    print()
    nodes = sorted(set(now) | set(planned))
    if nodes:
        print_table(["NODE", "TASKS NOW", "TASKS PLANNED"],
                    [[n, str(now.get(n, 0)), str(planned.get(n, 0))] for n in nodes])
    else:
        print("No tasks placed.")
    unplaced = placement.get("Unplaced") or []
    if unplaced:
        print()
        print_table(["UNPLACED", "REASON"], [[str(u["Tasks"]), u["Reason"]] for u in unplaced])


def show(plan: dict[str, Any], output: str = "table") -> None:
    if output == "json":
        print(json.dumps(plan, indent=4))
    else:
        print_plan(plan)
