"""The tree of a parsed Go template (Go's text/template/parse node.go), and the error
of a template Go would refuse, in its words."""

from __future__ import annotations

from dataclasses import dataclass, field

from swarmlet.errors import SwarmletError


class TemplateError(SwarmletError):
    """A template that cannot be parsed or executed, in Go's words. `exit_code` is what the
    command exits with (Docker's `network inspect` uses 64 for a bad template)."""

    exit_code = 1


@dataclass
class Node:
    pos: int

    def text(self) -> str:
        raise NotImplementedError


@dataclass
class Text(Node):
    value: str


@dataclass
class Field(Node):
    names: list[str]

    def text(self) -> str:
        return "".join("." + n for n in self.names)


@dataclass
class Dot(Node):
    def text(self) -> str:
        return "."


@dataclass
class Variable(Node):
    name: str
    names: list[str] = field(default_factory=list)

    def text(self) -> str:
        return self.name + "".join("." + n for n in self.names)


@dataclass
class Ident(Node):
    name: str

    def text(self) -> str:
        return self.name


@dataclass
class Literal(Node):
    value: object
    source: str

    def text(self) -> str:
        return self.source


@dataclass
class Chain(Node):
    """`(pipeline).Field.Other`."""
    node: Node
    names: list[str]

    def text(self) -> str:
        return self.node.text() + "".join("." + n for n in self.names)


@dataclass
class Command(Node):
    args: list[Node]

    def text(self) -> str:
        return " ".join(a.text() for a in self.args)


@dataclass
class Pipe(Node):
    decls: list[str]
    commands: list[Command]
    assign: bool = False

    def text(self) -> str:
        head = f"{', '.join(self.decls)} {'=' if self.assign else ':='} " if self.decls else ""
        text = head + " | ".join(c.text() for c in self.commands)
        return text if self.pos < 0 else f"({text})"


@dataclass
class Action(Node):
    pipe: Pipe

    def text(self) -> str:
        return "{{" + self.pipe.text() + "}}"


@dataclass
class Branch(Node):
    """if / range / with: the pipeline, the body, and the `else` body (possibly empty)."""
    keyword: str
    pipe: Pipe
    body: list[Node]
    otherwise: list[Node]

    def text(self) -> str:
        return "{{" + self.keyword + " " + self.pipe.text() + "}}"


@dataclass
class LoopControl(Node):
    keyword: str  # break | continue
