"""A structure's memory layout from BTF, as pahole shows it: offsets, sizes, holes, padding.

Members of anonymous structs and unions are listed inline at their offsets in the outer
structure (C lets code name them as if they were the outer struct's own fields; mm_struct keeps
nearly all its fields in one anonymous struct). With ``expand`` the members of embedded named
structs are listed too, under their parent.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_CACHELINE",
    "Hole",
    "LayoutBlock",
    "LayoutMember",
    "StructLayout",
    "cacheline_size",
    "definitions_of",
    "find_aggregate",
    "struct_layout",
]

from kernlab.errors import BadInput
from kernlab.source.btf import Btf
from kernlab.source.btf_cnames import c_declaration, c_type_name

DEFAULT_CACHELINE = 64
_CACHELINE_FILE = "/sys/devices/system/cpu/cpu0/cache/index0/coherency_line_size"


@dataclass(frozen=True)
class LayoutMember:
    """One field at its place in the outermost structure.

    ``offset_bytes`` and ``offset_bits`` count from the start of the outermost structure;
    ``bit_offset`` is the bit within that byte where a bit-field starts (0 otherwise).
    """

    name: str
    type_name: str  # C spelling without the field name: "struct mm_struct *", "char[16]"
    offset_bytes: int
    bit_offset: int
    bit_size: int  # 0 unless a bit-field
    size: int  # bytes of the member's type (of the storage unit, for a bit-field)
    depth: int  # 0 for the structure's own members, +1 per enclosing anonymous/expanded struct
    via_anonymous: bool  # reached through an anonymous struct or union
    offset_bits: int
    declaration: str  # the field as C declares it: "char comm[16]", "void (*fn)(int)"
    path: str  # dotted name from the outer struct (expanded members: "tasks.next")
    type_id: int


@dataclass(frozen=True)
class LayoutBlock:
    """An anonymous struct/union, or (with expand) an embedded struct/union member."""

    kind: str  # "struct" | "union"
    type_name: str
    name: str  # "" when anonymous
    offset_bytes: int
    size: int
    depth: int  # depth of the block's own line (its members are one deeper)
    first_member: int  # index into StructLayout.members of its first member
    end_member: int  # one past its last member


@dataclass(frozen=True)
class Hole:
    """Unused space between two members (or at the end of a nested struct: ``padding``)."""

    offset_bytes: int  # where the unused space starts
    size: int  # whole bytes
    bits: int  # extra bits (a bit-field unit not filled to a byte boundary)
    depth: int
    padding: bool = False


@dataclass(frozen=True)
class StructLayout:
    """The layout of one struct or union, from the kernel's BTF (``struct btf_type``/``btf_member``)."""

    name: str
    kind: str  # "struct" | "union"
    size: int
    type_id: int
    members: list[LayoutMember]
    blocks: list[LayoutBlock]
    holes: list[Hole]
    padding: int  # bytes after the last member up to ``size``
    hole_bytes: int  # bytes in holes between members (nested structs' tail padding excluded)
    cacheline_size: int
    cachelines: int
    member_count: int  # the structure's own members (an anonymous struct counts as one)
    anonymous_blocks: int
    btf_path: str
    expanded: bool = False
    other_definitions: list[int] = field(default_factory=list)  # ids of same-named structs
    # ("member", i) / ("open", i) / ("close", i) / ("hole", i) in display order, for renderers
    _outline: list[tuple[str, int]] = field(default_factory=list, repr=False)

    @property
    def outline(self) -> list[tuple[str, int]]:
        return self._outline


def cacheline_size() -> int:
    """The L1 cache line size the CPU reports in sysfs (64 when it says nothing)."""
    try:
        with open(_CACHELINE_FILE) as f:
            value = int(f.read().strip())
        return value if value > 0 else DEFAULT_CACHELINE
    except (OSError, ValueError):
        return DEFAULT_CACHELINE


def find_aggregate(btf: Btf, name: str) -> int:
    """The type id of the struct or union called ``name`` (a typedef of one works too).

    Accepts "mm_struct", "struct mm_struct", "union thread_union" or "atomic_t". Raises
    BadInput naming the closest matches when there is none.
    """
    text = " ".join(name.split())
    wanted: tuple[str, ...] = ("STRUCT", "UNION")
    for prefix, kind in (("struct ", "STRUCT"), ("union ", "UNION")):
        if text.startswith(prefix):
            text, wanted = text[len(prefix) :], (kind,)
            break
    for kind in wanted:
        # Prefer a definition with members over an empty one of the same name.
        found = btf.find_all(text, kind)
        if found:
            return max(found, key=lambda t: (t.vlen > 0, -t.id)).id
    for typedef in btf.find_all(text, "TYPEDEF"):
        target = btf.resolve(typedef.id)
        if target.kind in wanted:
            return target.id
    if btf.find(text, "FWD") is not None:
        raise BadInput(
            f"{text!r} is only declared (a forward declaration) in {btf.path}: BTF has no layout for it",
            key="errors.source.btf_forward",
            fields={"name": repr(text), "path": btf.path},
        )
    suggestions = suggest_names(text, btf.names_of_kind("STRUCT", "UNION"))
    raise UnknownAggregate(text, btf.path, suggestions)


@dataclass(frozen=True)
class NameSuggestions:
    """Names close to one a user typed, best first, and how many names match it at all."""

    names: tuple[str, ...]
    prefix_count: int  # names that start with the text
    substring_count: int  # names that contain it (the prefix ones included)


def suggest_names(text: str, names: Iterable[str], limit: int = 8) -> NameSuggestions:
    """The names a person most likely meant by ``text``, best first.

    A learner types part of a name ("task" for task_struct), which edit distance ranks below
    short unrelated names (track, tmpmasks); so names that start with the text come first, those
    with the text at a word start ("_task") next, those that merely contain it after, and
    difflib's close matches only last (for typos). Within a rank the shorter name wins.
    Comparisons ignore case.
    """
    want = text.lower()
    unique = sorted(set(names))
    ranked: list[tuple[int, int, str]] = []
    prefix = substring = 0
    for name in unique:
        low = name.lower()
        at = low.find(want)
        if at < 0 or not want:
            continue
        substring += 1
        if at == 0:
            prefix += 1
            rank = 0 if low[len(want) : len(want) + 1] in ("", "_") else 1
        else:
            rank = 2 if "_" + want in low else 3
        ranked.append((rank, len(name), name))
    ranked.sort()
    picked = [name for _, _, name in ranked[:limit]]
    if len(picked) < limit:
        rest = [n for n in unique if n not in set(picked)]
        picked += difflib.get_close_matches(text, rest, n=limit - len(picked), cutoff=0.6)
    return NameSuggestions(tuple(picked), prefix, substring)


class UnknownAggregate(BadInput):
    """No struct or union has the name asked for; ``suggestions`` holds the likely ones."""

    def __init__(self, name: str, path: str, suggestions: NameSuggestions) -> None:
        self.name = name
        self.path = path
        self.suggestions = suggestions
        s = suggestions
        # "names starting with it: 1" reads right for 0, 1 and many.
        counts = f"; names starting with it: {s.prefix_count:,}, containing it: {s.substring_count:,}"
        names = ", ".join(s.names)
        hint = f"; did you mean: {names}" if s.names else ""
        super().__init__(
            f"no struct or union named {name!r} in {path}{counts}{hint}",
            key="errors.source.no_aggregate_hint" if s.names else "errors.source.no_aggregate",
            fields={
                "name": repr(name),
                "path": path,
                "prefix": s.prefix_count,
                "substring": s.substring_count,
                "names": names,
            },
        )


class _Walker:
    def __init__(self, btf: Btf, expand: bool) -> None:
        self.btf = btf
        self.expand = expand
        self.members: list[LayoutMember] = []
        self.blocks: list[LayoutBlock] = []
        self.holes: list[Hole] = []
        self.outline: list[tuple[str, int]] = []

    def _hole(self, start_bits: int, end_bits: int, depth: int, padding: bool = False) -> None:
        gap = end_bits - start_bits
        if gap <= 0:
            return
        # Bits up to the next byte boundary are a bit hole; what is left is whole bytes.
        bits = min(gap, (8 - start_bits % 8) % 8)
        size = (gap - bits) // 8
        self.outline.append(("hole", len(self.holes)))
        offset = (start_bits + 7) // 8 if size else start_bits // 8
        self.holes.append(Hole(offset, size, bits, depth, padding))

    def walk(self, type_id: int, base_bits: int, depth: int, via_anon: bool, prefix: str) -> int:
        """Lay out the members of struct/union ``type_id``; returns the bit where they end."""
        btf = self.btf
        agg = btf.resolve(type_id)
        is_struct = agg.kind == "STRUCT"
        end = base_bits
        for m in agg.members:
            start = base_bits + m.bit_offset
            target = btf.resolve(m.type_id)
            size = btf.size_of(m.type_id)
            if is_struct:
                self._hole(end, start, depth)
            nested = target.kind in ("STRUCT", "UNION") and m.bitfield_size == 0
            if nested and (not m.name or self.expand):
                block_index = len(self.blocks)
                self.blocks.append(None)  # type: ignore[arg-type]  # filled once its end is known
                self.outline.append(("open", block_index))
                first = len(self.members)
                inner_prefix = prefix if not m.name else f"{prefix}{m.name}."
                inner_end = self.walk(m.type_id, start, depth + 1, via_anon or not m.name, inner_prefix)
                if target.kind == "STRUCT":
                    self._hole(inner_end, start + size * 8, depth + 1, padding=True)
                self.blocks[block_index] = LayoutBlock(
                    kind=target.kind.lower(),
                    type_name=c_type_name(btf, m.type_id),
                    name=m.name,
                    offset_bytes=start // 8,
                    size=size,
                    depth=depth,
                    first_member=first,
                    end_member=len(self.members),
                )
                self.outline.append(("close", block_index))
            else:
                self.outline.append(("member", len(self.members)))
                self.members.append(
                    LayoutMember(
                        name=m.name,
                        type_name=c_type_name(btf, m.type_id),
                        offset_bytes=start // 8,
                        bit_offset=start % 8 if m.bitfield_size else 0,
                        bit_size=m.bitfield_size,
                        size=size,
                        depth=depth,
                        via_anonymous=via_anon,
                        offset_bits=start,
                        declaration=c_declaration(btf, m.type_id, m.name),
                        path=f"{prefix}{m.name}",
                        type_id=m.type_id,
                    )
                )
            stop = start + (m.bitfield_size or size * 8)
            end = max(end, stop)
        return end


def definitions_of(btf: Btf, type_id: int) -> list[int]:
    """Every struct/union id with the same kind and name as ``type_id`` (itself included).

    Different compilation units may define different structures under one name (vmlinux has
    two ``struct console``); BTF keeps each.
    """
    t = btf.type(type_id)
    if not t.name:
        return [type_id]
    return [other.id for other in btf.find_all(t.name, t.kind)]


def struct_layout(
    btf: Btf, name: str, expand: bool = False, cacheline: int | None = None, type_id: int | None = None
) -> StructLayout:
    """The layout of struct/union ``name`` in ``btf``, members of anonymous parts inline.

    When several structures share the name, the first with members is taken, unless
    ``type_id`` picks one of them.
    """
    chosen = find_aggregate(btf, name)
    same = definitions_of(btf, chosen)
    if type_id is not None:
        if type_id not in same:
            ids = ", ".join(map(str, same))
            raise BadInput(
                f"type id {type_id} is not a definition of {name!r} in {btf.path} (those: {ids})",
                key="errors.source.not_a_definition",
                fields={"id": type_id, "name": repr(name), "path": btf.path, "ids": ids},
            )
        chosen = type_id
    type_id = chosen
    agg = btf.type(type_id)
    walker = _Walker(btf, expand)
    end_bits = walker.walk(type_id, 0, 0, False, "")
    line = cacheline or cacheline_size()
    size = agg.size or 0
    display_name = agg.name or " ".join(name.split())
    return StructLayout(
        name=display_name,
        kind=agg.kind.lower(),
        size=size,
        type_id=type_id,
        members=walker.members,
        blocks=walker.blocks,
        holes=walker.holes,
        padding=max(0, size - (end_bits + 7) // 8),
        hole_bytes=sum(h.size for h in walker.holes if not h.padding),
        cacheline_size=line,
        cachelines=(size + line - 1) // line,
        member_count=agg.vlen,
        anonymous_blocks=sum(1 for b in walker.blocks if not b.name),
        btf_path=btf.path,
        expanded=expand,
        other_definitions=[i for i in same if i != type_id],
        _outline=walker.outline,
    )
