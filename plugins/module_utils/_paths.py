# Copyright (c) Swarmlet developers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Reading and writing nested keys of API objects, such as
``("TaskTemplate", "ContainerSpec", "Env")``."""

from __future__ import annotations


def get_path(obj, path):
    """The value at path, or None where any step is missing."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def set_path(obj, path, value):
    """Set the value at path, making the dicts on the way; None removes the key."""
    for key in path[:-1]:
        if not isinstance(obj.get(key), dict):
            obj[key] = {}
        obj = obj[key]
    if value is None:
        obj.pop(path[-1], None)
    else:
        obj[path[-1]] = value
