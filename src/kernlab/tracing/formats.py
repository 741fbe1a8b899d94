"""Parse tracefs event ``format`` files and compile them into fast record decoders.

Every tracepoint describes its binary record in ``events/<system>/<event>/format``::

    name: sys_enter
    ID: 443
    format:
        field:unsigned short common_type;  offset:0;  size:2;  signed:0;
        ...
        field:unsigned long args[6];  offset:16;  size:48;  signed:0;
    print fmt: "NR %ld (%lx, ...)", REC->id, ...

The kernel writes that text in ``trace_format_show()`` / ``f_show()`` (kernel/trace/trace_events.c)
from the ``struct trace_event_fields`` of the event. Nothing here knows any event's layout in
advance: offsets, sizes and signedness all come from the file, so a recording made on another
kernel or architecture decodes the same way (only the byte order is assumed to be the file's
``endian`` argument, little-endian by default).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernlab.errors import BadInput

_FIELD_LINE = re.compile(
    r"^\s*field:(?P<decl>[^;]*);\s*offset:(?P<offset>\d+);\s*size:(?P<size>\d+);(?:\s*signed:(?P<signed>-?\d+);)?"
)
_ARRAY = re.compile(r"^(?P<head>.*?)\s*(?P<name>[A-Za-z_]\w*)\s*\[(?P<len>[^\]]*)\]\s*$")
_PLAIN = re.compile(r"^(?P<head>.*?)\s*(?P<name>[A-Za-z_]\w*)\s*$")

# struct format letters for integers by (size, signed)
_INT_CODES: dict[tuple[int, bool], str] = {
    (1, False): "B",
    (1, True): "b",
    (2, False): "H",
    (2, True): "h",
    (4, False): "I",
    (4, True): "i",
    (8, False): "Q",
    (8, True): "q",
}


@dataclass(frozen=True)
class FieldFormat:
    """One ``field:`` line of a format file (``struct trace_event_fields``)."""

    name: str
    type: str
    """The C type as printed, without the name (``unsigned long``, ``__data_loc char[]``)."""
    offset: int
    size: int
    signed: bool
    array_len: int | None = None
    """Number of elements for ``type name[N]``; None for a scalar."""
    data_loc: bool = False
    """``__data_loc``: the 32-bit field holds (length << 16 | offset) of bytes stored after the record."""
    rel_loc: bool = False
    """``__rel_loc``: like data_loc, but the offset counts from the end of this field."""
    flexible: bool = False
    """A flexible array member (``char buf[]``, size 0): its data runs from ``offset`` to the end
    of the record, as ``ftrace:print``'s text does (struct print_entry in kernel/trace/trace_entries.h)."""

    @property
    def is_string(self) -> bool:
        """A char array (fixed, flexible or dynamic) that holds text, like ``comm`` or ``filename``."""
        return "char" in self.type and (
            self.array_len is not None or self.data_loc or self.rel_loc or self.flexible
        )

    @property
    def element_size(self) -> int:
        if self.flexible:
            return c_type_size(self.type)
        if self.array_len:
            return self.size // self.array_len
        return self.size


# Sizes of the C element types a flexible array can have; the format file gives them size 0,
# so the element size must come from the type name (LP64: long and pointers are 8 bytes).
_C_TYPE_SIZES = (
    ("char", 1),
    ("u8", 1),
    ("s8", 1),
    ("short", 2),
    ("u16", 2),
    ("s16", 2),
    ("long", 8),
    ("u64", 8),
    ("s64", 8),
    ("int", 4),
    ("u32", 4),
    ("s32", 4),
)


def c_type_size(ctype: str) -> int:
    """Bytes of one element of the C type ``ctype`` (``unsigned long`` → 8); 1 when unknown."""
    if "*" in ctype:
        return 8
    words = ctype.replace("unsigned", " ").replace("signed", " ").split()
    for word in reversed(words):
        for name, size in _C_TYPE_SIZES:
            if word == name or word == f"__{name}":
                return size
    return 1


@dataclass
class EventFormat:
    """A parsed ``format`` file: the event's id, its fields in offset order, and its print format."""

    system: str
    name: str
    id: int
    fields: tuple[FieldFormat, ...]
    """Every field, the common_* ones first, as the kernel lists them."""
    print_fmt: str
    text: str
    """The file exactly as read (trace.dat stores it verbatim)."""
    endian: str = "<"
    _decoder: Callable[[Any, int, int], dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def full_name(self) -> str:
        return f"{self.system}:{self.name}"

    def field(self, name: str) -> FieldFormat:
        for f in self.fields:
            if f.name == name:
                return f
        raise BadInput(
            f"event {self.full_name} has no field {name!r} (fields: {self.field_names()})",
            key="errors.tracing.no_field",
            fields={"event": self.full_name, "name": repr(name), "names": self.field_names()},
        )

    def has_field(self, name: str) -> bool:
        return any(f.name == name for f in self.fields)

    def field_names(self) -> str:
        return ", ".join(f.name for f in self.fields)

    @property
    def payload_fields(self) -> tuple[FieldFormat, ...]:
        """The event's own fields, without the common_* header every event shares."""
        return tuple(f for f in self.fields if not f.name.startswith("common_"))

    def unpacker(self, names: Iterable[str]) -> struct.Struct:
        """A compiled struct that unpacks the named integer fields, in the order given.

        Array fields expand to ``array_len`` values. Use ``.unpack_from(buf, record_offset)``:
        this is the fast path the analyses use, one C call per record.
        """
        return compile_unpacker([self.field(n) for n in names], self.endian)

    def decode(self, buf: Any, offset: int, length: int) -> dict[str, Any]:
        """Every field of one record as a dict (strings decoded, arrays as lists)."""
        if self._decoder is None:
            self._decoder = _build_decoder(self)
        return self._decoder(buf, offset, length)


def compile_unpacker(fields: list[FieldFormat], endian: str = "<") -> struct.Struct:
    """A struct.Struct reading ``fields`` (integers, in the given order) from the record start.

    struct cannot seek backwards, so fields out of offset order are read via one struct per
    field glued together; in practice callers list fields in offset order and get one struct.
    """
    parts: list[str] = []
    pos = 0
    ordered = sorted(fields, key=lambda f: f.offset)
    if ordered != list(fields):
        raise ValueError("compile_unpacker needs fields in offset order")
    for f in ordered:
        if f.flexible:
            raise BadInput(
                f"field {f.name} is a variable-length array; decode it with EventFormat.decode",
                key="errors.tracing.flexible_field",
                fields={"name": f.name},
            )
        if f.data_loc or f.rel_loc:
            code = "I"
            count = 1
        else:
            int_code = _INT_CODES.get((f.element_size, f.signed))
            if int_code is None:
                raise BadInput(
                    f"field {f.name} has size {f.element_size}, not an integer kernlab can read",
                    key="errors.tracing.field_size",
                    fields={"name": f.name, "size": f.element_size},
                )
            code = int_code
            count = f.array_len or 1
        if f.offset < pos:
            raise ValueError(f"field {f.name} overlaps the previous field")
        if f.offset > pos:
            parts.append(f"{f.offset - pos}x")
        parts.append(f"{count}{code}" if count > 1 else code)
        pos = f.offset + f.size
    return struct.Struct(endian + "".join(parts))


def _decode_text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", errors="replace")


def _build_decoder(fmt: EventFormat) -> Callable[[Any, int, int], dict[str, Any]]:
    steps: list[Callable[[Any, int, int, dict[str, Any]], None]] = []
    for f in fmt.fields:
        steps.append(_field_step(f, fmt.endian))

    def decode(buf: Any, offset: int, length: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for step in steps:
            step(buf, offset, length, out)
        return out

    return decode


def _field_step(f: FieldFormat, endian: str) -> Callable[[Any, int, int, dict[str, Any]], None]:
    name = f.name
    if f.data_loc or f.rel_loc:
        loc = struct.Struct(endian + "I")
        is_text = "char" in f.type
        rel = f.rel_loc
        end_of_field = f.offset + f.size

        def dyn(buf: Any, base: int, length: int, out: dict[str, Any]) -> None:
            if f.offset + 4 > length:
                out[name] = "" if is_text else b""
                return
            (word,) = loc.unpack_from(buf, base + f.offset)
            start, size = word & 0xFFFF, word >> 16
            if rel:
                start += end_of_field
            start = min(start, length)
            size = max(0, min(size, length - start))
            raw = bytes(buf[base + start : base + start + size])
            out[name] = _decode_text(raw) if is_text else raw

        return dyn
    if f.flexible:
        return _flexible_step(f, endian)
    if f.array_len is not None and "char" in f.type:

        def text(buf: Any, base: int, length: int, out: dict[str, Any]) -> None:
            out[name] = _decode_text(bytes(buf[base + f.offset : base + f.offset + f.size]))

        return text
    code = _INT_CODES.get((f.element_size, f.signed))
    if code is None:

        def blob(buf: Any, base: int, length: int, out: dict[str, Any]) -> None:
            out[name] = bytes(buf[base + f.offset : base + f.offset + f.size])

        return blob
    if f.array_len is not None:
        elem = f.element_size
        one = struct.Struct(endian + code)

        def array(buf: Any, base: int, length: int, out: dict[str, Any]) -> None:
            # Variable-length arrays (kernel_stack's caller[]) may be longer or shorter than
            # declared: read as many whole elements as the record really holds (and, for a
            # stack, no more than its "size" field says).
            count = max(0, (length - f.offset) // elem)
            if f.name != "caller":
                count = min(count, f.array_len or 0)
            elif isinstance(out.get("size"), int) and out["size"] >= 0:
                count = min(count, out["size"])
            out[name] = [one.unpack_from(buf, base + f.offset + i * elem)[0] for i in range(count)]

        return array
    scalar = struct.Struct(endian + code)

    def value(buf: Any, base: int, length: int, out: dict[str, Any]) -> None:
        if f.offset + f.size <= length:
            out[name] = scalar.unpack_from(buf, base + f.offset)[0]
        else:
            out[name] = None

    return value


def _flexible_step(f: FieldFormat, endian: str) -> Callable[[Any, int, int, dict[str, Any]], None]:
    """A flexible array member: every byte from its offset to the end of the record.

    The ring buffer rounds a record up to 4 bytes, so text ends at its first NUL (the kernel
    stores one) and integer arrays keep only whole elements.
    """
    name = f.name
    start = f.offset
    if "char" in f.type:

        def text(buf: Any, base: int, length: int, out: dict[str, Any]) -> None:
            out[name] = _decode_text(bytes(buf[base + start : base + max(start, length)]))

        return text
    elem = f.element_size
    code = _INT_CODES.get((elem, f.signed))
    if code is None:

        def blob(buf: Any, base: int, length: int, out: dict[str, Any]) -> None:
            out[name] = bytes(buf[base + start : base + max(start, length)])

        return blob
    one = struct.Struct(endian + code)

    def array(buf: Any, base: int, length: int, out: dict[str, Any]) -> None:
        count = max(0, (length - start) // elem)
        out[name] = [one.unpack_from(buf, base + start + i * elem)[0] for i in range(count)]

    return array


def _parse_declaration(decl: str) -> tuple[str, str, int | None, bool, bool]:
    decl = " ".join(decl.split())
    data_loc = decl.startswith("__data_loc ")
    rel_loc = decl.startswith("__rel_loc ")
    if data_loc or rel_loc:
        # "__data_loc char[] name": the brackets belong to the type, the name comes last.
        head, _, name = decl.rpartition(" ")
        return name, head, None, data_loc, rel_loc
    match = _ARRAY.match(decl)
    if match:
        length_text = match.group("len").strip()
        try:
            length = int(length_text, 0) if length_text else 0
        except ValueError:
            length = 0  # a symbolic length such as TASK_COMM_LEN: size tells the truth
        return match.group("name"), match.group("head").strip(), length, False, False
    match = _PLAIN.match(decl)
    if not match:
        raise ValueError(decl)
    return match.group("name"), match.group("head").strip(), None, False, False


def parse_format(text: str, system: str = "", endian: str = "<") -> EventFormat:
    """Parse the text of one ``format`` file; BadInput when it is not one."""
    name = ""
    event_id: int | None = None
    fields: list[FieldFormat] = []
    print_fmt = ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("name:"):
            name = stripped[5:].strip()
        elif stripped.startswith("ID:"):
            try:
                event_id = int(stripped[3:].strip())
            except ValueError:
                raise BadInput(
                    f"format file has a bad ID line: {stripped!r}",
                    key="errors.tracing.bad_id_line",
                    fields={"text": repr(stripped)},
                ) from None
        elif stripped.startswith("field:"):
            match = _FIELD_LINE.match(stripped)
            if not match:
                raise BadInput(
                    f"format file of {name or 'an event'} has a bad field line: {stripped!r}",
                    key="errors.tracing.bad_field_line" if name else "errors.tracing.bad_field_line_unnamed",
                    fields={"event": name, "text": repr(stripped)},
                )
            try:
                fname, ftype, array_len, data_loc, rel_loc = _parse_declaration(match.group("decl"))
            except ValueError:
                raise BadInput(
                    f"cannot read the field declaration {match.group('decl')!r}",
                    key="errors.tracing.bad_declaration",
                    fields={"text": repr(match.group("decl"))},
                ) from None
            size = int(match.group("size"))
            # "char buf[]" (or "x[0]") with size 0 is a flexible array member: its data is the
            # rest of the record, whatever its length.
            flexible = array_len == 0 and size == 0 and not (data_loc or rel_loc)
            if array_len == 0:
                # A symbolic length (TASK_COMM_LEN) was read as 0: the size says how many.
                array_len = size // c_type_size(ftype) if size else None
            signed = match.group("signed") not in (None, "0")
            fields.append(
                FieldFormat(
                    fname,
                    ftype,
                    int(match.group("offset")),
                    size,
                    signed,
                    array_len,
                    data_loc,
                    rel_loc,
                    flexible,
                )
            )
        elif stripped.startswith("print fmt:"):
            print_fmt = stripped[len("print fmt:") :].strip()
    if not name or event_id is None:
        raise BadInput(
            "not a tracefs event format file (no name: or ID: line)", key="errors.tracing.not_format"
        )
    return EventFormat(system, name, event_id, tuple(fields), print_fmt, text, endian)


def read_format(path: Path, system: str | None = None) -> EventFormat:
    """Parse a format file from disk (the system defaults to the grandparent directory name)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BadInput(
            f"cannot read event format {path}: {exc.strerror or exc}",
            key="errors.tracing.cannot_read_format",
            fields={"path": str(path), "reason": exc.strerror or str(exc)},
        ) from exc
    return parse_format(text, system if system is not None else Path(path).parent.parent.name)


def read_formats_tree(root: Path) -> dict[int, EventFormat]:
    """Every ``<system>/<event>/format`` under ``root``, by event id."""
    formats: dict[int, EventFormat] = {}
    root = Path(root)
    if not root.is_dir():
        return formats
    for path in sorted(root.glob("*/*/format")):
        fmt = read_format(path)
        formats[fmt.id] = fmt
    return formats


@dataclass(frozen=True)
class HeaderPage:
    """The layout of a ring-buffer page header, from ``events/header_page``.

    ``struct buffer_data_page`` (kernel/trace/ring_buffer.c): u64 time stamp of the first event,
    then ``local_t commit`` (bytes of data written; its top bits are flags), then the data.
    """

    timestamp_offset: int
    timestamp_size: int
    commit_offset: int
    commit_size: int
    data_offset: int
    data_size: int
    text: str

    @property
    def page_size(self) -> int:
        return self.data_offset + self.data_size


def parse_header_page(text: str) -> HeaderPage:
    """Parse ``events/header_page``; BadInput when a needed field is missing."""
    found: dict[str, tuple[int, int]] = {}
    for line in text.splitlines():
        match = _FIELD_LINE.match(line.strip().replace("field: ", "field:"))
        if not match:
            continue
        try:
            fname = _parse_declaration(match.group("decl"))[0]
        except ValueError:
            continue
        found.setdefault(fname, (int(match.group("offset")), int(match.group("size"))))
    missing = [n for n in ("timestamp", "commit", "data") if n not in found]
    if missing:
        raise BadInput(
            f"header_page lacks the field(s) {', '.join(missing)}",
            key="errors.tracing.header_page_fields",
            fields={"names": ", ".join(missing)},
        )
    return HeaderPage(
        found["timestamp"][0],
        found["timestamp"][1],
        found["commit"][0],
        found["commit"][1],
        found["data"][0],
        found["data"][1],
        text,
    )
