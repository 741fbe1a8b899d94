"""kernlab's BTF parser against bpftool's raw dump: every type record, every kind, both byte orders."""

from __future__ import annotations

import re
import struct
from array import array
from pathlib import Path

import pytest

from tests.source.test_btf_layout import VMLINUX, RawDump, bpftool_dump, need_vmlinux_btf

_VAL = re.compile(r"^'([^']*)' val=(-?\d+)(?:U?LL)?$")
_PARAM = re.compile(r"^'([^']*)' type_id=(\d+)$")
_SECINFO = re.compile(r"^type_id=(\d+) offset=(\d+) size=(\d+)")


@pytest.fixture(scope="module")
def btf():
    need_vmlinux_btf()
    from kernlab.source.btf import load_btf

    return load_btf()


@pytest.fixture(scope="module")
def raw() -> RawDump:
    need_vmlinux_btf()
    return bpftool_dump()


def test_btf_kind_counts_match_bpftool(btf, raw):
    expected: dict[str, int] = {}
    for t in raw.types.values():
        expected[t.kind] = expected.get(t.kind, 0) + 1
    assert btf.kind_counts() == expected
    assert btf.type_count == max(raw.types)
    # The kernel emits these newer kinds; pahole of Debian 12 does not know them.
    for kind in ("DECL_TAG", "TYPE_TAG", "ENUM64"):
        if kind in expected:
            assert btf.kind_counts()[kind] == expected[kind]


def _id_attr(value: str) -> int:
    return int(value.rstrip(","))


def _compare(btf, t) -> None:
    """One record decoded by kernlab equals what bpftool printed for it."""
    got = btf.type(t.id)
    assert got.kind == t.kind, t.id
    assert got.name == t.name, t.id
    a = t.attrs
    if "size" in a:
        assert got.size == int(a["size"]), t.id
    if t.kind in ("PTR", "TYPEDEF", "VOLATILE", "CONST", "RESTRICT", "FUNC", "VAR", "DECL_TAG", "TYPE_TAG"):
        assert got.type_id == _id_attr(a["type_id"]), t.id
    if t.kind == "INT":
        assert (got.int_offset, got.int_bits) == (int(a["bits_offset"]), int(a["nr_bits"])), t.id
        words = {"(none)": "none", "SIGNED": "signed", "CHAR": "char", "BOOL": "bool"}
        assert got.int_encoding == words[a["encoding"]], t.id
    elif t.kind == "ARRAY":
        assert (got.elem_type_id, got.index_type_id, got.nelems) == (
            int(a["type_id"]),
            int(a["index_type_id"]),
            int(a["nr_elems"]),
        ), t.id
    elif t.kind in ("STRUCT", "UNION"):
        assert [(m.name, m.type_id, m.bit_offset, m.bitfield_size) for m in got.members] == t.members, t.id
    elif t.kind in ("ENUM", "ENUM64"):
        expected = [(m.group(1), int(m.group(2))) for m in map(_VAL.match, t.lines) if m]
        assert len(expected) == int(a["vlen"]), t.id
        assert [(v.name, v.value) for v in got.values] == expected, t.id
        assert got.signed == (a["encoding"] == "SIGNED"), t.id
    elif t.kind == "FUNC_PROTO":
        assert got.type_id == int(a["ret_type_id"]), t.id
        expected = [
            (("" if m.group(1) == "(anon)" else m.group(1)), int(m.group(2)))
            for m in map(_PARAM.match, t.lines)
            if m
        ]
        assert [(p.name, p.type_id) for p in got.params] == expected, t.id
    elif t.kind in ("FUNC", "VAR"):
        assert got.linkage == a["linkage"], t.id
    elif t.kind == "FWD":
        assert got.fwd_kind == a["fwd_kind"], t.id
    elif t.kind == "DATASEC":
        expected = [tuple(map(int, m.groups())) for m in map(_SECINFO.match, t.lines) if m]
        assert [(s.type_id, s.offset, s.size) for s in got.secinfos] == expected, t.id
    elif t.kind == "DECL_TAG":
        assert got.component_idx == int(a["component_idx"]), t.id


@pytest.mark.slow
def test_btf_every_record_matches_bpftool(btf, raw):
    for t in raw.types.values():
        _compare(btf, t)


def _swap_btf(data: bytes) -> bytes:
    """The same BTF in the other byte order: header fields and every type-section word swapped."""
    magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        "<HBBIIIII", data
    )
    header = struct.pack(">HBBIIIII", magic, version, flags, hdr_len, type_off, type_len, str_off, str_len)
    header += data[24:hdr_len]
    words = array("I")
    start = hdr_len + type_off
    words.frombytes(data[start : start + type_len])
    words.byteswap()
    types = words.tobytes()
    strings = data[hdr_len + str_off : hdr_len + str_off + str_len]
    assert type_off == 0 and str_off == type_len, "this test assumes the usual section order"
    return header + types + strings


def test_btf_big_endian_copy_reads_the_same(btf, raw):
    from kernlab.source.btf import parse_btf
    from kernlab.source.btf_layout import struct_layout

    data = Path(VMLINUX).read_bytes()
    if struct.unpack_from("<H", data)[0] != 0xEB9F:
        pytest.skip("the running kernel's BTF is not little-endian; this test swaps little to big")
    swapped = parse_btf(_swap_btf(data), "swapped")
    assert swapped.header.byte_order == "big"
    assert swapped.kind_counts() == btf.kind_counts()
    for t in list(raw.types.values())[::97]:
        _compare(swapped, t)
    for name in ("task_struct", "mm_struct"):
        assert struct_layout(swapped, name).members == struct_layout(btf, name).members


def split_vmlinux(tmp_path: Path, cut: int) -> tuple[Path, Path, int]:
    """Cut vmlinux's BTF in two: types 1..cut as a base, the rest as split BTF on top of it.

    Both keep the whole string table in the base, so the split file's string section holds
    only the empty string and every name offset still points into the base.
    """
    from kernlab.source.btf import load_btf

    btf = load_btf()
    data = Path(VMLINUX).read_bytes()
    magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        "<HBBIIIII", data
    )
    types = data[hdr_len + type_off : hdr_len + type_off + type_len]
    strings = data[hdr_len + str_off : hdr_len + str_off + str_len]
    boundary = btf._starts[cut] * 4  # byte where type cut+1 starts
    base_types, split_types = types[:boundary], types[boundary:]

    def blob(type_bytes: bytes, string_bytes: bytes) -> bytes:
        head = struct.pack(
            "<HBBIIIII", magic, version, flags, 24, 0, len(type_bytes), len(type_bytes), len(string_bytes)
        )
        return head + type_bytes + string_bytes

    base_path, split_path = tmp_path / "base.btf", tmp_path / "split.btf"
    base_path.write_bytes(blob(base_types, strings))
    split_path.write_bytes(blob(split_types, b"\0"))
    return base_path, split_path, cut + 1


@pytest.mark.slow
def test_btf_split_file_continues_base_ids(btf, tmp_path):
    from kernlab.source.btf import load_btf

    base_path, split_path, first = split_vmlinux(tmp_path, cut=500)
    split = load_btf(split_path, base=str(base_path))
    raw_split = bpftool_dump(str(split_path), str(base_path))
    assert split.first_id == first == min(raw_split.types)
    own: dict[str, int] = {}
    for t in raw_split.types.values():
        own[t.kind] = own.get(t.kind, 0) + 1
    assert split.kind_counts() == own
    for t in list(raw_split.types.values())[::53]:
        _compare(split, t)
    assert split.find("mm_struct", "STRUCT").id == btf.find("mm_struct", "STRUCT").id


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "too short"),
        (b"\x7fELF" + b"\0" * 60, "not BTF"),
        (struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 4096, 4096, 10), "damaged"),
        (
            struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 12, 12, 1)
            + struct.pack("<III", 0, 25 << 24, 0)
            + b"\0",
            "kind",
        ),
        (
            struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 12, 12, 1)
            + struct.pack("<III", 0, (4 << 24) | 3, 8)
            + b"\0",
            "past the end",
        ),
    ],
)
def test_btf_garbage_is_bad_input(tmp_path, content, words):
    from kernlab.errors import BadInput
    from kernlab.source.btf import load_btf

    path = tmp_path / "garbage.btf"
    path.write_bytes(content)
    with pytest.raises(BadInput) as info:
        load_btf(path)
    assert words in str(info.value)


def test_btf_missing_and_directory_are_bad_input(tmp_path):
    from kernlab.errors import BadInput
    from kernlab.source.btf import load_btf

    with pytest.raises(BadInput, match="no such file"):
        load_btf(tmp_path / "absent.btf")
    with pytest.raises(BadInput, match="directory"):
        load_btf(tmp_path)


def test_btf_missing_vmlinux_names_the_config_option(tmp_path, monkeypatch):
    """A kernel without /sys/kernel/btf/vmlinux: NotSupported, naming CONFIG_DEBUG_INFO_BTF."""
    from kernlab.errors import NotSupported
    from kernlab.source import btf as btf_module

    absent = str(tmp_path / "vmlinux")
    monkeypatch.setattr(btf_module, "VMLINUX_BTF", absent)
    with pytest.raises(NotSupported, match="CONFIG_DEBUG_INFO_BTF"):
        btf_module.load_btf(absent)
