"""Evaluate the argument expressions of an event's ``print fmt`` (a small subset of C).

The kernel renders an event's text with ``trace_seq_printf(fmt, args...)`` where each argument
is a C expression over the record (``REC->field``): casts, arithmetic and bit operations,
ternaries, and helpers such as ``__print_flags``, ``__print_symbolic`` and ``__get_str``
(include/trace/stages/stage3_trace_output.h). This module parses those expressions once per
event into Python closures; anything outside the subset raises :class:`Unsupported` and the
caller falls back to ``field=value`` text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Values = dict[str, Any]
Node = Callable[[Values], Any]


class Unsupported(Exception):
    """The expression uses C that this evaluator does not know."""


_TOKEN = re.compile(
    r"\s*(?:(?P<num>0[xX][0-9a-fA-F]+|\d+)[uUlL]*|(?P<str>\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<id>[A-Za-z_]\w*)|(?P<op>->|<<|>>|<=|>=|==|!=|&&|\|\||[-+*/%&|^~!?:(){}\[\],<>]))"
)
_TYPE_WORDS = frozenset(
    [
        "unsigned",
        "signed",
        "int",
        "long",
        "short",
        "char",
        "void",
        "const",
        "bool",
        "u8",
        "u16",
        "u32",
        "u64",
        "s8",
        "s16",
        "s32",
        "s64",
        "size_t",
        "loff_t",
        "pid_t",
        "gfp_t",
        "dev_t",
        "ino_t",
        "sector_t",
        "umode_t",
        "__u8",
        "__u16",
        "__u32",
        "__u64",
        "__s32",
        "__s64",
        "struct",
    ]
)
# binary operators, lowest precedence first
_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",),
    ("&&",),
    ("|",),
    ("^",),
    ("&",),
    ("==", "!="),
    ("<", "<=", ">", ">="),
    ("<<", ">>"),
    ("+", "-"),
    ("*", "/", "%"),
)
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "||": lambda a, b: int(bool(a) or bool(b)),
    "&&": lambda a, b: int(bool(a) and bool(b)),
    "|": lambda a, b: a | b,
    "^": lambda a, b: a ^ b,
    "&": lambda a, b: a & b,
    "==": lambda a, b: int(a == b),
    "!=": lambda a, b: int(a != b),
    "<": lambda a, b: int(a < b),
    "<=": lambda a, b: int(a <= b),
    ">": lambda a, b: int(a > b),
    ">=": lambda a, b: int(a >= b),
    "<<": lambda a, b: (a << b) & 0xFFFFFFFFFFFFFFFF,
    ">>": lambda a, b: a >> b,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: int(a / b) if b else 0,
    "%": lambda a, b: a % b if b else 0,
}


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise Unsupported(f"cannot read {text[pos : pos + 20]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
    return tokens


def print_flags(value: int, delim: str, pairs: list[tuple[int, str]]) -> str:
    """The kernel's trace_print_flags_seq(): names of set masks, then leftover bits in hex."""
    out: list[str] = []
    for mask, name in pairs:
        if not value:
            break
        if value & mask != mask:
            continue
        value &= ~mask
        out.append(name)
    if value:
        out.append(f"0x{value:x}")
    return delim.join(out)


def print_symbolic(value: int, pairs: list[tuple[int, str]]) -> str:
    """The kernel's trace_print_symbols_seq(): the name of the first equal value, else hex."""
    for mask, name in pairs:
        if value == mask:
            return name
    return f"0x{value:x}"


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], fields: set[str]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.fields = fields

    def peek(self, offset: int = 0) -> tuple[str, str]:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else ("", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if value is not None and token[1] != value:
            raise Unsupported(f"expected {value!r}, found {token[1]!r}")
        self.pos += 1
        return token

    def expression(self) -> Node:
        cond = self.binary(0)
        if self.peek()[1] == "?":
            self.take("?")
            yes = self.expression()
            self.take(":")
            no = self.expression()
            return lambda v: yes(v) if cond(v) else no(v)
        return cond

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[0] == "op" and self.peek()[1] in _LEVELS[level]:
            op = _OPS[self.take()[1]]
            right = self.binary(level + 1)
            left = (lambda a, b, f: lambda v: f(a(v), b(v)))(left, right, op)
        return left

    def _is_cast(self) -> bool:
        if self.peek()[1] != "(":
            return False
        kind, word = self.peek(1)
        return kind == "id" and (
            word in _TYPE_WORDS or bool(re.fullmatch(r"u?int(8|16|32|64)?_t|uint", word))
        )

    def unary(self) -> Node:
        kind, tok = self.peek()
        if tok in ("!", "~", "-", "+") and kind == "op":
            self.take()
            inner = self.unary()
            if tok == "!":
                return lambda v: int(not inner(v))
            if tok == "~":
                return lambda v: ~inner(v) & 0xFFFFFFFFFFFFFFFF
            if tok == "-":
                return lambda v: -inner(v)
            return inner
        if self._is_cast():
            self.take("(")
            words = []
            while self.peek()[1] not in (")", ""):
                words.append(self.take()[1])
            self.take(")")
            inner = self.unary()
            return _cast(words, inner)
        return self.postfix()

    def postfix(self) -> Node:
        kind, tok = self.peek()
        if kind == "num":
            self.take()
            number = int(tok.rstrip("uUlL"), 0)
            return lambda v: number
        if kind == "str":
            self.take()
            text = bytes(tok[1:-1], "utf-8").decode("unicode_escape")
            return lambda v: text
        if tok == "(":
            self.take("(")
            inner = self.expression()
            self.take(")")
            return inner
        if kind == "id" and tok == "REC":
            self.take()
            self.take("->")
            name = self.take()[1]
            if name not in self.fields:
                raise Unsupported(f"no field {name}")
            if self.peek()[1] == "[":
                self.take("[")
                index = self.expression()
                self.take("]")
                return lambda v: _index(v.get(name), index(v))
            return lambda v: v.get(name)
        if kind == "id" and self.peek(1)[1] == "(":
            return self.call(tok)
        raise Unsupported(f"unexpected {tok!r}")

    def pairs(self) -> list[tuple[int, str]]:
        out = []
        while self.peek()[1] == ",":
            self.take(",")
            self.take("{")
            mask = self.expression()({})
            self.take(",")
            name = self.expression()({})
            self.take("}")
            out.append((int(mask), str(name)))
        return out

    def call(self, name: str) -> Node:
        self.take()
        self.take("(")
        if name in ("__get_str", "__get_rel_str"):
            field = self.take()[1]
            self.take(")")
            if field not in self.fields:
                raise Unsupported(f"no field {field}")
            return lambda v: v.get(field, "")
        if name == "__print_flags":
            value = self.expression()
            self.take(",")
            delim = self.expression()({})
            table = self.pairs()
            self.take(")")
            return lambda v: print_flags(int(value(v) or 0), str(delim), table)
        if name == "__print_symbolic":
            value = self.expression()
            table = self.pairs()
            self.take(")")
            return lambda v: print_symbolic(int(value(v) or 0), table)
        raise Unsupported(f"helper {name}()")


def _index(value: Any, index: int) -> Any:
    if isinstance(value, (list, tuple)) and 0 <= index < len(value):
        return value[index]
    return 0


def _cast(words: list[str], inner: Node) -> Node:
    if "*" in words:
        return inner  # a pointer: the value as it is
    longs = words.count("long")
    wide = ("u64", "s64", "__u64", "__s64", "size_t", "loff_t", "int64_t", "uint64_t")
    size = 8 if longs or any(w in wide for w in words) else 4
    if "char" in words or words[-1:] in (["u8"], ["s8"]):
        size = 1
    elif "short" in words or words[-1:] in (["u16"], ["s16"]):
        size = 2
    signed = "unsigned" not in words and not any(w.startswith(("u", "__u")) for w in words if w != "unsigned")
    if "bool" in words:
        return lambda v: int(bool(inner(v)))
    bits = size * 8
    mask = (1 << bits) - 1

    def cast(v: Values) -> Any:
        value = inner(v)
        if not isinstance(value, int):
            return value
        value &= mask
        if signed and value >> (bits - 1):
            value -= 1 << bits
        return value

    return cast


def compile_argument(text: str, fields: set[str]) -> Node:
    """A closure computing one print-fmt argument from a decoded record; Unsupported when the
    expression leaves the subset."""
    parser = _Parser(tokenize(text), fields)
    node = parser.expression()
    if parser.pos != len(parser.tokens):
        raise Unsupported(f"trailing {parser.peek()[1]!r}")
    return node
