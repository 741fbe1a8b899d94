"""The search subdirectories come from the loader's own `ld.so --help`, never from CPU rules.

glibc decides which hwcap subdirectories a CPU gets from CPUID, the CPU vendor and tunables
(avx512_1 only on Intel): an AMD EPYC with AVX-512 lists it as not searched. These tests read
the loader's answer, check kernlab uses exactly the subdirectories it marks searched, and that
a loader which cannot answer (too old, untrusted, musl) gets the fallback, not a guess.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from kernlab.elf.ldd import ABIS, legacy_combinations, loader_search_list, parse_loader_help, search_subdirs

X86_64 = ABIS[(62, 64, "")]
I386 = ABIS[(3, 32, "")]

# The tail of `ld.so --help` of glibc 2.36 on an AMD EPYC with AVX-512 (issue 9's machine).
EPYC_HELP = """\
This program interpreter self-identifies as: /lib64/ld-linux-x86-64.so.2

Shared library search path:
  (libraries located via /etc/ld.so.cache)
  /lib/x86_64-linux-gnu (system search path)
  /usr/lib/x86_64-linux-gnu (system search path)
  /lib (system search path)
  /usr/lib (system search path)

Subdirectories of glibc-hwcaps directories, in priority order:
  x86-64-v4 (supported, searched)
  x86-64-v3 (supported, searched)
  x86-64-v2 (supported, searched)

Legacy HWCAP subdirectories under library search path directories:
  x86_64 (AT_PLATFORM; supported, searched)
  tls (supported, searched)
  avx512_1
  x86_64 (supported, searched)
"""


def test_parse_keeps_only_what_the_loader_searches():
    told = parse_loader_help(EPYC_HELP, "/lib64/ld-linux-x86-64.so.2")
    assert told is not None
    assert told.system_dirs == ["/lib/x86_64-linux-gnu/", "/usr/lib/x86_64-linux-gnu/", "/lib/", "/usr/lib/"]
    assert told.hwcaps == ["x86-64-v4", "x86-64-v3", "x86-64-v2"]
    assert told.platform == "x86_64"
    assert told.legacy == ["x86_64"]  # avx512_1 is listed, but not searched
    subdirs = search_subdirs(X86_64, (2, 36), told).subdirs
    assert not any("avx512_1" in s for s in subdirs)


def test_parse_of_a_loader_with_no_hwcaps_and_no_legacy_list():
    text = "Shared library search path:\n  /lib (system search path)\n\n"
    text += "No subdirectories of glibc-hwcaps directories are searched.\n"
    told = parse_loader_help(text, "ld.so")
    assert told is not None and told.hwcaps == [] and told.legacy is None  # glibc 2.37+
    assert search_subdirs(X86_64, (2, 37), told).subdirs == []
    assert parse_loader_help("Usage: ld.so [OPTION]...\n", "ld.so") is None  # says nothing about them


def test_legacy_combinations_in_ld_debug_order():
    # The order LD_DEBUG=libs prints for a 32-bit program here (tls, platform i686, hwcap sse2).
    assert legacy_combinations("i686", ["sse2"]) == [
        "tls/i686/sse2", "tls/i686", "tls/sse2", "tls", "i686/sse2", "i686", "sse2",
    ]  # fmt: skip


def _system_loader() -> str:
    if not os.path.exists(X86_64.interpreter) or os.uname().machine != "x86_64":
        pytest.skip("not an x86-64 glibc system")
    return X86_64.interpreter


def test_live_subdirectories_are_those_the_loader_marks_searched():
    loader = _system_loader()
    text = subprocess.run([loader, "--help"], capture_output=True, text=True, check=True).stdout
    if "glibc-hwcaps directories" not in text:
        pytest.skip("this loader's --help does not list its subdirectories (glibc < 2.33)")
    assert loader_search_list(loader) is not None
    # Every hwcap name of the two lists that the loader does not mark "searched".
    unsearched, heading = set(), ""
    for line in text.splitlines():
        if not line.startswith("  "):
            heading = line
        elif ("glibc-hwcaps" in heading or "Legacy HWCAP" in heading) and "searched" not in line:
            unsearched.add(line.split()[0])
    from kernlab.elf.ldd import search_setup

    setup = search_setup(X86_64, loader, None, None)
    assert setup.subdirs_from == loader
    for name in unsearched:
        assert all(name not in sub.split("/") and sub != f"glibc-hwcaps/{name}" for sub in setup.subdirs), (
            name
        )


def test_untrusted_loader_is_never_run(tmp_path, monkeypatch):
    loader = _system_loader()
    copy = tmp_path / "ld.so"
    shutil.copy2(loader, copy)
    copy.chmod(0o777)  # anyone may write it: a file's PT_INTERP may point at such a thing
    ran = []
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: ran.append(a))
    assert loader_search_list(str(copy)) is None
    assert ran == []


def test_fallback_without_the_loaders_list():
    if os.uname().machine != "x86_64":
        pytest.skip("the fallback list is for x86 hosts")
    old = search_subdirs(X86_64, (2, 31), None)  # glibc before 2.33: no glibc-hwcaps
    assert old.hwcaps == [] and old.source == "built-in list"
    assert old.subdirs == legacy_combinations("x86_64", ["x86_64"])
    assert search_subdirs(I386, (2, 31), None).subdirs == legacy_combinations("i686", ["sse2"])
    assert search_subdirs(X86_64, (2, 38), None).subdirs == []  # no legacy subdirectories since 2.37
    assert search_subdirs(X86_64, None, None).subdirs == []  # not glibc (musl): none at all
