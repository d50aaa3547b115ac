"""The parser of Go's text/template, the subset Docker's `--format` scripts use: text, actions
with trim markers and comments, fields and chains, variables, literals, function calls,
pipelines, parenthesised pipelines, and `if`/`else if`/`range`/`with`/`else`/`end`.

Pure: a template string becomes a tree of gotemplate.nodes, or a TemplateError worded as
Go's parser words it (`template: :1: function "foo" not defined`). Go's text/template/parse
is the counterpart (lex.go, parse.go, node.go).
"""

from __future__ import annotations

from collections.abc import Collection

from swarmlet.spec.gotemplate.lex import Token, tokens
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


def describe(token: Token) -> str:
    """How Go's parser names a token in "unexpected X in Y"."""
    if token.kind == "eof":
        return "EOF"
    if token.kind == "keyword":
        return f"<{token.value}>"
    if token.kind == "left":
        return "<{{>"
    if token.kind == "right":
        return "<}}>"
    value = token.value if len(token.value) <= 10 else token.value[:10]
    quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return quoted + ("..." if len(token.value) > 10 else "")


class _Parser:
    def __init__(self, tokens: list[Token], functions: Collection[str]) -> None:
        self.tokens, self.i, self.functions = tokens, 0, functions
        self.vars: list[str] = ["$"]
        self.loops = 0

    def fail(self, message: str, token: Token | None = None) -> None:
        line = (token or self.tokens[min(self.i, len(self.tokens) - 1)]).line
        raise TemplateError(f"template: :{line}: {message}")

    def peek(self) -> Token:
        return self.tokens[self.i]

    def next(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def next_non_space(self) -> Token:
        token = self.next()
        while token.kind == "space":
            token = self.next()
        return token

    def peek_non_space(self) -> Token:
        token = self.next_non_space()
        self.i -= 1
        return token

    def parse(self) -> list[Node]:
        nodes, end = self.list_until(())
        if end is not None:
            self.fail(f"unexpected {{{{{end.value}}}}}", end)
        return nodes

    def list_until(self, stops: tuple[str, ...]) -> tuple[list[Node], Token | None]:
        """Nodes up to EOF (top level) or one of the `stops` keywords (returned)."""
        nodes: list[Node] = []
        while True:
            token = self.next()
            if token.kind == "eof":
                if stops:
                    self.fail("unexpected EOF", token)
                return nodes, None
            if token.kind == "text":
                nodes.append(Text(token.pos, token.value))
                continue
            word = self.peek_non_space()
            if word.kind == "keyword" and word.value in ("end", "else"):
                self.next_non_space()
                if not stops:
                    self.fail(f"unexpected {{{{{word.value}}}}}", word)
                return nodes, word
            nodes.append(self.action(token))

    def action(self, left: Token) -> Node:
        token = self.next_non_space()
        if token.kind == "keyword" and token.value in ("if", "range", "with"):
            return self.branch(token)
        if token.kind == "keyword" and token.value in ("break", "continue"):
            if not self.loops:
                self.fail(f"{{{{{token.value}}}}} outside {{{{range}}}}", token)
            self.expect_right(token.value)
            return LoopControl(token.pos, token.value)
        if token.kind == "keyword" and token.value in ("define", "template", "block"):
            self.fail(f"unexpected <{token.value}> in command", token)
        self.i -= 1
        return Action(left.pos, self.pipeline("command", "right"))

    def expect_right(self, context: str) -> None:
        token = self.next_non_space()
        if token.kind != "right":
            self.fail(f"unexpected {describe(token)} in {context}", token)

    def branch(self, keyword: Token) -> Branch:
        marks = len(self.vars)
        pipe = self.pipeline(keyword.value, "right")
        self.loops += keyword.value == "range"
        body, end = self.list_until(("end", "else"))
        self.loops -= keyword.value == "range"
        otherwise: list[Node] = []
        assert end is not None
        if end.value == "else":
            after = self.peek_non_space()
            if keyword.value != "range" and after.kind == "keyword" and after.value in (
                    "if", "with") and after.value == keyword.value:
                # `{{else if ...}}` is an if inside the else branch, sharing the one {{end}}
                self.next_non_space()
                otherwise = [self.branch(after)]
            else:
                self.expect_right("else")
                otherwise, end = self.list_until(("end", "else"))
                assert end is not None
                if end.value != "end":
                    self.fail("expected end; found {{else}}", end)
                self.expect_right("end")
        else:
            self.expect_right("end")
        del self.vars[marks:]
        return Branch(keyword.pos, keyword.value, pipe, body, otherwise)

    def pipeline(self, context: str, end: str) -> Pipe:
        start = self.peek_non_space()
        decls, assign = self.declarations(context)
        commands: list[Command] = []
        while True:
            token = self.next_non_space()
            if token.kind == end:
                if not commands:
                    self.fail(f"missing value for {context}", token)
                for n, cmd in enumerate(commands[1:], start=2):
                    if isinstance(cmd.args[0], Literal | Dot):
                        self.fail(f"non executable command in pipeline stage {n}", token)
                self.vars += [d for d in decls if not assign]
                return Pipe(start.pos if end == "rparen" else -1, decls, commands, assign)
            if token.kind in ("bool", "number", "string", "nil", "dot", "field", "var",
                              "ident", "lparen"):
                self.i -= 1
                commands.append(self.command())
            else:
                self.fail(f"unexpected {describe(token)} in {context}", token)

    def declarations(self, context: str) -> tuple[list[str], bool]:
        """`$x :=`, `$i, $v :=` (range) or `$x =` at the start of a pipeline."""
        mark = self.i
        names: list[str] = []
        while True:
            token = self.next_non_space()
            if token.kind != "var":
                break
            names.append(token.value)
            token = self.next_non_space()
            if token.kind in ("declare", "assign"):
                if token.kind == "assign" and token.value and names[-1] not in self.vars:
                    self.fail(f"undefined variable \"{names[-1]}\"", token)
                if len(names) > (2 if context == "range" else 1):
                    self.fail("too many declarations in " + context, token)
                return names, token.kind == "assign"
            if token.kind == "comma" and context == "range" and len(names) == 1:
                continue
            break
        self.i = mark
        return [], False

    def command(self) -> Command:
        start = self.peek_non_space()
        args: list[Node] = []
        while True:
            self.peek_non_space()
            arg = self.operand()
            if arg is not None:
                args.append(arg)
            token = self.next()
            if token.kind == "space":
                continue
            if token.kind in ("right", "rparen"):
                self.i -= 1
            elif token.kind != "pipe":
                self.fail(f"unexpected {describe(token)} in operand", token)
            break
        if not args:
            self.fail("empty command", start)
        return Command(start.pos, args)

    def operand(self) -> Node | None:
        node = self.term()
        if node is None or self.peek().kind != "field":
            return node
        names = []
        while self.peek().kind == "field":
            names.append(self.next().value[1:])
        if isinstance(node, Field):
            return Field(node.pos, node.names + names)
        if isinstance(node, Variable):
            return Variable(node.pos, node.name, node.names + names)
        if isinstance(node, Literal | Dot):
            self.fail(f"unexpected . after term {node.text()!r}".replace("'", '"'))
        return Chain(node.pos, node, names)

    def term(self) -> Node | None:
        token = self.next_non_space()
        kind = token.kind
        if kind == "ident":
            if token.value not in self.functions:
                self.fail(f"function \"{token.value}\" not defined", token)
            return Ident(token.pos, token.value)
        if kind == "dot":
            return Dot(token.pos)
        if kind == "nil":
            return Literal(token.pos, None, "nil")
        if kind == "var":
            if token.value not in self.vars:
                self.fail(f"undefined variable \"{token.value}\"", token)
            return Variable(token.pos, token.value)
        if kind == "field":
            return Field(token.pos, [token.value[1:]])
        if kind == "bool":
            return Literal(token.pos, token.value == "true", token.value)
        if kind in ("number", "string"):
            return Literal(token.pos, token.literal, token.value)
        if kind == "lparen":
            return self.pipeline("parenthesized pipeline", "rparen")
        self.i -= 1
        return None


def parse(source: str, functions: Collection[str]) -> list[Node]:
    """The template's tree; a TemplateError for what Go's parser refuses."""
    return _Parser(tokens(source), functions).parse()
