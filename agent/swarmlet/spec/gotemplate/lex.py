"""The lexer of Go's text/template (lex.go): text, and inside `{{ }}` actions the tokens of
fields, variables, literals, keywords and punctuation, with trim markers and comments."""

from __future__ import annotations

import re
from dataclasses import dataclass

from swarmlet.spec.gotemplate.nodes import TemplateError

KEYWORDS = ("if", "else", "end", "range", "with", "break", "continue", "define", "template",
            "block", "nil", "true", "false")
_NUMBER = re.compile(r"[+-]?(0[xX][0-9a-fA-F_]+|(\d[\d_]*)?\.?\d[\d_]*([eE][+-]?\d+)?)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "a": "\a",
            "b": "\b", "f": "\f", "v": "\v", "0": "\0"}


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


def tokens(source: str) -> list[Token]:
    return _Lexer(source).run()
