"""What one C file defines and uses, found in its code-only text (see :mod:`.lexer`).

The file is read as kernel code is written: a definition starts at brace depth 0, with the
declarator between the previous top-level ``;`` or ``}`` and its ``{``:

* ``… name(args) {``            a function (``SYSCALL_DEFINEn(name, …)`` is a system call);
* ``struct|union|enum name {``  a type (``typedef struct … {} name;`` also names a typedef);
* ``… name[] = {``               an initialised variable; its ``.field = function`` lines are the
                                 operations-table bindings, with the variable's ``struct`` type;
* ``typedef … name;``           a typedef.

Both arms of an ``#ifdef`` are read, so a definition duplicated under ``#ifdef``/``#else`` is
found twice. When the arms leave braces unbalanced, a ``}`` in column 0 (kernel style closes
every top-level body there) puts the depth back to 0.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field

from kernlab.source.ksrc.lexer import (
    blank_directives,
    line_numbers,
    line_start_matches,
    strip_comments_and_literals,
)
from kernlab.source.ksrc.macros import ASM_INVOCATION, BODY_MACRO, C_INVOCATION, macro_rule

IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_BRACES = re.compile(r"[{}]")


def _nested_braces(levels: int) -> str:
    """A pattern for a ``{…}`` group nesting at most ``levels`` deep (re has no recursion).

    Possessive runs never backtrack, so a body is matched at C speed instead of brace by brace.
    """
    pattern = r"\{[^{}]*+\}"
    for _ in range(levels - 1):
        pattern = r"\{(?:[^{}]++|" + pattern + r")*+\}"
    return pattern


_BALANCED_BODY = re.compile(_nested_braces(12))
_DEFINE_BYTES = re.compile(rb"#[ \t]*define[ \t]+([A-Za-z_]\w*)")  # first on its line: checked
# No leading \b: a pattern that starts with a literal is searched for at C speed (checked by hand).
_TYPEDEF = re.compile(r"typedef\b([^;{}]*);")
_SYSCALL = re.compile(r"\b((?:COMPAT_)?SYSCALL_DEFINE(\d))\s*\(\s*([A-Za-z_]\w*)\s*[,)]")
_BINDING = re.compile(r"\.\s*([A-Za-z_]\w*)\s*=\s*&?\s*([A-Za-z_]\w*)\s*(?=[,}])")
_TYPE_HEAD = re.compile(r"\b(struct|union|enum)\s+([A-Za-z_]\w*)\s*$")
_STRUCT_TYPE = re.compile(r"\b(struct|union)\s+([A-Za-z_]\w*)")
_PARENS = re.compile(r"\([^()]*\)")
_BRACKETS = re.compile(r"\[[^\[\]]*\]")
_FUNC_POINTER = re.compile(r"\(\s*\*\s*([A-Za-z_]\w*)\s*\)")

# Bytes that can be part of an identifier stay; every other byte becomes a space.
_WORD_BYTES = bytes(c if chr(c).isascii() and (chr(c).isalnum() or c == 95) else 32 for c in range(256))

_GROUP_WORDS = frozenset(("sizeof", "typeof", "__typeof__", "asm", "__asm__", "__attribute__"))
C_KEYWORDS = frozenset(
    [
        "auto",
        "break",
        "case",
        "char",
        "const",
        "continue",
        "default",
        "do",
        "double",
        "else",
        "enum",
        "extern",
        "float",
        "for",
        "goto",
        "if",
        "inline",
        "int",
        "long",
        "register",
        "restrict",
        "return",
        "short",
        "signed",
        "sizeof",
        "static",
        "struct",
        "switch",
        "typedef",
        "union",
        "unsigned",
        "void",
        "volatile",
        "while",
        "_Bool",
        "asm",
        "typeof",
        "__typeof__",
        "__attribute__",
        "__asm__",
        "bool",
    ]
)


@dataclass
class FileFacts:
    """Everything :mod:`.index` keeps about one file (offsets already turned into lines)."""

    definitions: list[tuple[str, str, int, str]] = field(default_factory=list)
    """(name, kind, line, text): kind is function, struct, union, enum, typedef, variable,
    tracepoint or export (from a definition macro, see :mod:`.macros`), or, in assembly,
    function, code, label, data or macro (``.macro``)."""
    syscalls: list[tuple[str, str, int, int, str]] = field(default_factory=list)
    """(name, macro, argument count, line, signature)."""
    bindings: list[tuple[str, str, str, str, int]] = field(default_factory=list)
    """(function, table, table type, field, line)."""
    macros: tuple[list[bytes], list[int]] = ([], [])
    """Names (latin-1 bytes) and lines of the file's ``#define``s, kept apart from
    :attr:`definitions` because a tree has millions (see :mod:`.store`)."""
    identifiers: set[bytes] = field(default_factory=set)
    """Every identifier the code uses (comments and strings left out), as latin-1 bytes, except
    the names of the file's own #defines (found through :attr:`definitions`)."""


def _squash(text: str) -> str:
    return " ".join(text.split())


def _balanced_end(code: str, open_paren: int) -> int:
    """The offset just past the ``)`` matching the ``(`` at ``open_paren`` (or the end)."""
    depth = 0
    for i in range(open_paren, len(code)):
        ch = code[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(code)


def _without_groups(text: str, pattern: re.Pattern[str]) -> str:
    previous = None
    while previous != text:
        previous, text = text, pattern.sub(" ", text)
    return text


def _follows_word(text: str, at: int) -> bool:
    """Whether the character before ``at`` is part of an identifier (so no word starts there)."""
    return at > 0 and (text[at - 1].isalnum() or text[at - 1] == "_")


# The characters str.isalnum() accepts in latin-1 text, and "_": str.rstrip() with this set finds
# where a trailing identifier starts at C speed (a regex anchored at "$" would try every offset).
_WORD_CHARS = "".join(c for c in map(chr, range(256)) if c.isalnum() or c == "_")


def _trailing_identifier(text: str) -> str | None:
    """The identifier ``text`` ends with, if any."""
    name = text[len(text.rstrip(_WORD_CHARS)) :]
    return name if name and not name[0].isdigit() else None


def _function_name(declarator: str) -> str | None:
    """``static int __init foo(int a)`` -> ``foo``; None when this is not a function head."""
    text = declarator.rstrip()
    if not text.endswith(")"):
        # Attributes after the parameter list: `foo(void) __acquires(x)` or `__must_hold(y)`.
        words = text.split()
        if not words or not words[-1].startswith("__"):
            return None
    open_at = text.find("(")
    while open_at != -1:
        head = text[:open_at].rstrip()
        name = _trailing_identifier(head)
        if name is None:
            if head.endswith("("):
                return None
            # `(*name)(…)` returns a function pointer: the name sits inside the first group.
            open_at = text.find("(", open_at + 1)
            continue
        if name.startswith("__attribute") or name in _GROUP_WORDS:
            # `__attribute__((unused))`, `sizeof(…)`: skip the whole group.
            open_at = text.find("(", _balanced_end(text, open_at))
            continue
        if name in C_KEYWORDS:  # `void (*signal(…))(int)`: the name is inside the group
            open_at = text.find("(", open_at + 1)
            continue
        return name
    return None


def _variable(declarator: str) -> tuple[str, str] | None:
    """``static const struct inode_operations foo __ro_after_init =`` -> (foo, struct inode_operations)."""
    left = declarator[: declarator.rfind("=")]
    left = _without_groups(_without_groups(left, _PARENS), _BRACKETS)
    names = [n for n in IDENTIFIER.findall(left) if n not in C_KEYWORDS]
    # Trailing attribute words (__initdata, __read_mostly, ____cacheline_aligned) are not names.
    while len(names) > 1 and names[-1].startswith("__"):
        names.pop()
    if not names:
        return None
    kind = _STRUCT_TYPE.search(left)
    type_name = f"{kind.group(1)} {kind.group(2)}" if kind else " ".join(left.split()[:-1]) or "?"
    if not kind:
        words = [w for w in left.split() if w not in ("static", "const", "extern") and not w.startswith("__")]
        type_name = " ".join(words[:-1]) or "?"
    return names[-1], type_name


def _macros_and_identifiers(code: str, facts: FileFacts) -> None:
    """The file's ``#define``s and the identifiers its code uses (C and assembly alike)."""
    # Identifiers of directives count too: a macro used in an #if or another #define is used.
    # Bytes and str.split are several times faster than a regular expression here.
    code_bytes = code.encode("latin-1")
    words = set(code_bytes.translate(_WORD_BYTES).split())
    # A macro's own name is left out of its file's identifiers: the index finds that file through
    # the definition instead. Register headers define millions of names used nowhere else, and
    # this keeps them out of the reference lists.
    defines = line_start_matches(_DEFINE_BYTES, code_bytes)
    names = [m.group(1) for m in defines]
    words.difference_update(names)
    facts.identifiers = {w for w in words if not w[:1].isdigit()}
    # No text for macros (a kernel has millions, mostly register names): the query reads the line.
    facts.macros = (names, line_numbers(code_bytes, [m.start() for m in defines]))


def parse_code(text: str) -> FileFacts:
    """Definitions, system calls, table bindings and identifiers of one file's text."""
    facts = FileFacts()
    code = strip_comments_and_literals(text)
    _macros_and_identifiers(code, facts)
    if "{" not in code and "SYSCALL_DEFINE" not in code:
        # Header of declarations and macros only (a third of a kernel tree is register headers):
        # no bodies to scan, only typedefs and definition macros can define anything here.
        if "typedef" in code:
            _typedefs(code, facts)
        if C_INVOCATION.search(code):  # blanking directives costs a pass: only when needed
            _macro_definitions(blank_directives(code), [], facts)
        return facts
    body = blank_directives(code)
    syscalls = list(_SYSCALL.finditer(body)) if "SYSCALL_DEFINE" in body else []
    for match, line in zip(syscalls, line_numbers(body, [m.start() for m in syscalls]), strict=True):
        signature = _squash(body[match.start() : _balanced_end(body, body.index("(", match.start()))])
        facts.syscalls.append((match.group(3), match.group(1), int(match.group(2)), line, signature))

    spans = _scan_top_level(body, facts)
    _macro_definitions(body, spans, facts)
    return facts


def _typedefs(code: str, facts: FileFacts) -> None:
    found = []
    for match in _TYPEDEF.finditer(code):
        if _follows_word(code, match.start()):
            continue
        name = _typedef_name(match.group(1))
        if name:
            found.append((match.start(1) + match.group(1).rfind(name), name, _squash(match.group())[:200]))
    for (_, name, text), line in zip(found, line_numbers(code, [f[0] for f in found]), strict=True):
        facts.definitions.append((name, "typedef", line, text))


def _typedef_name(segment: str) -> str | None:
    pointer = _FUNC_POINTER.search(segment)
    if pointer:
        return pointer.group(1)
    names = [n for n in IDENTIFIER.findall(_without_groups(segment, _BRACKETS)) if n not in C_KEYWORDS]
    return names[-1] if names else None


def _scan_top_level(body: str, facts: FileFacts) -> list[tuple[int, int]]:
    """Record the top-level definitions and bindings; return the (open, close) of every body."""
    found: list[tuple[int, str, str, str]] = []  # (offset, name, kind, text)
    spans: list[tuple[int, int]] = []
    opened_at = 0
    tables: list[tuple[int, int, str, str]] = []  # (open offset, close offset, name, type)
    depth = 0
    segment_start = 0  # just after the last top-level "}"
    opened: tuple[str, int, str, str] | None = None  # what the open top-level body belongs to
    typedef_open = False
    # Only braces are visited; the declarator of a top-level "{" starts after the last ";" since
    # the last top-level "}", as everything between them is at depth 0.
    search = _BRACES.search
    match = search(body)
    while match is not None:
        pos = match.start()
        if match.group() == "{":
            if depth == 0:
                opened_at = pos
                start = max(segment_start, body.rfind(";", segment_start, pos) + 1)
                opened = _classify(body, start, pos, found)
                typedef_open = body[start:pos].lstrip().startswith("typedef")
                skip = _BALANCED_BODY.match(body, pos)
                if skip is not None and body.find("\n}", pos, skip.end() - 1) == -1:
                    # A balanced body without a column-0 "}" before its end: going brace by
                    # brace would reach its closing "}" at depth 1, so go there directly.
                    depth = 1
                    match = search(body, skip.end() - 1)
                    continue
            depth += 1
            match = search(body, pos + 1)
            continue
        match = search(body, pos + 1)
        depth = max(depth - 1, 0)
        if pos == 0 or body[pos - 1] == "\n":
            depth = 0  # a column-0 brace closes a top-level body in kernel style
        if depth:
            continue
        spans.append((opened_at, pos))
        if opened and opened[0] == "variable":
            tables.append((opened[1], pos, opened[2], opened[3]))
        if typedef_open:  # typedef struct { … } name;
            end = body.find(";", pos)
            name = _typedef_name(body[pos + 1 : end]) if end != -1 else None
            if name:
                found.append((body.find(name, pos), name, "typedef", ""))
        opened, typedef_open = None, False
        segment_start = pos + 1
    for match in _TYPEDEF.finditer(body):
        if _follows_word(body, match.start()):
            continue
        name = _typedef_name(match.group(1))
        if name:
            found.append(
                (match.start(1) + match.group(1).rfind(name), name, "typedef", _squash(match.group()))
            )
    found.sort()
    lines = line_numbers(body, [f[0] for f in found])
    for (_, name, kind, text), line in zip(found, lines, strict=True):
        facts.definitions.append((name, kind, line, text[:200]))
    bound = [
        (m, table, type_name)
        for open_at, close_at, table, type_name in tables
        for m in _BINDING.finditer(body, open_at, close_at + 1)
    ]
    lines = line_numbers(body, [m.start() for m, _, _ in bound])
    for (m, table, type_name), line in zip(bound, lines, strict=True):
        facts.bindings.append((m.group(2), table, type_name, m.group(1), line))
    return spans


def _arguments(text: str, open_paren: int) -> tuple[list[tuple[int, str]], int]:
    """The top-level arguments of the call whose ``(`` is at ``open_paren``: (offset, text) each,
    and the offset just past its ``)``."""
    end = _balanced_end(text, open_paren)
    args: list[tuple[int, str]] = []
    depth, start = 0, open_paren + 1
    for i in range(open_paren + 1, end - 1):
        ch = text[i]
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            args.append((start, text[start:i]))
            start = i + 1
    args.append((start, text[start : end - 1]))
    return args, end


def _macro_definitions(
    body: str, spans: list[tuple[int, int]], facts: FileFacts, *, assembly: bool = False
) -> None:
    """Symbols defined by definition macros (``DEFINE_MUTEX(name);`` …) at the top level of ``body``.

    ``spans`` are the top-level bodies: an invocation inside one is a local or a member.
    """
    pattern = ASM_INVOCATION if assembly else C_INVOCATION
    found: list[tuple[int, str, str, str]] = []
    closes = [close for _, close in spans]
    for match in pattern.finditer(body):
        at = match.start()
        if _follows_word(body, at):
            continue
        if spans:
            k = bisect_left(closes, at)
            if k < len(spans) and spans[k][0] < at:
                continue  # inside a function body, struct or initialiser
        rule = macro_rule(match.group(), assembly=assembly)
        if rule is None:
            continue
        args, end = _arguments(body, body.index("(", match.end()))
        if rule.argument >= len(args):
            continue
        offset, arg = args[rule.argument]
        named = IDENTIFIER.match(arg.strip())
        if named is None or named.group() in C_KEYWORDS:
            continue  # `ENTRY(\name)` in an assembler macro, a type where a name was expected
        where = offset + (len(arg) - len(arg.lstrip()))
        text = _squash(body[at:end])[:200]
        for template, kind in rule.names:
            found.append((where, template.format(named.group()), kind, text))
    lines = line_numbers(body, [f[0] for f in found])
    for (_, name, kind, text), line in zip(found, lines, strict=True):
        facts.definitions.append((name, kind, line, text))


def _call_position(text: str, name: str) -> int:
    """Where ``name`` stands as a whole word followed by ``(`` (0 if nowhere).

    Plain string search: a regular expression per name would be compiled anew for every
    function of the tree, which costs more than everything else the index does.
    """
    at = text.find(name)
    while at != -1:
        end = at + len(name)
        before_ok = at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_")
        if before_ok and text[end:].lstrip().startswith("("):
            return at
        at = text.find(name, end)
    return 0


def _classify(
    body: str, start: int, brace: int, found: list[tuple[int, str, str, str]]
) -> tuple[str, int, str, str] | None:
    """Record what the declarator before a top-level ``{`` defines; say what the body is."""
    declarator = body[start:brace]
    stripped = declarator.strip()
    if not stripped:
        return None
    lead = start + (len(declarator) - len(declarator.lstrip()))
    if stripped.endswith("="):
        var = _variable(stripped)
        if var is None:
            return None
        found.append((lead + stripped.rfind(var[0]), var[0], "variable", _squash(stripped[:-1])[:200]))
        return ("variable", brace, var[0], var[1])
    tail_at = max(0, len(stripped) - 300)  # a type head is short: search only the end
    head = _TYPE_HEAD.search(stripped, tail_at)
    if head:
        found.append((lead + head.start(2), head.group(2), head.group(1), _squash(stripped)[:200]))
        return ("type", brace, head.group(2), head.group(1))
    name = _function_name(stripped)
    if name is None or name.startswith(("SYSCALL_DEFINE", "COMPAT_SYSCALL_DEFINE")):
        return None
    if BODY_MACRO.fullmatch(name):
        # `DEFINE_IDTENTRY_RAW_ERRORCODE(exc_page_fault) {`: the function is the first argument.
        open_at = stripped.find("(", _call_position(stripped, name))
        args, _ = _arguments(stripped, open_at)
        first = IDENTIFIER.match(args[0][1].strip())
        if first is None:
            return None
        at = args[0][0] + (len(args[0][1]) - len(args[0][1].lstrip()))
        found.append((lead + at, first.group(), "function", _squash(stripped)[:200]))
        return ("function", brace, first.group(), "")
    # The offset of the name itself: its line is where ctags puts a multi-line head.
    found.append((lead + _call_position(stripped, name), name, "function", _squash(stripped)[:200]))
    return ("function", brace, name, "")


# A label first on its line (`name:`), an assembler macro, and the symbols made global.
_LABEL = re.compile(r"^[ \t]*([A-Za-z_]\w*)[ \t]*:(?!:)", re.M)
_ASM_MACRO = re.compile(r"^[ \t]*\.macro[ \t]+([A-Za-z_]\w*)", re.M)
_GLOBAL_NAMES = re.compile(r"\.(?:globl|global|weak)[ \t]+([\w.$]+(?:[ \t]*,[ \t]*[\w.$]+)*)")


def parse_assembly(text: str) -> FileFacts:
    """What one ``.S`` file defines: its entry macros, global labels, ``.macro``s, ``#define``s.

    A ``.S`` file goes through the C preprocessor first, so comments are C comments and
    ``#define``/``#include`` lines are directives, as in C. Entry points are written with the
    macros of include/linux/linkage.h (``SYM_FUNC_START(name)``, ``SYM_CODE_START(name)``,
    ``SYM_INNER_LABEL(name, …)``, …) or older ones (``ENTRY(name)``, ``GLOBAL(name)``), or as a
    plain ``name:`` label that ``.globl name`` makes global (numbered and ``.L`` labels are local
    and left out, as are labels never made global).
    """
    facts = FileFacts()
    code = strip_comments_and_literals(text)
    _macros_and_identifiers(code, facts)
    body = blank_directives(code)
    _macro_definitions(body, [], facts, assembly=True)
    globals_ = {n for m in _GLOBAL_NAMES.finditer(body) for n in re.split(r"[ \t]*,[ \t]*", m.group(1))}
    found = [(m.start(1), m.group(1), "label") for m in _LABEL.finditer(body) if m.group(1) in globals_]
    found += [(m.start(1), m.group(1), "macro") for m in _ASM_MACRO.finditer(body)]
    found.sort()
    lines = line_numbers(body, [f[0] for f in found])
    source_lines = text.split("\n")
    for (_, name, kind), line in zip(found, lines, strict=True):
        facts.definitions.append((name, kind, line, _squash(source_lines[line - 1])[:200]))
    return facts
