"""C text as code only: comments and literals blanked, line structure kept.

A ``SYSCALL_DEFINE2(rename, …)`` inside a comment or a string is not a definition, and an
identifier in a comment is not a reference, so everything below looks at the text this module
returns. Blanking keeps every newline (including those inside block comments and continued
lines), so a position's line number is the same in the original and in the result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# One alternation, tried left to right at each position: a comment or a literal is consumed whole,
# so a quote inside a comment (or a slash inside a string) cannot start anything. The loops are
# "unrolled" (runs of ordinary characters, then one escape) because that is several times faster
# than an alternation per character on a gigabyte of source.
_COMMENT_OR_LITERAL = re.compile(
    r"//[^\n\\]*(?:\\.[^\n\\]*)*"  # line comment (a trailing backslash continues it)
    r"|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/"  # block comment
    r"|/\*.*"  # an unterminated block comment runs to the end
    r'|"[^"\\\n]*(?:\\.[^"\\\n]*)*"?'  # string literal
    r"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'?",  # character literal
    re.DOTALL,
)
# A directive: "#" first on its line (searched in "\n" + text), with its continuation lines.
_DIRECTIVE = re.compile(r"\n[ \t]*#[^\n\\]*(?:\\.[^\n\\]*)*", re.DOTALL)


def _blank(match: re.Match[str]) -> str:
    text = match.group()
    first = text[0]
    newlines = text.count("\n")
    if first == '"':
        return '""' + "\n" * newlines
    if first == "'":
        return "0" + "\n" * newlines
    return " " + "\n" * newlines


def strip_comments_and_literals(text: str) -> str:
    """``text`` with comments replaced by a space and literals by ``""`` / ``0``, newlines kept."""
    return _COMMENT_OR_LITERAL.sub(_blank, text)


def blank_directives(code: str) -> str:
    """``code`` with every preprocessor line (and its continuations) emptied, newlines kept.

    Both arms of an ``#ifdef`` stay: each is a definition somebody may be looking for.
    """
    return _DIRECTIVE.sub(lambda m: "\n" * m.group().count("\n"), "\n" + code)[1:]


def line_start_matches(pattern: re.Pattern[bytes], code: bytes) -> list[re.Match[bytes]]:
    """The matches of ``pattern`` that only blanks (space, tab) precede on their line."""
    found = []
    for match in pattern.finditer(code):
        line_start = code.rfind(b"\n", 0, match.start()) + 1
        if not code[line_start : match.start()].strip(b" \t"):
            found.append(match)
    return found


def line_numbers(text: str | bytes, offsets: Iterable[int]) -> list[int]:
    """1-based line numbers of ascending ``offsets`` into ``text``, counted incrementally."""
    lines: list[int] = []
    newline = b"\n" if isinstance(text, bytes) else "\n"
    line, last = 1, 0
    for offset in offsets:
        if offset < last:  # not ascending: count afresh
            line, last = 1, 0
        line += text.count(newline, last, offset)  # type: ignore[arg-type]
        last = offset
        lines.append(line)
    return lines
