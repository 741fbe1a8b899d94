"""C spelling of BTF types: ``struct mm_struct *``, ``char[16]``, ``void (*)(struct page *)``.

BTF stores integer names as the compiler's DWARF spells them ("long unsigned int"); kernlab
shows the spelling a C programmer writes ("unsigned long"), from the table below. Declarators
(pointers, arrays, function pointers, qualifiers) are composed the way C reads them: inside out.
"""

from __future__ import annotations

from kernlab.source.btf import Btf

# DWARF/BTF integer names -> how C source usually spells them.
C_INT_SPELLING: dict[str, str] = {
    "long unsigned int": "unsigned long",
    "long int": "long",
    "short unsigned int": "unsigned short",
    "short int": "short",
    "long long unsigned int": "unsigned long long",
    "long long int": "long long",
    "__int128 unsigned": "unsigned __int128",
}

_QUALIFIERS = {"CONST": "const", "VOLATILE": "volatile", "RESTRICT": "restrict"}
_MAX_DEPTH = 48  # a malformed blob could loop; real declarators are a handful deep


def _skip_tags(btf: Btf, type_id: int) -> int:
    while btf.kind_of(type_id) == "TYPE_TAG":
        type_id = btf.type(type_id).type_id or 0
    return type_id


def base_name(btf: Btf, type_id: int) -> str:
    """The name of a non-derived type: ``unsigned long``, ``struct page``, ``struct {...}``."""
    t = btf.type(type_id)
    kind = t.kind
    if kind == "VOID":
        return "void"
    if kind in ("INT", "FLOAT"):
        return C_INT_SPELLING.get(t.name, t.name)
    if kind in ("STRUCT", "UNION"):
        word = kind.lower()
        return f"{word} {t.name}" if t.name else f"{word} {{...}}"
    if kind in ("ENUM", "ENUM64"):
        return f"enum {t.name}" if t.name else "enum {...}"
    if kind == "FWD":
        return f"{t.fwd_kind} {t.name}"
    return t.name or f"<{kind.lower()} #{type_id}>"


def c_declaration(btf: Btf, type_id: int, name: str = "") -> str:
    """``type_id`` declared as ``name``, e.g. ``char comm[16]`` or ``int (*fn)(void *)``."""
    return _declare(btf, type_id, name, 0)


def c_type_name(btf: Btf, type_id: int) -> str:
    """The type alone, as in a cast: ``struct mm_struct *``, ``char[16]``."""
    return _declare(btf, type_id, "", 0)


def _declare(btf: Btf, type_id: int, inner: str, depth: int) -> str:
    if depth > _MAX_DEPTH:
        return f"<too deep> {inner}".strip()
    kind = btf.kind_of(type_id)
    if kind == "TYPE_TAG":
        return _declare(btf, _skip_tags(btf, type_id), inner, depth + 1)
    if kind == "PTR":
        target = _skip_tags(btf, btf.type(type_id).type_id or 0)
        inner = "*" + inner
        if btf.kind_of(target) in ("ARRAY", "FUNC_PROTO"):
            inner = f"({inner})"
        return _declare(btf, target, inner, depth + 1)
    if kind in _QUALIFIERS:
        target = _skip_tags(btf, btf.type(type_id).type_id or 0)
        word = _QUALIFIERS[kind]
        if btf.kind_of(target) == "PTR":
            # A qualified pointer: the qualifier binds to the '*' (char *const p).
            return _declare(btf, target, f"{word} {inner}".rstrip(), depth + 1)
        return f"{word} " + _declare(btf, target, inner, depth + 1)
    if kind == "ARRAY":
        t = btf.type(type_id)
        return _declare(btf, t.elem_type_id or 0, f"{inner}[{t.nelems}]", depth + 1)
    if kind == "FUNC_PROTO":
        t = btf.type(type_id)
        params = []
        for p in t.params:
            params.append("..." if p.type_id == 0 and not p.name else _declare(btf, p.type_id, "", depth + 1))
        return _declare(btf, t.type_id or 0, f"{inner}({', '.join(params) or 'void'})", depth + 1)
    base = base_name(btf, type_id)
    if not inner:
        return base
    if inner.startswith("["):
        return base + inner
    return f"{base} {inner}"
