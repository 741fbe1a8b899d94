"""A reader for BTF, the BPF Type Format the kernel publishes in /sys/kernel/btf/vmlinux.

BTF (include/uapi/linux/btf.h, Documentation/bpf/btf.rst) is a header, a section of type
records and a section of NUL-terminated strings. Every type record is a ``struct btf_type``
(three 32-bit words: name_off, info, size-or-type) followed by kind-specific 32-bit words, so
the whole type section is read at once as an array of words and only the start of each record
is found up front; a record is decoded into a :class:`BtfType` when somebody asks for it.
Names are indexed on first lookup. The header's magic (0xeB9F) tells the byte order.

Split BTF (kernel modules, /sys/kernel/btf/<module>) continues the type ids and string offsets
of a base BTF (vmlinux); :func:`load_btf` loads the base first when given a module file.
"""

from __future__ import annotations

import os
import stat
import struct
import sys
from array import array
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from kernlab.errors import BadInput, KernlabError, NotSupported
from kernlab.fileio import file_error

VMLINUX_BTF = "/sys/kernel/btf/vmlinux"
BTF_MAGIC = 0xEB9F

# Kind numbers of include/uapi/linux/btf.h (BTF_KIND_*) and the words bpftool prints for them.
KIND_NAMES: dict[int, str] = {
    0: "UNKN",
    1: "INT",
    2: "PTR",
    3: "ARRAY",
    4: "STRUCT",
    5: "UNION",
    6: "ENUM",
    7: "FWD",
    8: "TYPEDEF",
    9: "VOLATILE",
    10: "CONST",
    11: "RESTRICT",
    12: "FUNC",
    13: "FUNC_PROTO",
    14: "VAR",
    15: "DATASEC",
    16: "FLOAT",
    17: "DECL_TAG",
    18: "TYPE_TAG",
    19: "ENUM64",
}
KIND_NUMBERS: dict[str, int] = {name: num for num, name in KIND_NAMES.items()}

# How many 32-bit words follow the 12-byte btf_type of each kind: (fixed words, words per vlen
# entry). INT has its encoding word, ARRAY a btf_array, STRUCT/UNION btf_member triples, ENUM
# btf_enum pairs, FUNC_PROTO btf_param pairs, VAR a linkage word, DATASEC btf_var_secinfo
# triples, DECL_TAG a component index, ENUM64 btf_enum64 triples.
_EXTRA_WORDS: dict[int, tuple[int, int]] = {
    1: (1, 0),
    2: (0, 0),
    3: (3, 0),
    4: (0, 3),
    5: (0, 3),
    6: (0, 2),
    7: (0, 0),
    8: (0, 0),
    9: (0, 0),
    10: (0, 0),
    11: (0, 0),
    12: (0, 0),
    13: (0, 2),
    14: (1, 0),
    15: (0, 3),
    16: (0, 0),
    17: (1, 0),
    18: (0, 0),
    19: (0, 3),
}

# Kinds whose third word is a size in bytes; the others use it as a type id.
_SIZED_KINDS = frozenset({1, 4, 5, 6, 15, 16, 19})
_LINKAGE = {0: "static", 1: "global", 2: "extern"}
_INT_ENCODING_BITS = {1: "signed", 2: "char", 4: "bool"}


@dataclass(frozen=True)
class BtfHeader:
    """``struct btf_header``: where the type and string sections lie, after the header."""

    magic: int
    version: int
    flags: int
    hdr_len: int
    type_off: int
    type_len: int
    str_off: int
    str_len: int
    byte_order: str  # "little" | "big"


@dataclass(frozen=True)
class BtfMember:
    """A struct/union member (``struct btf_member``), with the kind_flag encoding decoded."""

    name: str
    type_id: int
    bit_offset: int  # from the start of the enclosing struct or union
    bitfield_size: int  # 0 unless the member is a bit-field


@dataclass(frozen=True)
class BtfParam:
    """A FUNC_PROTO parameter (``struct btf_param``); type_id 0 as the last one means ``...``."""

    name: str
    type_id: int


@dataclass(frozen=True)
class BtfEnumValue:
    """An enumerator of ENUM (``struct btf_enum``) or ENUM64 (``struct btf_enum64``)."""

    name: str
    value: int


@dataclass(frozen=True)
class BtfVarSecinfo:
    """A DATASEC entry (``struct btf_var_secinfo``): a VAR and where it sits in the section."""

    type_id: int
    offset: int
    size: int


@dataclass(frozen=True)
class BtfType:
    """One decoded type record. Fields that do not apply to the kind are None or empty.

    ``size`` is the byte size for INT, STRUCT, UNION, ENUM, ENUM64, FLOAT and DATASEC;
    ``type_id`` is the referenced type for PTR, TYPEDEF, qualifiers, FUNC, VAR, DECL_TAG,
    TYPE_TAG, and the return type for FUNC_PROTO.
    """

    id: int
    kind: str
    name: str
    kind_flag: bool
    vlen: int
    size: int | None = None
    type_id: int | None = None
    # INT: the encoding word (BTF_INT_ENCODING/OFFSET/BITS)
    int_encoding: str | None = None
    int_offset: int | None = None
    int_bits: int | None = None
    # ARRAY: struct btf_array
    elem_type_id: int | None = None
    index_type_id: int | None = None
    nelems: int | None = None
    members: tuple[BtfMember, ...] = ()
    params: tuple[BtfParam, ...] = ()
    values: tuple[BtfEnumValue, ...] = ()
    secinfos: tuple[BtfVarSecinfo, ...] = ()
    linkage: str | None = None  # VAR (static/global/extern) and FUNC (vlen holds it)
    component_idx: int | None = None  # DECL_TAG: -1 for the type itself, else member/param index
    signed: bool | None = None  # ENUM/ENUM64: kind_flag set means signed values
    fwd_kind: str | None = None  # FWD: "struct" or "union"


@dataclass
class Btf:
    """A loaded BTF blob (plus its base, for split BTF). Type 0 is ``void``."""

    path: str
    header: BtfHeader
    _words: array = field(repr=False)
    _starts: array = field(repr=False)  # word index of each own type record, in id order
    _kinds: bytearray = field(repr=False)
    _strings: bytes = field(repr=False)
    base: Btf | None = field(default=None, repr=False)
    _decoded: dict[int, BtfType] = field(default_factory=dict, repr=False)
    _by_name_off: dict[int, list[int]] | None = field(default=None, repr=False)
    _by_name: dict[str, list[int]] | None = field(default=None, repr=False)
    _lookups: int = field(default=0, repr=False)

    # ---- ids and counts ----
    @property
    def first_id(self) -> int:
        """The id of this blob's first own type: 1 for vmlinux, after the base's for split BTF."""
        return self.base.type_count + 1 if self.base is not None else 1

    @property
    def own_count(self) -> int:
        return len(self._starts)

    @property
    def type_count(self) -> int:
        """Highest type id (types 1..type_count exist; 0 is void)."""
        return self.first_id - 1 + self.own_count

    def kind_of(self, type_id: int) -> str:
        """The kind word of a type id without decoding the record."""
        if type_id == 0:
            return "VOID"
        if type_id < self.first_id:
            assert self.base is not None
            return self.base.kind_of(type_id)
        self._check_id(type_id)
        return KIND_NAMES.get(self._kinds[type_id - self.first_id], "UNKN")

    def kind_counts(self, own_only: bool = True) -> dict[str, int]:
        """How many types of each kind this blob defines (bpftool's per-kind count)."""
        counts: dict[str, int] = {}
        for kind in self._kinds:
            word = KIND_NAMES.get(kind, "UNKN")
            counts[word] = counts.get(word, 0) + 1
        if not own_only and self.base is not None:
            for word, n in self.base.kind_counts(own_only=False).items():
                counts[word] = counts.get(word, 0) + n
        return counts

    # ---- strings ----
    def string_at(self, offset: int) -> str:
        """The NUL-terminated string at ``offset`` of the string section (split-aware)."""
        if self.base is not None:
            base_len = self.base.header.str_len
            if offset < base_len:
                return self.base.string_at(offset)
            offset -= base_len
        end = self._strings.find(b"\0", offset)
        if end < 0:
            end = len(self._strings)
        return self._strings[offset:end].decode("utf-8", "replace")

    # ---- records ----
    def _check_id(self, type_id: int) -> None:
        if not 0 <= type_id <= self.type_count:
            raise BadInput(
                f"BTF type id {type_id} does not exist in {self.path} (1..{self.type_count})",
                key="errors.source.btf_no_type",
                fields={"id": type_id, "path": self.path, "last": self.type_count},
            )

    def type(self, type_id: int) -> BtfType:
        """The decoded record of ``type_id`` (decoded once, then cached)."""
        if type_id == 0:
            return BtfType(id=0, kind="VOID", name="void", kind_flag=False, vlen=0, size=0)
        if type_id < self.first_id:
            assert self.base is not None
            return self.base.type(type_id)
        cached = self._decoded.get(type_id)
        if cached is None:
            self._check_id(type_id)
            cached = self._decode(type_id)
            self._decoded[type_id] = cached
        return cached

    def _decode(self, type_id: int) -> BtfType:
        w = self._words
        i = self._starts[type_id - self.first_id]
        name_off, info, size_or_type = w[i], w[i + 1], w[i + 2]
        kind_num = (info >> 24) & 0x1F
        kind = KIND_NAMES.get(kind_num, "UNKN")
        vlen = info & 0xFFFF
        kind_flag = bool(info >> 31)
        name = self.string_at(name_off)
        common = {"id": type_id, "kind": kind, "name": name, "kind_flag": kind_flag, "vlen": vlen}
        if kind_num in _SIZED_KINDS:
            common["size"] = size_or_type
        else:
            common["type_id"] = size_or_type
        x = i + 3
        if kind == "INT":
            enc = w[x]
            bits = [word for bit, word in _INT_ENCODING_BITS.items() if (enc >> 24) & 0x0F & bit]
            return BtfType(
                **common,
                int_encoding=",".join(bits) if bits else "none",
                int_offset=(enc >> 16) & 0xFF,
                int_bits=enc & 0xFF,
            )
        if kind == "ARRAY":
            return BtfType(**common, elem_type_id=w[x], index_type_id=w[x + 1], nelems=w[x + 2])
        if kind in ("STRUCT", "UNION"):
            members = []
            for k in range(vlen):
                m_name, m_type, m_off = w[x + 3 * k], w[x + 3 * k + 1], w[x + 3 * k + 2]
                if kind_flag:
                    bit_offset, bitfield_size = m_off & 0xFFFFFF, m_off >> 24
                else:
                    bit_offset, bitfield_size = m_off, 0
                members.append(BtfMember(self.string_at(m_name), m_type, bit_offset, bitfield_size))
            return BtfType(**common, members=tuple(members))
        if kind == "ENUM":
            signed = kind_flag
            values = []
            for k in range(vlen):
                raw = w[x + 2 * k + 1]
                value = raw - (1 << 32) if signed and raw & 0x80000000 else raw
                values.append(BtfEnumValue(self.string_at(w[x + 2 * k]), value))
            return BtfType(**common, values=tuple(values), signed=signed)
        if kind == "ENUM64":
            signed = kind_flag
            values = []
            for k in range(vlen):
                raw = w[x + 3 * k + 1] | (w[x + 3 * k + 2] << 32)
                value = raw - (1 << 64) if signed and raw >> 63 else raw
                values.append(BtfEnumValue(self.string_at(w[x + 3 * k]), value))
            return BtfType(**common, values=tuple(values), signed=signed)
        if kind == "FUNC_PROTO":
            params = tuple(BtfParam(self.string_at(w[x + 2 * k]), w[x + 2 * k + 1]) for k in range(vlen))
            return BtfType(**common, params=params)
        if kind == "FUNC":
            return BtfType(**common, linkage=_LINKAGE.get(vlen, str(vlen)))
        if kind == "VAR":
            return BtfType(**common, linkage=_LINKAGE.get(w[x], str(w[x])))
        if kind == "DATASEC":
            infos = tuple(
                BtfVarSecinfo(w[x + 3 * k], w[x + 3 * k + 1], w[x + 3 * k + 2]) for k in range(vlen)
            )
            return BtfType(**common, secinfos=infos)
        if kind == "DECL_TAG":
            raw = w[x]
            return BtfType(**common, component_idx=raw - (1 << 32) if raw & 0x80000000 else raw)
        if kind == "FWD":
            return BtfType(**common, fwd_kind="union" if kind_flag else "struct")
        return BtfType(**common)

    def types(self) -> list[BtfType]:
        """Every own type, decoded (slow for vmlinux: prefer :meth:`find`)."""
        return [self.type(t) for t in range(self.first_id, self.type_count + 1)]

    # ---- names ----
    def _name_index(self) -> dict[int, list[int]]:
        if self._by_name_off is None:
            index: dict[int, list[int]] = {}
            w = self._words
            first = self.first_id
            for n, start in enumerate(self._starts):
                off = w[start]
                if off:
                    index.setdefault(off, []).append(first + n)
            self._by_name_off = index
        return self._by_name_off

    def _string_offsets(self, name: str) -> list[int]:
        """Every offset in this blob's string section where exactly ``name`` is stored."""
        needle = b"\0" + name.encode("utf-8") + b"\0"
        shift = self.base.header.str_len if self.base is not None else 0
        found = []
        pos = self._strings.find(needle)
        while pos >= 0:
            found.append(pos + 1 + shift)
            pos = self._strings.find(needle, pos + 1)
        return found

    def find_all(self, name: str, kind: str | None = None) -> list[BtfType]:
        """Every type named ``name`` (of ``kind`` if given, e.g. "STRUCT"), base types first."""
        if not name:
            return []
        found: list[BtfType] = self.base.find_all(name, kind) if self.base is not None else []
        for type_id in self._ids_named(name):
            if kind is None or self.kind_of(type_id) == kind.upper():
                found.append(self.type(type_id))
        return found

    def _ids_named(self, name: str) -> list[int]:
        """Own type ids whose name is ``name``.

        A few lookups search the string section for the name (~1 ms each); after that a full
        name -> ids table pays for itself, so it is built once (~0.1 s for vmlinux).
        """
        if self._by_name is not None:
            return self._by_name.get(name, [])
        self._lookups += 1
        index = self._name_index()
        if self._lookups > 16:
            table: dict[str, list[int]] = {}
            for off, ids in index.items():
                table.setdefault(self.string_at(off), []).extend(ids)
            for ids in table.values():
                ids.sort()
            self._by_name = table
            return table.get(name, [])
        offsets = self._string_offsets(name)
        if self.base is not None:
            offsets += self.base._string_offsets(name)
        return sorted(type_id for off in offsets for type_id in index.get(off, ()))

    def find(self, name: str, kind: str | None = None) -> BtfType | None:
        """The first type named ``name`` (of ``kind`` if given), or None."""
        found = self.find_all(name, kind)
        return found[0] if found else None

    def names_of_kind(self, *kinds: str) -> list[str]:
        """Names of every type of the given kinds (for suggestions when a name is unknown)."""
        wanted = {KIND_NUMBERS[k.upper()] for k in kinds}
        names = self.base.names_of_kind(*kinds) if self.base is not None else []
        w = self._words
        for n, start in enumerate(self._starts):
            if self._kinds[n] in wanted and w[start]:
                names.append(self.string_at(w[start]))
        return names

    # ---- sizes ----
    @cached_property
    def pointer_size(self) -> int:
        """Bytes in a pointer: BTF has no such field, but ``long`` is pointer-sized on Linux."""
        for name in ("long unsigned int", "long int", "unsigned long", "long"):
            t = self.find(name, "INT")
            if t is not None and t.size:
                return t.size
        return 8

    def resolve(self, type_id: int) -> BtfType:
        """Follow typedefs, qualifiers and type tags to the underlying type."""
        seen = 0
        t = self.type(type_id)
        while t.kind in ("TYPEDEF", "VOLATILE", "CONST", "RESTRICT", "TYPE_TAG") and seen < 64:
            t = self.type(t.type_id or 0)
            seen += 1
        return t

    def size_of(self, type_id: int) -> int:
        """Bytes an object of ``type_id`` occupies (0 for void, functions and forward decls)."""
        t = self.resolve(type_id)
        if t.kind == "PTR":
            return self.pointer_size
        if t.kind == "ARRAY":
            return (t.nelems or 0) * self.size_of(t.elem_type_id or 0)
        if t.kind == "VAR":
            return self.size_of(t.type_id or 0)
        return t.size or 0


def _parse_header(data: bytes, path: str) -> BtfHeader:
    if len(data) < 24:
        raise BadInput(
            f"{path} is too short to be BTF ({len(data)} bytes; the header alone is 24)",
            key="errors.source.btf_too_short",
            fields={"path": path, "size": len(data)},
        )
    (magic_le,) = struct.unpack_from("<H", data, 0)
    if magic_le == BTF_MAGIC:
        order, prefix = "little", "<"
    elif struct.unpack_from(">H", data, 0)[0] == BTF_MAGIC:
        order, prefix = "big", ">"
    else:
        raise BadInput(
            f"{path} is not BTF (magic 0x{magic_le:04x}, expected 0xeb9f)",
            key="errors.source.not_btf",
            fields={"path": path, "magic": f"0x{magic_le:04x}"},
        )
    magic, version, flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(
        prefix + "HBBIIIII", data, 0
    )
    header = BtfHeader(magic, version, flags, hdr_len, type_off, type_len, str_off, str_len, order)
    end = hdr_len + max(type_off + type_len, str_off + str_len)
    if hdr_len < 24 or end > len(data) or type_len % 4:
        raise BadInput(
            f"{path} has a damaged BTF header (sections end at {end}, file has {len(data)} bytes)",
            key="errors.source.btf_bad_header",
            fields={"path": path, "end": end, "file_size": len(data)},
        )
    return header


def parse_btf(data: bytes, path: str = "<bytes>", base: Btf | None = None) -> Btf:
    """Parse a BTF blob; ``base`` is the BTF a split blob (a module's) builds on."""
    header = _parse_header(data, path)
    start = header.hdr_len + header.type_off
    words = array("I")
    words.frombytes(data[start : start + header.type_len])
    if (header.byte_order == "little") != (sys.byteorder == "little"):
        words.byteswap()
    s = header.hdr_len + header.str_off
    strings = data[s : s + header.str_len]

    starts = array("I")
    kinds = bytearray()
    extra = [_EXTRA_WORDS.get(k, (0, 0)) for k in range(32)]
    total = len(words)
    i = 0
    # The one loop over every record: only the kind and vlen are needed to find the next one.
    while i < total:
        if i + 3 > total:
            raise BadInput(
                f"{path}: BTF type section ends inside a record at byte {i * 4}",
                key="errors.source.btf_cut_record",
                fields={"path": path, "offset": i * 4},
            )
        info = words[i + 1]
        kind = (info >> 24) & 0x1F
        if kind not in _EXTRA_WORDS:
            raise BadInput(
                f"{path}: unknown BTF kind {kind} at byte {i * 4} of the type section",
                key="errors.source.btf_unknown_kind",
                fields={"path": path, "kind": kind, "offset": i * 4},
            )
        fixed, per = extra[kind]
        starts.append(i)
        kinds.append(kind)
        i += 3 + fixed + per * (info & 0xFFFF)
    if i != total:
        raise BadInput(
            f"{path}: the last BTF type record runs past the end of the type section",
            key="errors.source.btf_record_past_end",
            fields={"path": path},
        )
    return Btf(
        path=path, header=header, _words=words, _starts=starts, _kinds=kinds, _strings=strings, base=base
    )


def _read(path: str) -> bytes:
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise BadInput(
                f"{path} is a directory, not a BTF file",
                path=path,
                key="errors.is_directory",
                fields={"path": path, "what_key": "errors.what.btf_file"},
            )
        if not stat.S_ISREG(mode):
            # A FIFO or device would block or never end; BTF is always a regular file.
            raise BadInput(
                f"{path} is not a regular file, so it cannot be a BTF file",
                path=path,
                key="errors.source.btf_not_regular",
                fields={"path": path},
            )
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise file_error(exc, path, "a BTF file", missing=_btf_missing) from exc


def _btf_missing(path: str) -> KernlabError:
    if path == VMLINUX_BTF:
        return NotSupported(
            f"{path} does not exist: this kernel was built without CONFIG_DEBUG_INFO_BTF",
            key="errors.source.no_vmlinux_btf",
            fields={"path": path},
        )
    return BadInput(f"{path}: no such file", key="errors.no_such_file", fields={"path": path})


def load_btf(path: str | os.PathLike[str] = VMLINUX_BTF, base: Btf | str | None = None) -> Btf:
    """Load a BTF file: vmlinux's by default, or a module's on top of vmlinux (split BTF).

    A file in /sys/kernel/btf other than vmlinux is split BTF, so vmlinux is loaded as its
    base unless ``base`` is given.
    """
    path = os.fspath(path)
    if isinstance(base, str):
        base = load_btf(base)
    elif base is None:
        p = Path(path)
        if p.parent == Path(VMLINUX_BTF).parent and p.name != "vmlinux":
            base = load_btf(VMLINUX_BTF)
    return parse_btf(_read(path), path, base)
