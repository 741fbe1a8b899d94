"""ld.so.cache parsing against `ldconfig -p`, and the loader's own settings against
`ld.so --list-diagnostics` (which prints the system directories, hwcaps and $LIB it uses)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROGRAMS, compile_c

_LDCONFIG_LINE = re.compile(
    r'^\t(\S+) \(([^,)]+(?:,[^,)]+)*?)(?:, hwcap: (?:"([^"]+)"|(0x[0-9a-f]+)))?\) => (.+)$'
)


def _ldconfig() -> str:
    import shutil

    for candidate in (shutil.which("ldconfig"), "/sbin/ldconfig", "/usr/sbin/ldconfig"):
        if candidate and os.path.exists(candidate):
            return candidate
    pytest.skip("ldconfig is not installed")


def ldconfig_entries(cache: str | None = None) -> list[tuple[str, str, str | None, str]]:
    """(name, flags words, hwcaps subdirectory, path) for each line of `ldconfig -p`."""
    args = [_ldconfig(), "-p"] + (["-C", cache] if cache else [])
    proc = subprocess.run(args, capture_output=True, text=True, check=True)
    out = []
    for line in proc.stdout.splitlines():
        m = _LDCONFIG_LINE.match(line)
        if m:
            out.append((m.group(1), m.group(2), m.group(3), m.group(5)))
    return out


def test_ldd_cache_matches_ldconfig():
    from kernlab.elf.ldcache import LD_SO_CACHE, read_ld_cache

    if not os.path.exists(LD_SO_CACHE):
        pytest.skip(f"{LD_SO_CACHE} does not exist on this machine")
    cache = read_ld_cache()
    assert cache is not None
    expected = ldconfig_entries()
    got = [(e.name, e.flags_text, e.hwcaps_subdir, e.path) for e in cache.entries]
    assert got == expected


def test_ldd_cache_with_hwcaps_and_two_classes(tmp_path: Path):
    """A cache ldconfig writes into tmp: a 64-bit library, its x86-64-v2 build, a 32-bit one."""
    from kernlab.elf.ldcache import read_ld_cache
    from kernlab.elf.ldd import ABIS

    multi, multi32 = tmp_path / "multi", tmp_path / "multi32"
    hw = multi / "glibc-hwcaps" / "x86-64-v2"
    hw.mkdir(parents=True)
    multi32.mkdir()
    flags = ["-shared", "-fPIC", "-Wl,-soname,libkltest.so.1"]
    compile_c(PROGRAMS / "ldd_libb.c", multi / "libkltest.so.1", flags)
    compile_c(PROGRAMS / "ldd_libb.c", hw / "libkltest.so.1", flags)
    try:
        compile_c(PROGRAMS / "ldd_libb.c", multi32 / "libkltest.so.1", ["-m32", *flags])
    except RuntimeError as exc:
        pytest.skip(f"gcc -m32 does not work here: {exc}")
    conf = tmp_path / "ld.so.conf"
    conf.write_text(f"{multi}\n{multi32}\n")
    cache_path = tmp_path / "ld.so.cache"
    ldconfig = _ldconfig()
    # -X: do not touch symbolic links anywhere; -C/-f: cache and configuration in tmp only.
    subprocess.run([ldconfig, "-X", "-C", str(cache_path), "-f", str(conf)], check=True, capture_output=True)

    cache = read_ld_cache(str(cache_path))
    assert cache is not None
    got = [(e.name, e.flags_text, e.hwcaps_subdir, e.path) for e in cache.entries]
    expected = ldconfig_entries(str(cache_path))
    assert got == expected
    mine = [e for e in expected if e[0] == "libkltest.so.1"]
    assert any(e[2] == "x86-64-v2" for e in mine), mine

    x86_64, i386 = ABIS[(62, 64, "")], ABIS[(3, 32, "")]
    paths = {e[2]: e[3] for e in mine if e[1].endswith("x86-64")}
    # With x86-64-v2 active, the glibc-hwcaps build wins; without, the plain one.
    assert (
        cache.lookup("libkltest.so.1", x86_64.cache_accepted, x86_64.cache_default, ["x86-64-v2"])
        == paths["x86-64-v2"]
    )
    assert cache.lookup("libkltest.so.1", x86_64.cache_accepted, x86_64.cache_default, []) == paths[None]
    # A 32-bit program gets the 32-bit library, never a 64-bit one.
    path32 = cache.lookup("libkltest.so.1", i386.cache_accepted, i386.cache_default, [])
    assert path32 == next(e[3] for e in mine if not e[1].endswith("x86-64"))


def test_ldd_cache_garbage_is_bad_input(tmp_path: Path):
    from kernlab.elf.ldcache import read_ld_cache
    from kernlab.errors import BadInput

    for content in (b"", b"not a cache at all", b"glibc-ld.so.cache1.1" + b"\xff" * 40):
        path = tmp_path / "cache"
        path.write_bytes(content)
        with pytest.raises(BadInput):
            read_ld_cache(str(path))
    assert read_ld_cache(str(tmp_path / "absent")) is None


def _diagnostics(loader: str) -> dict[str, str]:
    if not os.path.exists(loader):
        pytest.skip(f"{loader} is not installed")
    proc = subprocess.run([loader, "--list-diagnostics"], capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"{loader} --list-diagnostics is not supported (glibc < 2.33)")
    out = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition("=")
        out[key] = value.strip('"')
    return out


@pytest.mark.parametrize("key", [(62, 64, ""), (3, 32, "")])
def test_ldd_loader_settings_match_diagnostics(key):
    from kernlab.elf.ldd import ABIS, search_setup

    abi = ABIS[key]
    diag = _diagnostics(abi.interpreter)
    setup = search_setup(abi, abi.interpreter, None, None)
    system = [v for k, v in sorted(diag.items()) if k.startswith("path.system_dirs[")]
    assert setup.system_dirs == system
    assert setup.system_dirs_from == abi.interpreter
    assert setup.lib == diag["dl_dst_lib"]
    assert setup.platform == diag["dl_platform"]
    subdirs = [s for s in diag.get("dl_hwcaps_subdirs", "").split(":") if s]
    mask = int(diag.get("dl_hwcaps_subdirs_active", "0"), 16)
    active = [s for i, s in enumerate(subdirs) if mask & (1 << i)]
    assert setup.hwcaps == active


def test_ldd_vdso_name_is_the_kernels():
    """The vDSO name kernlab gives equals the SONAME of the vDSO the kernel maps into us."""
    from io import BytesIO

    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile

    from kernlab.elf.ldd import resolve_libraries

    with open("/proc/self/maps") as maps:
        line = next((ln for ln in maps if ln.rstrip().endswith("[vdso]")), None)
    if line is None:
        pytest.skip("this process has no [vdso] mapping")
    start, end = (int(x, 16) for x in line.split()[0].split("-"))
    with open("/proc/self/mem", "rb") as mem:
        mem.seek(start)
        image = mem.read(end - start)
    elf = ELFFile(BytesIO(image))
    soname = next(
        tag.soname
        for section in elf.iter_sections()
        if isinstance(section, DynamicSection)
        for tag in section.iter_tags()
        if tag.entry.d_tag == "DT_SONAME"
    )
    import sys

    report = resolve_libraries(sys.executable)
    vdso = [o.name for o in report.objects if o.status == "vdso"]
    assert vdso == [soname]


def _old_format(entries, extra: bytes = b"") -> bytes:
    """An old "ld.so-1.7.0" cache holding ``entries`` (libc5-era layout, as old ldconfig wrote)."""
    import struct

    strings = bytearray()
    table = bytearray()
    for e in entries:
        key = len(strings)
        strings += e.name.encode() + b"\0"
        value = len(strings)
        strings += e.path.encode() + b"\0"
        table += struct.pack("<iII", e.flags, key, value)
    header = b"ld.so-1.7.0\0" + struct.pack("<I", len(entries))
    body = header + bytes(table)
    if extra:
        # The new format follows the old table at 8-byte alignment; old strings come after it.
        body += b"\0" * (-len(body) % 8)
        return body + extra
    return body + bytes(strings)


def test_ldd_cache_old_formats_read_like_the_new_one():
    """The real cache's entries written in the old layout, and old+new, read back the same."""
    from kernlab.elf.ldcache import LD_SO_CACHE, parse_ld_cache, read_ld_cache

    if not os.path.exists(LD_SO_CACHE):
        pytest.skip(f"{LD_SO_CACHE} does not exist on this machine")
    real = read_ld_cache()
    assert real is not None and real.format == "new"
    sample = real.entries[:40]
    old = parse_ld_cache(_old_format(sample), "old-cache")
    assert old.format == "old"
    assert [(e.name, e.path, e.flags) for e in old.entries] == [(e.name, e.path, e.flags) for e in sample]

    with open(LD_SO_CACHE, "rb") as f:
        new_bytes = f.read()
    both = parse_ld_cache(_old_format(sample, extra=new_bytes), "old+new-cache")
    assert both.format == "old+new"

    # ld.so uses the new part when there is one: all its entries, not the old sample.
    def triples(cache):
        return [(e.name, e.path, e.flags) for e in cache.entries]

    assert triples(both) == triples(real)
