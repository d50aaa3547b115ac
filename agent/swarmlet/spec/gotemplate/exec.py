"""Executing a parsed Go template (gotemplate_parse) over JSON-like data, as Go's text/template
does (exec.go): fields of rows and maps, variables, function calls with Go's argument checks,
if/range/with, and Go's fmt %v printing. Errors are Go's, with their position:
`template: :1:2: executing "" at <.Foo>: can't evaluate field Foo in type *service.serviceContext`.

A row of `ls`/`ps` is a GoStruct (Docker's formatter contexts: a fixed set of methods, some
taking arguments such as `Label`); an inspected object is plain dicts and lists (Docker's raw
fallback with missingkey=error), whose label maps answer a missing key with "<no value>".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from swarmlet.spec.gotemplate.nodes import (
    Action,
    Branch,
    Chain,
    Command,
    Dot,
    Field,
    Ident,
    Literal,
    LoopControl,
    Node,
    Pipe,
    TemplateError,
    Text,
    Variable,
)
from swarmlet.spec.gotemplate.values import (
    MAP_FIELDS,
    NO_VALUE,
    POINTER_FIELDS,
    Function,
    FunctionError,
    GoStruct,
    Method,
    NilField,
    go_print,
    go_type,
    truth,
)


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Executor:
    def __init__(self, functions: dict[str, Function], strict_maps: bool,
                 name: str = "", payload: bool = False) -> None:
        self.functions = functions
        self.strict_maps = strict_maps  # inspect: a missing key of an object is an error
        self.name = name  # the template's name, as Go's errors give it ("" for --format)
        # SwarmKit's config templates (Go's missingkey=error on real maps): Go's ErrorContext
        # cuts the node's text at 20 characters ("..."), a function's error names its whole
        # command, and a label map's missing key is an error too; Docker's CLI errors show
        # the node whole and a function by its name, and its label maps answer "<no value>"
        self.payload = payload
        self.source = ""

    def run(self, tree: list[Node], source: str, data: Any, out: list[str]) -> None:
        """Append the output to `out` (partial output stays there when an error is raised)."""
        self.source = source
        self.vars: list[tuple[str, Any]] = [("$", data)]
        self.walk(tree, data, out)

    def fail(self, node: Node, message: str) -> TemplateError:
        before = self.source[:max(node.pos, 0)]
        line = before.count("\n") + 1
        col = node.pos if line == 1 else node.pos - (before.rfind("\n") + 1)
        context = node.text()
        if self.payload and len(context) > 20:
            context = context[:20] + "..."
        return TemplateError(f"template: {self.name}:{line}:{col}: executing "
                             f'"{self.name}" at <{context}>: {message}')

    # --- control ----------------------------------------------------------------------

    def walk(self, nodes: list[Node], dot: Any, out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, Text):
                out.append(node.value)
            elif isinstance(node, Action):
                value = self.pipe(node.pipe, dot)
                if not node.pipe.decls:
                    out.append(go_print(value))
            elif isinstance(node, Branch):
                self.branch(node, dot, out)
            elif isinstance(node, LoopControl):
                raise _Break() if node.keyword == "break" else _Continue()

    def branch(self, node: Branch, dot: Any, out: list[str]) -> None:
        mark = len(self.vars)
        try:
            if node.keyword == "range":
                self.range(node, dot, out)
                return
            value = self.pipe(node.pipe, dot)
            if truth(value):
                self.walk(node.body, value if node.keyword == "with" else dot, out)
            else:
                self.walk(node.otherwise, dot, out)
        finally:
            del self.vars[mark:]

    def range(self, node: Branch, dot: Any, out: list[str]) -> None:
        value = self.pipe(node.pipe, dot, declare=False)
        items = list(self.iterate(node, value))
        for key, item in items:
            decls = node.pipe.decls
            if len(decls) == 1:
                self.vars.append((decls[0], item))
            elif len(decls) == 2:
                self.vars += [(decls[0], key), (decls[1], item)]
            try:
                self.walk(node.body, item, out)
            except _Break:
                break
            except _Continue:
                continue
        if not items:
            self.walk(node.otherwise, dot, out)

    def iterate(self, node: Branch, value: Any) -> Iterator[tuple[Any, Any]]:
        if value is NO_VALUE or value is None or isinstance(value, NilField):
            return iter(())
        if isinstance(value, list | tuple):
            return iter(enumerate(value))
        if isinstance(value, dict):
            return iter((k, value[k]) for k in sorted(value))
        if isinstance(value, int) and not isinstance(value, bool):
            return iter((i, i) for i in range(value))
        raise self.fail(node, f"range can't iterate over {go_print(value)}")

    # --- pipelines ----------------------------------------------------------------------

    def pipe(self, pipe: Pipe, dot: Any, declare: bool = True) -> Any:
        value: Any = _NO_FINAL
        for cmd in pipe.commands:
            value = self.command(cmd, dot, value)
        if declare and pipe.decls:
            self.set_var(pipe, value)
        return value

    def set_var(self, pipe: Pipe, value: Any) -> None:
        name = pipe.decls[0]
        if pipe.assign:
            for i in range(len(self.vars) - 1, -1, -1):
                if self.vars[i][0] == name:
                    self.vars[i] = (name, value)
                    return
        self.vars.append((name, value))

    def command(self, cmd: Command, dot: Any, final: Any) -> Any:
        first, args = cmd.args[0], cmd.args[1:]
        if isinstance(first, Field):
            return self.field_chain(first, dot, first.names, args, final, dot)
        if isinstance(first, Chain):
            base = self.operand(first.node, dot)
            return self.field_chain(first, base, first.names, args, final, dot)
        if isinstance(first, Variable):
            base = self.variable(first)
            if not first.names:
                self.no_args(first, args, final)
                return base
            return self.field_chain(first, base, first.names, args, final, dot)
        if isinstance(first, Ident):
            return self.call(first, dot, args, final, cmd)
        self.no_args(first, args, final)
        return self.operand(first, dot)

    def no_args(self, node: Node, args: list[Node], final: Any) -> None:
        if args or final is not _NO_FINAL:
            raise self.fail(node, f"can't give argument to non-function {node.text()}")

    def operand(self, node: Node, dot: Any) -> Any:
        if isinstance(node, Dot):
            return dot
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Pipe):
            mark = len(self.vars)
            value = self.pipe(node, dot)
            del self.vars[mark:]
            return value
        return self.command(Command(node.pos, [node]), dot, _NO_FINAL)

    def variable(self, node: Variable) -> Any:
        for name, value in reversed(self.vars):
            if name == node.name:
                return value
        raise self.fail(node, f"undefined variable: {node.name}")

    def field_chain(self, node: Node, receiver: Any, names: list[str], args: list[Node],
                    final: Any, dot: Any) -> Any:
        via = ""
        for i, name in enumerate(names):
            last = i == len(names) - 1
            receiver = self.field(node, receiver, name, via, args if last else [],
                                  final if last else _NO_FINAL, dot)
            via = name
        return receiver

    def field(self, node: Node, receiver: Any, name: str, via: str, args: list[Node],
              final: Any, dot: Any) -> Any:
        has_args = bool(args) or final is not _NO_FINAL
        if isinstance(receiver, GoStruct):
            if name not in receiver.fields:
                if receiver.lenient and not has_args:
                    return NO_VALUE
                raise self.fail(node, f"can't evaluate field {name} in type "
                                f"{receiver.type_name}")
            value = receiver.fields[name]
            if isinstance(value, Method):
                return self.invoke(node, name, value.params, value.call, args, final, dot)
            if has_args:
                raise self.fail(node, f"wrong number of args for {name}: want 0 got "
                                f"{len(args) + (final is not _NO_FINAL)}")
            return value
        if isinstance(receiver, dict):
            if has_args:
                raise self.fail(node, f"{name} is not a method but has arguments")
            if name in receiver:
                return receiver[name]
            if via not in MAP_FIELDS and name in MAP_FIELDS:
                return {}
            if via not in MAP_FIELDS and name in POINTER_FIELDS:
                return NilField(name)
            if self.strict_maps and (via not in MAP_FIELDS or self.payload):
                raise self.fail(node, f"map has no entry for key \"{name}\"")
            return NO_VALUE
        if isinstance(receiver, NilField) and self.strict_maps:
            raise self.fail(node, f"map has no entry for key \"{receiver.name}\"")
        if receiver is NO_VALUE or receiver is None or isinstance(receiver, NilField):
            if self.strict_maps:
                raise self.fail(node, f"nil data; no entry for key \"{name}\"")
            return NO_VALUE
        raise self.fail(node, f"can't evaluate field {name} in type {go_type(receiver)}")

    # --- functions ----------------------------------------------------------------------

    def call(self, ident: Ident, dot: Any, args: list[Node], final: Any,
             cmd: Command) -> Any:
        if ident.name in ("and", "or"):
            return self.logic(ident, dot, args, final)
        func = self.functions[ident.name]
        # Go's evalCall names the whole command (SwarmKit's errors); Docker's CLI the name
        at = cmd if self.payload else ident
        return self.invoke(at, ident.name, func.params, func.call, args, final, dot)

    def logic(self, ident: Ident, dot: Any, args: list[Node], final: Any) -> Any:
        """and/or: Go evaluates the arguments only as far as the answer needs."""
        values = [lambda n=n: self.operand(n, dot) for n in args]
        if final is not _NO_FINAL:
            values.append(lambda: final)
        if not values:
            raise self.fail(ident, f"wrong number of args for {ident.name}: want at least 1 "
                            "got 0")
        value = None
        for get in values:
            value = get()
            if truth(value) != (ident.name == "and"):
                return value
        return value

    def invoke(self, node: Node, name: str, params: tuple[str, ...], body: Callable[..., Any],
               args: list[Node], final: Any, dot: Any) -> Any:
        variadic = bool(params) and params[-1] == "..."
        fixed = params[:-1] if variadic else params
        count = len(args) + (final is not _NO_FINAL)
        if count < len(fixed) or (not variadic and count != len(fixed)):
            want = f"at least {len(fixed)}" if variadic else str(len(fixed))
            raise self.fail(node, f"wrong number of args for {name}: want {want} got {count}")
        values = []
        for i, arg in enumerate(args):
            kind = fixed[i] if i < len(fixed) else "any"
            values.append(self.typed_arg(arg, kind, dot))
        if final is not _NO_FINAL:
            kind = fixed[len(args)] if len(args) < len(fixed) else "any"
            values.append(self.check_type(node, final, kind))
        try:
            return body(*values)
        except FunctionError as exc:
            raise self.fail(node, f"error calling {name}: {exc}") from None

    def typed_arg(self, arg: Node, kind: str, dot: Any) -> Any:
        if isinstance(arg, Literal) and kind != "any":
            value = arg.value
            if kind == "int" and not (isinstance(value, int) and not isinstance(value, bool)):
                raise self.fail(arg, f"expected integer; found {arg.text()}")
            if kind == "string" and not isinstance(value, str):
                raise self.fail(arg, f"expected string; found {arg.text()}")
            return value
        return self.check_type(arg, self.operand(arg, dot), kind)

    def check_type(self, node: Node, value: Any, kind: str) -> Any:
        if kind == "any":
            return None if value is NO_VALUE or isinstance(value, NilField) else value
        if value is NO_VALUE or value is None or isinstance(value, NilField):
            raise self.fail(node, f"invalid value; expected {kind}")
        ok = isinstance(value, str) if kind == "string" else (
            isinstance(value, int) and not isinstance(value, bool))
        if not ok:
            raise self.fail(node, f"wrong type for value; expected {kind}; got {go_type(value)}")
        return value


class _NoFinal:
    """No value piped into a command (Go's `final` is the missing reflect.Value)."""


_NO_FINAL = _NoFinal()
