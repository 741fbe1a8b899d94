# ruff: noqa: E501  (golden output: lines as long as the data, as the view prints them)
"""views.ldd: a fixed resolution printed as a table, a tree and ldd's lines, against golden text."""

from __future__ import annotations

from kernlab import explain
from kernlab.elf.ldd import Dependency, LoadedObject, SearchSetup
from kernlab.render.output import Output
from kernlab.render.views import ldd as view
from kernlab.reports.ldd import LddReport

SETUP = SearchSetup(
    ld_library_path=["/opt/demo/lib"], cache="/etc/ld.so.cache", cache_entries=3,
    system_dirs=["/lib/x86_64-linux-gnu/", "/usr/lib/x86_64-linux-gnu/"],
    system_dirs_from="/lib64/ld-linux-x86-64.so.2", hwcaps=["x86-64-v3"],
    subdirs=["glibc-hwcaps/x86-64-v3"], loader_glibc="2.36", platform="x86_64",
    lib="lib/x86_64-linux-gnu", subdirs_from="/lib64/ld-linux-x86-64.so.2",
)  # fmt: skip
OBJECTS = [
    LoadedObject("linux-vdso.so.1", None, "vdso", "kernel", None, 0),
    LoadedObject("libdemo.so.1", "/opt/demo/lib/libdemo.so.1", "found", "LD_LIBRARY_PATH", "/opt/demo/prog", 1,
                 soname="libdemo.so.1", needed=["libc.so.6", "libgone.so"]),
    LoadedObject("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "found", "ld.so.cache", "/opt/demo/prog", 1,
                 soname="libc.so.6"),
    LoadedObject("libgone.so", None, "not found", None, "libdemo.so.1", 2,
                 tried=["/opt/demo/lib/libgone.so", "/lib/x86_64-linux-gnu/libgone.so"]),
    LoadedObject("/lib64/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2", "interpreter", "PT_INTERP", None, 0),
]  # fmt: skip
DEPENDENCIES = [
    Dependency("", "libdemo.so.1", "/opt/demo/lib/libdemo.so.1", True),
    Dependency("", "libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", True),
    Dependency("libdemo.so.1", "libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", False),
    Dependency("libdemo.so.1", "libgone.so", None, True),
]
REPORT = LddReport(
    file="/opt/demo/prog", kind="dynamic", elf_class="ELF64", arch="x86_64", abi="x86-64",
    interpreter="/lib64/ld-linux-x86-64.so.2", rpath=None, runpath="$ORIGIN/lib", objects=OBJECTS,
    dependencies=DEPENDENCIES, missing=["libgone.so"], search=SETUP,
)  # fmt: skip


TABLE = """\
  File:            /opt/demo/prog
  Class:           ELF64 (x86-64)
  Interpreter:     /lib64/ld-linux-x86-64.so.2
  RUNPATH:         $ORIGIN/lib
  LD_LIBRARY_PATH: /opt/demo/lib

 Library                       Path                              Found via         Needed by
 ────────────────────────────────────────────────────────────────────────────────────────────────
 linux-vdso.so.1               (in the kernel, no file)          vDSO
 libdemo.so.1                  /opt/demo/lib/libdemo.so.1        LD_LIBRARY_PATH   /opt/demo/prog
 libc.so.6                     /lib/x86_64-linux-gnu/libc.so.6   ld.so.cache       /opt/demo/prog
 libgone.so                    NOT FOUND                                           libdemo.so.1
 /lib64/ld-linux-x86-64.so.2   /lib64/ld-linux-x86-64.so.2       PT_INTERP

libgone.so: tried /opt/demo/lib/libgone.so, /lib/x86_64-linux-gnu/libgone.so
→ 1 of 3 libraries cannot be found (libgone.so), so ld.so would stop with "error while loading shared libraries" before prog runs; /lib64/ld-linux-x86-64.so.2 is the dynamic loader the kernel starts first to map them; linux-vdso.so.1 has no file: the kernel maps it into every process.
"""

TREE = """\
/opt/demo/prog
├── libdemo.so.1 => /opt/demo/lib/libdemo.so.1
│   ├── libc.so.6 (already loaded)
│   └── libgone.so => not found
└── libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6
→ 1 of 3 libraries cannot be found (libgone.so), so ld.so would stop with "error while loading shared libraries" before prog runs; /lib64/ld-linux-x86-64.so.2 is the dynamic loader the kernel starts first to map them; linux-vdso.so.1 has no file: the kernel maps it into every process.
"""

LDD_STYLE = """\
        linux-vdso.so.1
        libdemo.so.1 => /opt/demo/lib/libdemo.so.1
        libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6
        libgone.so => not found
        /lib64/ld-linux-x86-64.so.2
"""


def test_table(capsys):
    view.show_table(REPORT, Output())
    assert capsys.readouterr().out == TABLE


def test_tree(capsys):
    view.show_tree(REPORT, Output())
    assert capsys.readouterr().out == TREE


def test_ldd_style_is_ldds_lines(capsys):
    view.show_ldd_style(REPORT, Output())
    assert capsys.readouterr().out == LDD_STYLE
    assert view.ldd_lines(REPORT) == [line.strip() for line in LDD_STYLE.splitlines()]


def test_sentence_in_korean_at_render_time(capsys):
    explain.set_language("ko")
    try:
        view.show_table(REPORT, Output())
    finally:
        explain.set_language("en")
    sentence = capsys.readouterr().out.split("→", 1)[1]
    assert "libgone.so" in sentence
    assert any("\uac00" <= ch <= "\ud7a3" for ch in sentence)
