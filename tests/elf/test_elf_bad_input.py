"""Files that are not usable ELF: one clear error line, a non-zero exit, no traceback, fast."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernlab.elf.reader import open_elf
from kernlab.errors import BadInput, KernlabError
from tests.conftest import assert_clean_error, run_kernlab

BAD_INPUT = 3
KERNLAB_ELF = ("-m", "kernlab", "elf")


def small_elf(build_c) -> Path:
    return build_c("elf_tls", ["-O1"], out_name="elf_tls_small")


def timed_cli(*args: str) -> tuple:
    start = time.monotonic()
    result = run_kernlab("elf", *args, timeout=30)
    return result, time.monotonic() - start


def test_missing_file(tmp_path):
    result, took = timed_cli(str(tmp_path / "no-such-file"))
    assert_clean_error(result, BAD_INPUT)
    assert "no such file" in result.stderr
    assert took < 2


def test_directory(tmp_path):
    result, took = timed_cli(str(tmp_path))
    assert_clean_error(result, BAD_INPUT)
    assert "directory" in result.stderr
    assert took < 2


def test_empty_file(tmp_path):
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    result, took = timed_cli(str(empty))
    assert_clean_error(result, BAD_INPUT)
    assert "empty" in result.stderr
    assert took < 2


def test_random_bytes(tmp_path):
    junk = tmp_path / "junk"
    # Deterministic pseudo-random bytes (no ELF magic, no compressed stream that decodes).
    junk.write_bytes(bytes((i * 131 + 7) % 251 for i in range(100_000)))
    result, took = timed_cli(str(junk))
    assert_clean_error(result, BAD_INPUT)
    assert "not an ELF file" in result.stderr
    assert took < 2


def test_fifo_does_not_block(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result, took = timed_cli(str(fifo))
    assert_clean_error(result, BAD_INPUT)
    assert "FIFO" in result.stderr
    assert took < 2


def test_character_device():
    result, took = timed_cli("/dev/zero")
    assert_clean_error(result, BAD_INPUT)
    assert "character device" in result.stderr
    assert took < 2


def test_huge_sparse_file(tmp_path):
    sparse = tmp_path / "sparse"
    with open(sparse, "wb") as fh:
        fh.truncate(64 << 30)
    result, took = timed_cli(str(sparse))
    assert_clean_error(result, BAD_INPUT)
    assert took < 2


def test_huge_sparse_file_after_a_real_elf(tmp_path, build_c):
    # A real ELF followed by 64 GiB of holes: readable, and no part of the hole is read.
    sparse = tmp_path / "sparse.elf"
    shutil.copy(small_elf(build_c), sparse)
    with open(sparse, "r+b") as fh:
        fh.truncate(64 << 30)
    result, took = timed_cli("--json", str(sparse))
    assert result.code == 0, result.stderr
    assert result.json()["header"]["type"] in ("DYN", "EXEC")
    assert took < 5


def test_unreadable_file(tmp_path, build_c):
    locked = tmp_path / "locked"
    shutil.copy(small_elf(build_c), locked)
    locked.chmod(0)
    if os.geteuid() != 0:
        result = run_kernlab("elf", str(locked))
    else:
        # Root reads anything; without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH it cannot.
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv (util-linux) is missing: cannot drop DAC capabilities")
        proc = subprocess.run(
            [
                setpriv,
                "--bounding-set=-dac_override,-dac_read_search",
                sys.executable,
                *KERNLAB_ELF,
                str(locked),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        from tests.conftest import CliResult

        result = CliResult(proc.returncode, proc.stdout, proc.stderr)
    assert_clean_error(result, 5)
    assert "permission denied" in result.stderr


def _boundaries(data: bytes) -> list[int]:
    """Every offset where one header structure ends or begins."""
    wide = data[4] == 2
    endian = "<" if data[5] == 1 else ">"
    fmt = endian + ("HHIQQQIHHHHHH" if wide else "HHIIIIIHHHHHH")
    fields = struct.unpack_from(fmt, data, 16)
    phoff, shoff = fields[4], fields[5]
    phentsize, phnum, shentsize, shnum = fields[8], fields[9], fields[10], fields[11]
    cuts = {1, 4, 5, 15, 16, 17, 24, 16 + struct.calcsize(fmt) - 1}
    cuts |= {phoff + i * phentsize for i in range(phnum)} | {
        phoff + i * phentsize - 1 for i in range(1, phnum + 1)
    }
    cuts |= {shoff + i * shentsize for i in range(shnum)} | {
        shoff + i * shentsize - 1 for i in range(1, shnum + 1)
    }
    return sorted(c for c in cuts if 0 < c < len(data))


def test_truncated_at_every_header_boundary(tmp_path, build_c):
    data = small_elf(build_c).read_bytes()
    cuts = _boundaries(data)
    assert len(cuts) > 20
    for cut in cuts:
        piece = tmp_path / f"cut{cut}"
        piece.write_bytes(data[:cut])
        with pytest.raises(BadInput):
            image = open_elf(piece)
            # Opened: the section headers were intact (a cut in the data), so a table must fail.
            image.symbols()
            image.dynamic()
            image.notes()
    # And the command line says so in one line, for a few of them.
    for cut in (cuts[0], cuts[len(cuts) // 2], cuts[-1]):
        result, took = timed_cli(str(tmp_path / f"cut{cut}"))
        assert_clean_error(result, BAD_INPUT)
        assert took < 2


@pytest.mark.parametrize(
    "field_name, offset64, fmt, value",
    [
        ("e_phoff", 32, "<Q", 1 << 60),
        ("e_shoff", 40, "<Q", 1 << 60),
        ("e_shnum", 60, "<H", 0xFFFE),
        ("e_phnum", 56, "<H", 0xFFFE),
        ("e_shentsize", 58, "<H", 7),
        ("e_shstrndx", 62, "<H", 0xFFF0),
    ],
)
def test_header_fields_pointing_past_the_end(tmp_path, build_c, field_name, offset64, fmt, value):
    data = bytearray(small_elf(build_c).read_bytes())
    struct.pack_into(fmt, data, offset64, value)
    bad = tmp_path / field_name
    bad.write_bytes(bytes(data))
    result, took = timed_cli(str(bad))
    assert took < 2
    if field_name == "e_shstrndx":
        # readelf copes with a bad string table index (names become <no-strings>); so do we.
        assert result.code == 0, result.stderr
        return
    assert_clean_error(result, BAD_INPUT)


def test_section_pointing_past_the_end(tmp_path, build_c):
    data = bytearray(small_elf(build_c).read_bytes())
    image = open_elf(small_elf(build_c))
    symtab = next(s for s in image.sections if s.name == ".symtab")
    shoff, shentsize = image.header.shoff, image.header.shentsize
    # sh_offset of .symtab → far past the end of the file.
    struct.pack_into("<Q", data, shoff + symtab.index * shentsize + 24, 1 << 40)
    bad = tmp_path / "bad-symtab"
    bad.write_bytes(bytes(data))
    image = open_elf(bad)
    with pytest.raises(BadInput, match=r"\.symtab"):
        image.symbols()
    result, _ = timed_cli(str(bad))
    assert_clean_error(result, BAD_INPUT)


def test_errors_are_kernlab_errors_in_process(tmp_path):
    for make in (lambda p: None, lambda p: p.mkdir(), lambda p: p.write_bytes(b"\x7fELF")):
        target = tmp_path / f"case{len(list(tmp_path.iterdir()))}"
        make(target)
        with pytest.raises(KernlabError):
            open_elf(target)
