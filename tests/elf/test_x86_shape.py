"""The x86 layout decoder (elf/disasm/x86shape.py) against capstone, and the shape templates of
elf/disasm/fast.py against writing every instruction from scratch.

`kernlab disasm FILE` writes an instruction whose bytes were not seen before by filling the
template of an earlier one of the same *shape* (all bytes but the displacement and immediate)
with its own numbers. That is right only if the decoder finds the numbers where capstone
decodes them and if a template never serves an instruction of another layout or text: both
are checked here on every instruction of real files.
"""

from __future__ import annotations

import ctypes
import os
import sys
import sysconfig
from collections.abc import Iterator

import pytest

from kernlab.elf.disasm.decode import _opened
from kernlab.elf.disasm.fast import _INSN, BRANCH, FastX86, template_key
from kernlab.elf.disasm.libc import find_libc
from kernlab.elf.disasm.x86shape import HOLE_IMM, HOLE_REL, HOLE_RIP, layout, measure
from kernlab.elf.reader import open_elf


def x86_file(which: str) -> str:
    """libc, the Python running the tests (its shared libpython when it has one): two big
    files of different compilers' habits; or "i386", the biggest 32-bit x86 library found."""
    if which == "i386":
        found = [
            os.path.join(folder, name)
            for folder in ("/usr/lib32", "/usr/lib/i386-linux-gnu", "/lib32")
            if os.path.isdir(folder)
            for name in os.listdir(folder)
            if ".so" in name and os.path.isfile(os.path.join(folder, name))
        ]
        found = [p for p in found if _is_i386(p)]
        if not found:
            pytest.skip("no 32-bit x86 library here")
        return max(found, key=os.path.getsize)
    if which == "libc":
        path = find_libc()
    else:
        shared = os.path.join(
            sysconfig.get_config_var("LIBDIR") or "", sysconfig.get_config_var("INSTSONAME") or ""
        )
        candidates = [os.path.realpath(sys.executable), shared]
        path = max((p for p in candidates if os.path.isfile(p)), key=os.path.getsize)
    if not os.path.exists(path):
        pytest.skip(f"{path} is missing")
    if open_elf(path).arch not in ("x86_64", "i386"):
        pytest.skip("x86 code only")
    return path


def _is_i386(path: str) -> bool:
    try:
        return open_elf(path).arch == "i386"
    except Exception:
        return False


def records(path: str) -> Iterator[tuple[FastX86, bytes, bytes, int, int, bytes]]:
    """(decoder, section code, cs_insn records, index, address, bytes) of every instruction
    capstone decodes in the executable sections of ``path`` (a byte it cannot decode skipped)."""
    image, symbolizer = _opened(path)
    fast = FastX86(image.arch == "x86_64", symbolizer)
    for section in image.sections:
        if "X" not in section.flags or section.is_nobits or not section.size:
            continue
        fast.start_section(section.name)
        code = image.read(section.address, section.size)
        buffer = (ctypes.c_char * len(code)).from_buffer_copy(code)
        pos = 0
        while pos < len(code):
            data = fast.chunk(buffer, section.address, pos, len(code))
            if not data:
                pos += 1
                continue
            for index in range(len(data) // _INSN.size):
                _id, address, size, field, _mn, _ops = _INSN.unpack_from(data, index * _INSN.size)
                yield fast, code, data, index, address, field[:size]
            pos = address + size - section.address


@pytest.mark.parametrize("which", ["libc", "python", "i386"])
def test_lengths_are_capstones_for_every_instruction(which):
    """measure() on the bytes from each instruction on (15 of them, as a decoder sees memory)
    finds capstone's length, and answers for all but a handful of unusual forms."""
    path = x86_file(which)
    mode64 = open_elf(path).arch == "x86_64"
    total = unanswered = 0
    wrong: list[str] = []
    for _fast, _code, _data, _index, address, raw in records(path):
        total += 1
        found = measure(raw + b"\x00" * 15, mode64)
        if found is None:
            unanswered += 1
            continue
        if found.length != len(raw):
            wrong.append(f"{address:x}: {raw.hex()} capstone {len(raw)} decoder {found.length}")
    assert total > 1000
    assert not wrong, wrong[:10]
    assert unanswered <= total // 1000, f"{unanswered} of {total} left undecided"


def test_measure_reads_only_the_instruction():
    """The following bytes never change the answer: a REX prefix alone or an opcode without
    its ModRM byte is too short, and whole instructions are measured exactly."""
    assert measure(b"\x48", True) is None
    assert measure(b"\x48\x8b", True) is None
    assert measure(bytes.fromhex("488b7c2410") + b"\xff" * 8, True).length == 5  # mov 0x10(%rsp),%rdi
    rip = layout(bytes.fromhex("488d3d30461b00"), True)  # lea 0x1b4630(%rip),%rdi
    assert rip is not None and rip.holes == ((HOLE_RIP, 3, 4),)
    imm = layout(bytes.fromhex("48c744240800000000"), True)  # movq $0x0,0x8(%rsp)
    assert imm is not None and [h[0] for h in imm.holes] == [0, HOLE_IMM] and imm.fixed == 4
    branch = layout(bytes.fromhex("0f8412345678"), True)
    assert branch is not None and branch.holes == ((HOLE_REL, 2, 4),)


@pytest.mark.parametrize("which", ["libc", "python", "i386"])
def test_a_template_never_crosses_layouts(which):
    """Every distinct byte string of the file, written through the templates as `kernlab
    disasm` writes it, equals its text written from scratch (capstone's text rewritten, or the
    detailed formatter); and all byte strings that share a template key have one layout."""
    path = x86_file(which)
    image, symbolizer = _opened(path)
    scratch = FastX86(image.arch == "x86_64", symbolizer)
    seen: set[bytes] = set()
    layouts: dict[bytes, tuple[object, ...]] = {}
    filled = 0
    wrong: list[str] = []
    fast = None
    for fast, _code, data, index, address, raw in records(path):
        if raw in seen or raw[0] == 0:
            continue
        seen.add(raw)
        scratch.formatter.section = fast.formatter.section
        ours = fast._entry(address, raw, data, index)
        theirs = scratch._full(address, raw, data, index)
        if theirs[0] == BRANCH:
            theirs = (BRANCH, theirs[1], int.from_bytes(raw[-theirs[2] :], "little", signed=True))
        if ours != theirs:
            wrong.append(f"{address:x}: {raw.hex()} template {ours!r} scratch {theirs!r}")
        shape = layout(raw, image.arch == "x86_64")
        if shape is not None and shape.holes:
            key = template_key(raw, shape.fixed, shape.tail, shape.holes)
            form = (shape.length, shape.fixed, shape.tail, shape.holes)
            assert layouts.setdefault(key, form) == form, raw.hex()
            if fast.templates.get(key) is not None:
                filled += 1
    assert fast is not None
    assert not wrong, "\n".join(wrong[:10])
    # The templates must be doing the work: most byte strings with numbers were filled in.
    assert filled > len(fast.templates)


def synthetic(code: bytes) -> Iterator[tuple[FastX86, bytes, int, int, bytes]]:
    """(decoder, records, index, address, bytes) of each instruction of ``code`` at 0x1000."""
    image, symbolizer = _opened(find_libc())
    if image.arch != "x86_64":
        pytest.skip("x86-64 code only")
    fast = FastX86(True, symbolizer)
    fast.start_section(".text")
    buffer = (ctypes.c_char * len(code)).from_buffer_copy(code)
    data = fast.chunk(buffer, 0x1000, 0, len(code))
    for index in range(len(data) // _INSN.size):
        _id, address, size, field, _mn, _ops = _INSN.unpack_from(data, index * _INSN.size)
        yield fast, data, index, address, field[:size]


# Immediates objdump folds into the mnemonic for some values only: cmpps $0x1 is "cmpltps",
# $0x20 stays a number. The first of each pair is written with "$": a template learnt from it
# must not serve the others.
FOLDED = [
    "0fc2c120",
    "0fc2c101",
    "0fc2c102",  # cmpps
    "f20fc2c120",
    "f20fc2c100",  # cmpsd
    "660f3a44c122",
    "660f3a44c100",
    "660f3a44c111",  # pclmulqdq
    "c5f0c2c220",
    "c5f0c2c201",  # vcmpps
    "62f17448c2ca20",
    "62f17448c2ca01",  # vcmpps into a mask register (EVEX)
    "62f375483eca20",
    "62f375483eca01",  # vpcmpub
    "c4e37544c222",
    "c4e37544c200",  # vpclmulqdq
    "66480fc2442408ff",  # cmppd with a memory operand (REX.W, disp8)
    "66480fc244240801",
]


def test_folded_immediates_stay_in_the_shape():
    """Byte strings that differ only in a folded immediate are written from scratch each."""
    code = b"".join(bytes.fromhex(h) for h in FOLDED)
    rows = list(synthetic(code))
    assert [r[4].hex() for r in rows] == FOLDED
    fast = rows[0][0]
    _image, symbolizer = _opened(find_libc())
    scratch = FastX86(True, symbolizer)
    scratch.start_section(".text")
    for _fast, data, index, address, raw in rows:
        assert fast._entry(address, raw, data, index) == scratch._full(address, raw, data, index), raw.hex()


@pytest.mark.parametrize("which", ["libc", "python", "i386"])
def test_c_measure_is_the_python_measure(which):
    """elf/disasm/_hits.c measures shapes a second time (for filling templates in C): on every
    instruction of a file, with and without trailing bytes, and on random bytes, it answers as
    x86shape._measure does."""
    import random

    from kernlab.elf.disasm import whole
    from kernlab.elf.disasm.x86shape import _measure

    if whole._hits is None:
        pytest.skip("built without the C helper (no C compiler at install)")
    c_measure = whole._hits.measure
    path = x86_file(which)
    mode64 = open_elf(path).arch == "x86_64"
    seen = 0
    for _fast, _code, _data, _index, address, raw in records(path):
        seen += 1
        for probe in (raw, raw + b"\x00" * 15, raw[:-1]):
            if probe:
                assert c_measure(probe, mode64) == _measure(probe, mode64), f"{address:x}: {probe.hex()}"
    assert seen > 1000
    rng = random.Random(which)
    for _ in range(200_000):
        probe = rng.randbytes(rng.randint(1, 16))
        for bits64 in (True, False):
            assert c_measure(probe, bits64) == _measure(probe, bits64), f"{probe.hex()} mode64={bits64}"
