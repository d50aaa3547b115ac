"""The functions a `--format` template may call: Go's text/template builtins (and, or, not,
len, index, print, printf, println, eq, ne, lt, le, gt, ge) and those Docker's CLI adds
(cli/templates: json, split, join, title, lower, upper, pad, truncate), plus the header
variants Docker uses for a table's header row, which leave the column names as they are."""

from __future__ import annotations

import re
from typing import Any

from swarmlet.spec.gotemplate.values import (
    NO_VALUE,
    Function,
    FunctionError,
    go_json,
    go_print,
    go_type,
    truth,
)


def _join(elems: Any, sep: str) -> str:
    """Docker's joinElements: a list's items (a map's values, sorted) as %v, joined."""
    if elems is None:
        return ""
    if isinstance(elems, list | tuple):
        return sep.join(go_print(e) for e in elems)
    if isinstance(elems, dict):
        return sep.join(sorted(go_print(v) for v in elems.values()))
    raise FunctionError(f"expected slice, got {go_type(elems)}")


def _split(text: str, sep: str) -> list[str]:
    return list(text) if sep == "" else text.split(sep)


def _title(text: str) -> str:
    """Go's strings.Title: a letter after a separator (not a letter, digit or _) is upper."""
    out, previous = [], " "
    for ch in text:
        separator = not (previous.isalnum() or previous == "_")
        out.append(ch.upper() if separator else ch)
        previous = ch
    return "".join(out)


def _pad(text: str, prefix: int, suffix: int) -> str:
    return text and " " * prefix + text + " " * suffix


def _truncate(text: str, length: int) -> str:
    return text if len(text) < length else text[:max(length, 0)]


def _sprint(*args: Any) -> str:
    """fmt.Sprint: a space between two operands when neither is a string."""
    out = ""
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_print(arg)
    return out


def _sprintln(*args: Any) -> str:
    return " ".join(go_print(a) for a in args) + "\n"


_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+))?([a-zA-Z%])")


def _sprintf(form: str, *args: Any) -> str:
    """fmt.Sprintf for the verbs scripts use: %s %v %d %q %t %x %X %f %e %g and %%."""
    values = list(args)

    def verb(m: re.Match[str]) -> str:
        flags, width, precision, kind = m.groups()
        if kind == "%":
            return "%"
        if not values:
            return f"%!{kind}(MISSING)"
        value = values.pop(0)
        width = width if width and width != "*" else ""
        text_spec = ("<" if "-" in flags else ">") + width + (f".{precision}" if precision else "")
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if kind in "sv" or (kind == "t" and isinstance(value, bool)):
            return format(go_print(value), text_spec)
        if kind == "q" and isinstance(value, str):
            return format(go_json(value), text_spec)
        if kind in "dxX" and number and isinstance(value, int):
            return format(value, _number_spec(flags, width, "") + kind)
        if kind in "feEgG" and number:
            return format(float(value), _number_spec(flags, width, precision) + kind)
        return f"%!{kind}({go_type(value)}={go_print(value)})"

    out = _VERB.sub(verb, form)
    if values:
        out += "%!(EXTRA " + ", ".join(f"{go_type(v)}={go_print(v)}" for v in values) + ")"
    return out


def _number_spec(flags: str, width: str, precision: str | None) -> str:
    """Go's number flags as a Python format spec: - left-aligns, + and space sign, 0 pads."""
    left = "-" in flags
    sign = "+" if "+" in flags else " " if " " in flags else ""
    zero = "0" if "0" in flags and not left else ""
    return ("<" if left else "") + sign + zero + width + (f".{precision}" if precision else "")


def _index(item: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(item, list | tuple) and isinstance(key, int) and not isinstance(key, bool):
            if not 0 <= key < len(item):
                raise FunctionError(f"index out of range: {key}")
            item = item[key]
        elif isinstance(item, dict):
            if key in item:
                item = item[key]
            else:  # Go's zero value of the map's elements: "" for labels
                item = "" if all(isinstance(v, str) for v in item.values()) else NO_VALUE
        elif item is None:
            raise FunctionError("index of untyped nil")
        elif isinstance(item, list | tuple):
            raise FunctionError(f"cannot index slice/array with type {go_type(key)}")
        else:
            raise FunctionError(f"can't index item of type {go_type(item)}")
    return item


def _len(item: Any) -> int:
    if isinstance(item, str | list | tuple | dict):
        return len(item)
    if item is None:
        raise FunctionError("len of nil pointer")
    raise FunctionError(f"len of type {go_type(item)}")


def _kind(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "int" if isinstance(value, int) else "float"
    if isinstance(value, str):
        return "string"
    return "other"


def _eq(first: Any, *others: Any) -> bool:
    if not others:
        raise FunctionError("missing argument for comparison")
    for other in others:
        kinds = {_kind(first), _kind(other)}
        if "other" in kinds:
            raise FunctionError("non-comparable type")
        if len(kinds) > 1 and "nil" not in kinds:
            raise FunctionError("incompatible types for comparison")
        if first == other:
            return True
    return False


def _less(a: Any, b: Any) -> bool:
    kinds = {_kind(a), _kind(b)}
    if kinds - {"int", "float", "string"}:
        raise FunctionError("invalid type for comparison")
    if len(kinds) > 1:
        raise FunctionError("incompatible types for comparison")
    return bool(a < b)


ANY, ANY2, REST = ("any",), ("any", "any"), ("...",)
FUNCTIONS: dict[str, Function] = {
    # Go's builtins ("and"/"or" are evaluated lazily by the executor)
    "and": Function(("any", "..."), lambda *a: a[-1]),
    "or": Function(("any", "..."), lambda *a: a[-1]),
    "not": Function(ANY, lambda v: not truth(v)),
    "len": Function(ANY, _len),
    "index": Function(("any", "..."), _index),
    "print": Function(REST, _sprint),
    "printf": Function(("string", "..."), _sprintf),
    "println": Function(REST, _sprintln),
    "eq": Function(("any", "..."), _eq),
    "ne": Function(ANY2, lambda a, b: not _eq(a, b)),
    "lt": Function(ANY2, _less),
    "le": Function(ANY2, lambda a, b: _less(a, b) or _eq(a, b)),
    "gt": Function(ANY2, lambda a, b: _less(b, a)),
    "ge": Function(ANY2, lambda a, b: _less(b, a) or _eq(a, b)),
    # Docker's (cli/templates basicFunctions)
    "json": Function(ANY, go_json),
    "split": Function(("string", "string"), _split),
    "join": Function(("any", "string"), _join),
    "title": Function(("string",), _title),
    "lower": Function(("string",), str.lower),
    "upper": Function(("string",), str.upper),
    "pad": Function(("string", "int", "int"), _pad),
    "truncate": Function(("string", "int"), _truncate),
}

# Docker's HeaderFunctions: the header row keeps its column names as they are.
HEADER_FUNCTIONS: dict[str, Function] = {
    **FUNCTIONS,
    "json": Function(("string",), lambda v: v),
    "split": Function(("string", "string"), lambda v, _: v),
    "join": Function(("string", "string"), lambda v, _: v),
    "title": Function(("string",), lambda v: v),
    "lower": Function(("string",), lambda v: v),
    "upper": Function(("string",), lambda v: v),
    "truncate": Function(("string", "int"), lambda v, _: v),
}
