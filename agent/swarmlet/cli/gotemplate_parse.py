"""The parser of Go's text/template, the subset Docker's `--format` scripts use: text, actions
with trim markers and comments, fields and chains, variables, literals, function calls,
pipelines, parenthesised pipelines, and `if`/`else if`/`range`/`with`/`else`/`end`.

Pure: a template string becomes a tree of the node classes below, or a TemplateError worded as
Go's parser words it (`template: :1: function "foo" not defined`). Go's text/template/parse
is the counterpart (lex.go, parse.go, node.go).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

from swarmlet.errors import SwarmletError

KEYWORDS = ("if", "else", "end", "range", "with", "break", "continue", "define", "template",
            "block", "nil", "true", "false")
_NUMBER = re.compile(r"[+-]?(0[xX][0-9a-fA-F_]+|(\d[\d_]*)?\.?\d[\d_]*([eE][+-]?\d+)?)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a",
            "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


class TemplateError(SwarmletError):
    """A template that cannot be parsed or executed, in Go's words. `exit_code` is what the
    command exits with (Docker's `network inspect` uses 64 for a bad template)."""

    exit_code = 1


# --- nodes --------------------------------------------------------------------------------


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


# --- lexer --------------------------------------------------------------------------------


@dataclass
class Token:
    kind: str  # text left right space ident field dot var string number bool nil pipe
    #          lparen rparen declare assign comma keyword eof
    value: str
    pos: int
    line: int
    literal: object = None


class _Lexer:
    def __init__(self, source: str) -> None:
        self.src, self.tokens, self.pos, self.line = source, [], 0, 1

    def fail(self, message: str) -> None:
        raise TemplateError(f"template: :{self.line}: {message}")

    def emit(self, kind: str, start: int, value: str, literal: object = None) -> None:
        self.tokens.append(Token(kind, value, start, self.line, literal))
        self.line += value.count("\n") if kind in ("text", "space", "string") else 0

    def run(self) -> list[Token]:
        src = self.src
        while self.pos < len(src):
            start = src.find("{{", self.pos)
            if start < 0:
                self.emit("text", self.pos, src[self.pos:])
                break
            trim_left = src.startswith("{{-", start) and src[start + 3:start + 4] in " \t\r\n"
            text = src[self.pos:start]
            if trim_left:
                text = text.rstrip(" \t\r\n")
            if text:
                self.emit("text", self.pos, text)
            self.line += src[self.pos + len(text):start].count("\n")
            self.pos = start + (4 if trim_left else 2)
            if src.startswith("/*", self.pos):
                self.comment()
            else:
                self.emit("left", start, "{{")
                self.action()
        self.emit("eof", len(src), "")
        return self.tokens

    def right_delim_at(self, i: int) -> tuple[bool, bool]:
        """(a right delimiter at i, it trims the following space)."""
        src = self.src
        if src[i:i + 1] in (" ", "\t", "\r", "\n") and src.startswith("-}}", i + 1):
            return True, True
        return src.startswith("}}", i), False

    def after_right(self, trim: bool) -> None:
        self.pos += 4 if trim else 2
        if trim:
            rest = self.src[self.pos:]
            stripped = rest.lstrip(" \t\r\n")
            self.line += rest[:len(rest) - len(stripped)].count("\n")
            self.pos += len(rest) - len(stripped)

    def comment(self) -> None:
        end = self.src.find("*/", self.pos + 2)
        if end < 0:
            self.fail("unclosed comment")
        self.line += self.src[self.pos:end].count("\n")
        self.pos = end + 2
        at, trim = self.right_delim_at(self.pos)
        if not at:
            self.fail("comment ends before closing delimiter")
        self.after_right(trim)

    def action(self) -> None:
        """The tokens of one action, up to its right delimiter (Go's lexInsideAction)."""
        src, depth = self.src, 0
        while True:
            if self.pos >= len(src):
                self.fail("unclosed action")
            at, trim = self.right_delim_at(self.pos)
            if at:
                if depth:
                    self.fail("unclosed left paren")
                self.emit("right", self.pos, "}}")
                self.after_right(trim)
                return
            start, ch = self.pos, src[self.pos]
            if ch in " \t\r\n":
                end = start
                while end < len(src) and src[end] in " \t\r\n" and not self.right_delim_at(end)[0]:
                    end += 1
                self.pos = end
                self.emit("space", start, src[start:end])
            elif src.startswith(":=", start):
                self.pos += 2
                self.emit("declare", start, ":=")
            elif ch in "=|,":
                self.pos += 1
                self.emit({"=": "assign", "|": "pipe", ",": "comma"}[ch], start, ch)
            elif ch == "(":
                depth += 1
                self.pos += 1
                self.emit("lparen", start, ch)
            elif ch == ")":
                depth -= 1
                if depth < 0:
                    self.fail("unexpected right paren")
                self.pos += 1
                self.emit("rparen", start, ch)
            elif ch in "\"`":
                self.quoted(ch)
            elif ch == "'":
                self.char()
            elif ch == "$":
                m = _IDENT.match(src, start + 1)
                self.pos = m.end() if m else start + 1
                self.emit("var", start, src[start:self.pos])
            elif ch == "." and not (src[start + 1:start + 2].isdigit()):
                m = _IDENT.match(src, start + 1)
                if m:
                    self.pos = m.end()
                    self.emit("field", start, src[start:self.pos])
                else:
                    self.pos += 1
                    self.emit("dot", start, ".")
            elif ch.isdigit() or (ch in "+-." and src[start + 1:start + 2].isdigit()):
                self.number()
            elif _IDENT.match(src, start):
                m = _IDENT.match(src, start)
                assert m is not None
                self.pos = m.end()
                word = m.group()
                kind = ("bool" if word in ("true", "false") else "nil" if word == "nil"
                        else "keyword" if word in KEYWORDS else "ident")
                self.emit(kind, start, word)
            else:
                self.fail(f"bad character U+{ord(ch):04X} {ch!r}")

    def quoted(self, quote: str) -> None:
        src, i = self.src, self.pos + 1
        value = []
        while True:
            if i >= len(src) or (quote == '"' and src[i] == "\n"):
                self.fail("unterminated raw quoted string" if quote == "`"
                          else "unterminated quoted string")
            ch = src[i]
            if ch == quote:
                break
            if ch == "\\" and quote == '"':
                i, decoded = self.escape(i)
                value.append(decoded)
                continue
            value.append(ch)
            i += 1
        start, self.pos = self.pos, i + 1
        self.emit("string", start, src[start:self.pos], "".join(value))

    def escape(self, i: int) -> tuple[int, str]:
        src = self.src
        code = src[i + 1:i + 2]
        if code in _ESCAPES:
            return i + 2, _ESCAPES[code]
        widths = {"x": 2, "u": 4, "U": 8}
        if code in widths:
            digits = src[i + 2:i + 2 + widths[code]]
            if len(digits) == widths[code] and all(c in "0123456789abcdefABCDEF" for c in digits):
                return i + 2 + widths[code], chr(int(digits, 16))
        self.fail(f"invalid syntax: {src[self.pos:i + 2]}")
        raise AssertionError("not reached")

    def char(self) -> None:
        src, start = self.src, self.pos
        end = src.find("'", start + 1)
        body = src[start + 1:end] if end > 0 else ""
        if end < 0 or not body:
            self.fail("unterminated character constant")
        value = _ESCAPES.get(body[1:]) if body.startswith("\\") else body
        if value is None or len(value) != 1:
            self.fail(f"malformed character constant: {src[start:end + 1]}")
        self.pos = end + 1
        self.emit("number", start, src[start:self.pos], ord(str(value)))

    def number(self) -> None:
        m = _NUMBER.match(self.src, self.pos)
        assert m is not None
        text = m.group().replace("_", "")
        start, self.pos = self.pos, m.end()
        if self.pos < len(self.src) and (self.src[self.pos].isalnum() or self.src[self.pos] == "."):
            self.fail(f"bad number syntax: \"{self.src[start:self.pos + 1]}\"")
        try:
            value: object = int(text, 0) if not re.search(r"[.eE]", text) or "x" in text.lower() \
                else float(text)
        except ValueError:
            self.fail(f"bad number syntax: \"{self.src[start:self.pos]}\"")
        self.emit("number", start, self.src[start:self.pos], value)


# --- parser -------------------------------------------------------------------------------


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
    return _Parser(_Lexer(source).run(), functions).parse()
