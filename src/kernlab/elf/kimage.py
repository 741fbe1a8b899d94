"""Find the ELF (vmlinux) inside a compressed kernel image (bzImage, vmlinuz, zImage, Image.gz).

A bzImage is a small real-mode setup and decompressor stub followed by the compressed
vmlinux. Like the kernel's ``scripts/extract-vmlinux``, we look for the magic bytes of each
compression format anywhere in the file, try to decompress from each place they occur, and
keep the first result that is an ELF file. Decompression tolerates trailing bytes after the
stream (the stub appends its own data after the payload).
"""

from __future__ import annotations

import bz2
import lzma
import mmap
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from kernlab.errors import BadInput

ELF_MAGIC = b"\x7fELF"

# Files larger than this are not searched for a compressed payload: kernel images are tens
# of MiB, and scanning a huge file (a disk image, a 64 GiB sparse file) would take minutes.
MAX_IMAGE_BYTES = 512 << 20
# A decompressed vmlinux with debug info can reach ~1 GiB; stop there to bound memory.
MAX_OUTPUT_BYTES = 2 << 30
# Candidate positions tried per format: false matches of short magics are common.
MAX_TRIES_PER_FORMAT = 64
_CHUNK = 1 << 20


def _gunzip(data: memoryview) -> bytes:
    return _stream(zlib.decompressobj(16 + zlib.MAX_WBITS).decompress, data)


def _unxz(data: memoryview) -> bytes:
    return _stream(lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress, data)


def _unlzma(data: memoryview) -> bytes:
    return _stream(lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress, data)


def _bunzip2(data: memoryview) -> bytes:
    return _stream(bz2.BZ2Decompressor().decompress, data)


def _unzstd(data: memoryview) -> bytes:
    import zstandard

    return _stream(zstandard.ZstdDecompressor().decompressobj().decompress, data)


def _unlz4(data: memoryview) -> bytes:
    import lz4.block
    import lz4.frame

    if bytes(data[:4]) == b"\x04\x22\x4d\x18":
        return _stream(lz4.frame.LZ4FrameDecompressor().decompress, data)
    # The kernel uses lz4's legacy format (lz4 -l): magic, then blocks of at most 8 MiB
    # uncompressed, each preceded by its compressed size; a short or bad size ends the stream.
    out = bytearray()
    off = 4
    while off + 4 <= len(data) and len(out) < MAX_OUTPUT_BYTES:
        (size,) = struct.unpack_from("<I", data, off)
        if size == 0x184C2102 or size == 0 or off + 4 + size > len(data):
            break
        try:
            out += lz4.block.decompress(bytes(data[off + 4 : off + 4 + size]), uncompressed_size=8 << 20)
        except lz4.block.LZ4BlockError:
            if not out:
                raise ValueError("not an lz4 stream") from None
            break
        off += 4 + size
    return bytes(out)


def _stream(decompress: Callable[[bytes], bytes], data: memoryview) -> bytes:
    """Feed ``data`` in chunks; stop at the end of the stream, an error after output, or the cap.

    Checks the first decompressed bytes early so a false magic match costs little.
    """
    out = bytearray()
    for off in range(0, len(data), _CHUNK):
        try:
            out += decompress(bytes(data[off : off + _CHUNK]))
        except (EOFError, ValueError):
            break  # end of stream reached earlier: trailing bytes follow
        except (OSError, lzma.LZMAError, zlib.error) as exc:
            if not out:
                raise ValueError(str(exc)) from exc
            break
        except Exception as exc:  # zstandard.ZstdError and lz4 errors have no common base
            if not out:
                raise ValueError(str(exc)) from None
            break
        if len(out) >= 4 and bytes(out[:4]) != ELF_MAGIC:
            raise ValueError("decompressed bytes are not an ELF file")
        if len(out) > MAX_OUTPUT_BYTES:
            raise ValueError("decompressed image is too large")
    return bytes(out)


# (name, magic, decompressor) in the order extract-vmlinux tries them.
FORMATS: tuple[tuple[str, bytes, Callable[[memoryview], bytes]], ...] = (
    ("gzip", b"\x1f\x8b\x08", _gunzip),
    ("xz", b"\xfd7zXZ\x00", _unxz),
    ("bzip2", b"BZh", _bunzip2),
    # extract-vmlinux matches 5d 00 00 00 (a 64 MiB dictionary); any power-of-two
    # dictionary of 64 KiB or more also starts 5d 00 00.
    ("lzma", b"\x5d\x00\x00", _unlzma),
    ("lz4", b"\x02\x21\x4c\x18", _unlz4),
    ("lz4", b"\x04\x22\x4d\x18", _unlz4),
    ("zstd", b"\x28\xb5\x2f\xfd", _unzstd),
)


@dataclass(frozen=True)
class Payload:
    """The compressed vmlinux inside a kernel image."""

    compression: str  # "gzip", "xz", "bzip2", "lzma", "lz4", "zstd"
    offset: int  # where its stream starts in the file
    elf: bytes  # the decompressed vmlinux


def find_payload(data: mmap.mmap | bytes, source: str = "<image>") -> Payload | None:
    """The compressed ELF inside a kernel image, or None.

    Raises BadInput when a compressed ELF was found but is damaged (decompresses to something
    truncated).
    """
    if len(data) > MAX_IMAGE_BYTES:
        return None
    view = memoryview(data)
    for name, magic, decompress in FORMATS:
        start = 0
        for _ in range(MAX_TRIES_PER_FORMAT):
            pos = data.find(magic, start)
            if pos < 0:
                break
            start = pos + 1
            try:
                out = decompress(view[pos:])
            except (ValueError, EOFError, MemoryError):
                continue
            if out[:4] == ELF_MAGIC:
                if len(out) < 64:
                    raise BadInput(
                        f"{source}: the {name} stream at offset {pos:#x} holds a truncated ELF",
                        key="errors.elf.truncated_payload",
                        fields={"path": source, "stream": name, "offset": f"{pos:#x}"},
                    )
                return Payload(name, pos, out)
    return None


def find_elf(data: mmap.mmap | bytes, source: str = "<image>") -> tuple[bytes, str] | None:
    """The ELF inside a compressed kernel image and how it was found, or None.

    Returns ``(elf_bytes, "gzip at offset 0x4a0c")``. Raises BadInput when a compressed ELF
    was found but is damaged (decompresses to something truncated).
    """
    found = find_payload(data, source)
    return None if found is None else (found.elf, f"{found.compression} at offset {found.offset:#x}")
