"""Struct layouts from kernlab's BTF reader against bpftool's raw dump of the same BTF.

bpftool prints ``[id] STRUCT 'name' size=N vlen=M`` then one ``'member' type_id=T
bits_offset=B [bitfield_size=S]`` line per member; the expected layout is computed here from
that text, opening anonymous struct/union members recursively at their offsets.
"""

from __future__ import annotations

import functools
import itertools
import os
import random
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import need_tool

VMLINUX = "/sys/kernel/btf/vmlinux"
NAMED_STRUCTS = ("task_struct", "mm_struct", "vm_area_struct", "folio", "page", "file", "inode")

_TYPE_LINE = re.compile(r"^\[(\d+)\] (\w+) '([^']*)'(.*)$")
_MEMBER_LINE = re.compile(r"^\t'([^']*)' type_id=(\d+) bits_offset=(\d+)(?: bitfield_size=(\d+))?")
_KEYVAL = re.compile(r"(\w+)=(\S+)")


@dataclass
class RawType:
    id: int
    kind: str
    name: str  # "" for bpftool's '(anon)'
    attrs: dict[str, str]
    members: list[tuple[str, int, int, int]] = field(default_factory=list)  # name, type, bits, bf size
    lines: list[str] = field(default_factory=list)  # every indented line bpftool printed under it


@dataclass
class RawDump:
    types: dict[int, RawType]

    def resolve(self, type_id: int) -> RawType | None:
        t = self.types.get(type_id)
        while t is not None and t.kind in ("TYPEDEF", "CONST", "VOLATILE", "RESTRICT", "TYPE_TAG"):
            t = self.types.get(int(t.attrs["type_id"].rstrip(",")))
        return t

    @functools.cached_property
    def by_name(self) -> dict[tuple[str, str], list[RawType]]:
        index: dict[tuple[str, str], list[RawType]] = {}
        for t in self.types.values():
            index.setdefault((t.kind, t.name), []).append(t)
        return index

    def first_named(self, name: str, kinds: tuple[str, ...] = ("STRUCT", "UNION")) -> RawType:
        for kind in kinds:
            found = self.by_name.get((kind, name), [])
            if found:
                complete = [t for t in found if t.members] or found
                return min(complete, key=lambda t: t.id)
        raise KeyError(name)

    def flat_members(self, t: RawType, base_bits: int = 0) -> list[tuple[str, int]]:
        """(name, byte offset in the outer struct) for every member, anonymous parts opened."""
        out: list[tuple[str, int]] = []
        for name, type_id, bits, bf_size in t.members:
            target = self.resolve(type_id)
            if not name and bf_size == 0 and target is not None and target.kind in ("STRUCT", "UNION"):
                out.extend(self.flat_members(target, base_bits + bits))
            else:
                out.append((name, (base_bits + bits) // 8))
        return out


def parse_raw_dump(text: str) -> RawDump:
    types: dict[int, RawType] = {}
    current: RawType | None = None
    for line in text.splitlines():
        m = _TYPE_LINE.match(line)
        if m:
            name = "" if m.group(3) == "(anon)" else m.group(3)
            current = RawType(int(m.group(1)), m.group(2), name, dict(_KEYVAL.findall(m.group(4))))
            types[current.id] = current
            continue
        if current is not None and line.startswith("\t"):
            current.lines.append(line[1:])
        mm = _MEMBER_LINE.match(line)
        if mm and current is not None and current.kind in ("STRUCT", "UNION"):
            name = "" if mm.group(1) == "(anon)" else mm.group(1)
            current.members.append((name, int(mm.group(2)), int(mm.group(3)), int(mm.group(4) or 0)))
    return RawDump(types)


@functools.cache
def bpftool_dump(path: str = VMLINUX, base: str | None = None) -> RawDump:
    """bpftool's raw dump of a BTF file, parsed once per test session (it is ~300k lines)."""
    bpftool = need_tool("bpftool")
    args = [bpftool, "btf", "dump", "file", path, "format", "raw"]
    if base:
        args[1:1] = ["-B", base]
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    return parse_raw_dump(proc.stdout)


def need_vmlinux_btf() -> None:
    if not os.path.exists(VMLINUX):
        pytest.skip(f"{VMLINUX} is missing: kernel built without CONFIG_DEBUG_INFO_BTF")


@pytest.fixture(scope="module")
def btf():
    need_vmlinux_btf()
    from kernlab.source.btf import load_btf

    return load_btf()


@pytest.fixture(scope="module")
def raw() -> RawDump:
    need_vmlinux_btf()
    return bpftool_dump()


def _assert_layout_matches(btf, raw: RawDump, name: str) -> None:
    from kernlab.source.btf_layout import struct_layout

    expected = raw.first_named(name)
    layout = struct_layout(btf, name)
    assert layout.size == int(expected.attrs["size"]), name
    assert layout.type_id == expected.id, name
    assert layout.member_count == len(expected.members), name
    got = [(m.name, m.offset_bytes) for m in layout.members]
    assert got == raw.flat_members(expected), name


@pytest.mark.parametrize("name", NAMED_STRUCTS)
def test_btf_named_struct_matches_bpftool(btf, raw, name):
    _assert_layout_matches(btf, raw, name)


def test_btf_random_structs_match_bpftool(btf, raw):
    seed = int(os.environ.get("KERNLAB_TEST_SEED", random.SystemRandom().randrange(1 << 30)))
    print(f"random struct sample seed: {seed} (set KERNLAB_TEST_SEED={seed} to repeat)")
    names = sorted({t.name for t in raw.types.values() if t.kind in ("STRUCT", "UNION") and t.name})
    for name in random.Random(seed).sample(names, 30):
        _assert_layout_matches(btf, raw, name)


def test_btf_anonymous_members_are_inline(btf, raw):
    from kernlab.source.btf_layout import struct_layout

    layout = struct_layout(btf, "mm_struct")
    expected = raw.first_named("mm_struct")
    anonymous_top = [m for m in expected.members if not m[0]]
    assert anonymous_top, "mm_struct keeps its fields in an anonymous struct in this kernel"
    inside = [m for m in layout.members if m.via_anonymous]
    # every member reached through an anonymous struct is deeper than the outer level
    assert inside and all(m.depth >= 1 for m in inside)
    assert len(layout.members) == len(raw.flat_members(expected))


def test_btf_bitfields_match_bpftool(btf, raw):
    from kernlab.source.btf_layout import struct_layout

    expected = raw.first_named("task_struct")
    want = {}

    def collect(t: RawType, base: int) -> None:
        for name, type_id, bits, bf in t.members:
            target = raw.resolve(type_id)
            if not name and bf == 0 and target and target.kind in ("STRUCT", "UNION"):
                collect(target, base + bits)
            elif bf:
                want[name] = (base + bits, bf)

    collect(expected, 0)
    assert want, "task_struct has bit-fields"
    got = {
        m.name: (m.offset_bits, m.bit_size) for m in struct_layout(btf, "task_struct").members if m.bit_size
    }
    assert got == want
    for m in struct_layout(btf, "task_struct").members:
        assert m.offset_bytes * 8 + m.bit_offset == m.offset_bits


def _raw_size(btf, raw: RawDump, type_id: int) -> int:
    t = raw.resolve(type_id)
    assert t is not None
    if t.kind == "PTR":
        return btf.pointer_size
    if t.kind == "ARRAY":
        return int(t.attrs["nr_elems"]) * _raw_size(btf, raw, int(t.attrs["type_id"]))
    return int(t.attrs.get("size", 0))


def test_btf_holes_and_padding_match_bpftool_offsets(btf, raw):
    """Holes and tail padding of plain structs, computed here from bpftool's offsets and sizes."""
    from kernlab.source.btf_layout import struct_layout

    plain = [
        t
        for t in raw.types.values()
        if t.kind == "STRUCT" and t.name and len(t.members) > 1 and all(m[0] and not m[3] for m in t.members)
    ]
    seen_names: set[str] = set()
    checked = with_holes = 0
    for t in plain:
        if t.name in seen_names or raw.first_named(t.name).id != t.id:
            continue
        seen_names.add(t.name)
        ends = [(bits // 8, bits // 8 + _raw_size(btf, raw, type_id)) for _, type_id, bits, _ in t.members]
        holes = [nxt[0] - prev[1] for prev, nxt in itertools.pairwise(ends) if nxt[0] > prev[1]]
        padding = int(t.attrs["size"]) - max(end for _, end in ends)
        layout = struct_layout(btf, t.name)
        assert [h.size for h in layout.holes if not h.padding] == holes, t.name
        assert layout.hole_bytes == sum(holes), t.name
        assert layout.padding == max(0, padding), t.name
        checked += 1
        with_holes += bool(holes)
        if checked >= 400:
            break
    assert checked >= 100 and with_holes >= 5, (checked, with_holes)


def test_btf_member_sizes_are_type_sizes(btf, raw):
    """A member's size is its type's size as bpftool reports it (arrays: nelems * element)."""
    from kernlab.source.btf_layout import struct_layout

    for name in NAMED_STRUCTS:
        for m in struct_layout(btf, name).members:
            assert m.size == _raw_size(btf, raw, m.type_id), (name, m.name)


def test_btf_unknown_name_suggests_close_matches(btf):
    from kernlab.errors import BadInput
    from kernlab.source.btf_layout import struct_layout

    with pytest.raises(BadInput) as info:
        struct_layout(btf, "mm_strct")
    assert "mm_struct" in str(info.value)


@pytest.mark.parametrize("typed", ["task", "TASK", "vm_area", "inod", "mm_str", "sched_ent", "xyzzy"])
def test_btf_part_of_a_name_suggests_by_prefix_then_substring(btf, raw, typed):
    """Counts and order from bpftool's own list of struct and union names: every name that
    starts with the text comes before any that merely contains it, and the counts are exact."""
    from kernlab.source.btf_layout import UnknownAggregate, struct_layout

    names = sorted({t.name for t in raw.types.values() if t.kind in ("STRUCT", "UNION") and t.name})
    low = typed.lower()
    starting = [n for n in names if n.lower().startswith(low)]
    containing = [n for n in names if low in n.lower()]
    if typed in names:
        pytest.skip(f"{typed} is itself a struct name in this kernel")
    with pytest.raises(UnknownAggregate) as info:
        struct_layout(btf, typed)
    found = info.value.suggestions
    assert (found.prefix_count, found.substring_count) == (len(starting), len(containing))
    shown = list(found.names)
    assert shown[: min(len(starting), len(shown))] == [n for n in shown if n in starting]
    assert set(shown[: len(starting)]) <= set(starting)
    if len(containing) <= len(shown):
        assert set(containing) <= set(shown)
    assert f"names starting with it: {len(starting):,}" in str(info.value)


def test_btf_task_suggests_task_struct(btf):
    from kernlab.source.btf_layout import UnknownAggregate, struct_layout

    with pytest.raises(UnknownAggregate) as info:
        struct_layout(btf, "task")
    assert "task_struct" in info.value.suggestions.names
    assert "track" not in info.value.suggestions.names


def test_btf_typedef_and_prefixed_names(btf, raw):
    from kernlab.source.btf_layout import struct_layout

    assert struct_layout(btf, "struct list_head").size == int(raw.first_named("list_head").attrs["size"])
    typedef = next(t for t in raw.types.values() if t.kind == "TYPEDEF" and t.name == "atomic_t")
    target = raw.resolve(typedef.id)
    assert target is not None
    assert struct_layout(btf, "atomic_t").size == int(target.attrs["size"])


def test_btf_layout_is_fast(btf):
    import time

    from kernlab.source.btf import load_btf
    from kernlab.source.btf_layout import struct_layout

    start = time.perf_counter()
    struct_layout(load_btf(), "task_struct")
    assert time.perf_counter() - start < 2.0


def test_btf_c_spelling_of_types(btf, raw):
    """Names follow C: pointers, arrays and function pointers read as a declaration."""
    from kernlab.source.btf_layout import struct_layout

    layout = struct_layout(btf, "task_struct")
    by_name = {m.name: m for m in layout.members}
    comm = raw.first_named("task_struct")
    comm_member = (
        next(m for m in comm.members if m[0] == "comm") if any(m[0] == "comm" for m in comm.members) else None
    )
    if comm_member is not None:
        array = raw.types[comm_member[1]]
        assert array.kind == "ARRAY"
        assert by_name["comm"].type_name.endswith(f"[{array.attrs['nr_elems']}]")
        assert by_name["comm"].declaration.endswith(f"comm[{array.attrs['nr_elems']}]")
    mm = by_name["mm"]
    assert raw.types[mm.type_id].kind == "PTR"
    assert mm.type_name == "struct mm_struct *"
    ops = struct_layout(btf, "file_operations")
    pointers = [m for m in ops.members if raw.resolve(m.type_id).kind == "PTR"]
    func_ptrs = [
        m for m in pointers if raw.types[int(raw.resolve(m.type_id).attrs["type_id"])].kind == "FUNC_PROTO"
    ]
    assert func_ptrs
    for m in func_ptrs:
        assert f"(*{m.name})(" in m.declaration and "(*)(" in m.type_name


@pytest.mark.slow
def test_btf_layouts_from_split_file_match_bpftool(btf, tmp_path: Path):
    """A split BTF blob (what modules use) cut from vmlinux: bpftool -B reads it the same way."""
    from kernlab.source.btf import load_btf
    from kernlab.source.btf_layout import struct_layout
    from tests.source.test_btf_reader import split_vmlinux

    base_path, split_path, first_split_id = split_vmlinux(tmp_path, cut=200)
    split = load_btf(split_path, base=str(base_path))
    # bpftool -B prints only the split file's own types; the base's come from its own dump.
    raw_split = RawDump(
        {**bpftool_dump(str(base_path)).types, **bpftool_dump(str(split_path), str(base_path)).types}
    )
    assert split.first_id == first_split_id
    assert split.type_count == btf.type_count
    ids = []
    for name in ("mm_struct", "task_struct", "vm_area_struct"):
        expected = raw_split.first_named(name)
        ids.append(expected.id)
        layout = struct_layout(split, name)
        assert layout.size == int(expected.attrs["size"])
        assert [(m.name, m.offset_bytes) for m in layout.members] == raw_split.flat_members(expected)
    assert max(ids) >= first_split_id, "at least one struct defined in the split part"


def test_btf_forward_declaration_only_is_bad_input(btf, raw):
    from kernlab.errors import BadInput
    from kernlab.source.btf_layout import struct_layout

    defined = {t.name for t in raw.types.values() if t.kind in ("STRUCT", "UNION")}
    fwd_only = sorted(t.name for t in raw.types.values() if t.kind == "FWD" and t.name not in defined)
    if not fwd_only:
        pytest.skip("every forward declaration in this BTF also has a definition")
    with pytest.raises(BadInput, match="forward declaration"):
        struct_layout(btf, fwd_only[0])


def test_btf_same_name_definitions_and_id_choice(btf, raw):
    """Where several structs share a name, the first is shown and --id reaches the others."""
    from kernlab.source.btf_layout import struct_layout

    dupes = sorted(
        (name, ts)
        for (kind, name), ts in raw.by_name.items()
        if kind == "STRUCT" and name and len([t for t in ts if t.members]) > 1
    )
    if not dupes:
        pytest.skip("no struct name has two definitions in this BTF")
    name, types = dupes[0]
    defined = [t for t in types if t.members]
    first = struct_layout(btf, name)
    assert first.type_id == defined[0].id
    assert set(first.other_definitions) == {t.id for t in types} - {first.type_id}
    for t in defined[1:]:
        other = struct_layout(btf, name, type_id=t.id)
        assert other.size == int(t.attrs["size"])
        assert [(m.name, m.offset_bytes) for m in other.members] == raw.flat_members(t)
