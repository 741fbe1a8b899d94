"""kernlab's library resolution against the real ldd, on system files and test-built trees.

ldd runs the loader in trace mode; its lines ``name => path (0xaddr)`` are parsed here, the
addresses dropped and paths made real, then compared line by line (same libraries, same order)
with what kernlab computes without running anything.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROGRAMS, compile_c, need_tool

_ADDRESS = re.compile(r"\s*\(0x[0-9a-f]+\)$")


def _normalise(line: str) -> str:
    line = _ADDRESS.sub("", line.strip())
    if " => " in line:
        name, path = line.split(" => ", 1)
        if path != "not found":
            path = os.path.realpath(path)
        return f"{name} => {path}"
    if line.startswith("/") and os.path.exists(line):
        return os.path.realpath(line)
    return line


def real_ldd(path: Path | str, ld_library_path: str | None = None) -> list[str]:
    """ldd's lines for ``path`` (stdout and stderr: "not a dynamic executable" goes to stderr)."""
    need_tool("ldd")
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    if ld_library_path is not None:
        env["LD_LIBRARY_PATH"] = ld_library_path
    proc = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env, timeout=60)
    return [_normalise(ln) for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]


def kernlab_ldd(path: Path | str, ld_library_path: str | None = None) -> list[str]:
    from kernlab.render.views.ldd import ldd_lines
    from kernlab.reports.ldd import build

    return [_normalise(ln) for ln in ldd_lines(build(path, ld_library_path=ld_library_path))]


def _elf_files(folder: str) -> list[str]:
    from kernlab.elf.ldd import read_identity

    out = []
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if entry.is_file() and not entry.is_symlink() and read_identity(entry.path) is not None:
            out.append(entry.path)
    return out


def test_ldd_matches_real_ldd_on_system_files():
    need_tool("ldd")
    seed = int(os.environ.get("KERNLAB_TEST_SEED", random.SystemRandom().randrange(1 << 30)))
    print(f"system file sample seed: {seed} (set KERNLAB_TEST_SEED={seed} to repeat)")
    rng = random.Random(seed)
    files: list[str] = []
    for folder in ("/usr/bin", "/usr/lib/x86_64-linux-gnu", "/usr/lib/i386-linux-gnu", "/usr/lib32"):
        if os.path.isdir(folder):
            found = _elf_files(folder)
            files += rng.sample(
                found, min(len(found), 40 if folder in ("/usr/bin", "/usr/lib/x86_64-linux-gnu") else 8)
            )
    for must in ("/bin/mv", "/bin/ls", "/usr/bin/perf"):
        if os.path.exists(must):
            files.append(must)
    assert len(files) >= 50, files
    for path in files:
        assert kernlab_ldd(path) == real_ldd(path), path


# --- a test-built library tree -------------------------------------------------------------------


def _build_libs(tmp: Path, liba_flags: tuple[str, ...] = ()) -> Path:
    """tmp/lib/libldd_b.so and tmp/lib/libldd_a.so (which needs libldd_b.so)."""
    lib = tmp / "lib"
    lib.mkdir(exist_ok=True)
    compile_c(PROGRAMS / "ldd_libb.c", lib / "libldd_b.so", ["-shared", "-fPIC", "-Wl,-soname,libldd_b.so"])
    compile_c(
        PROGRAMS / "ldd_liba.c",
        lib / "libldd_a.so",
        [
            "-shared",
            "-fPIC",
            "-Wl,-soname,libldd_a.so",
            "-Wl,--no-as-needed",
            *liba_flags,
            f"-L{lib}",
            "-lldd_b",
        ],
    )
    return lib


def _build_main(tmp: Path, lib: Path, flags: tuple[str, ...], name: str = "prog") -> Path:
    # The libraries go after the source: compile_c puts flags first, so link them by path.
    out = tmp / name
    gcc = need_tool("gcc")
    cmd = [gcc, "-Wl,--no-as-needed", *flags, "-o", str(out), str(PROGRAMS / "ldd_main.c"),
           f"-L{lib}", "-lldd_a", f"-Wl,-rpath-link,{lib}"]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


def _report(path: Path, ld_library_path: str | None = None):
    from kernlab.elf.ldd import resolve_libraries

    return resolve_libraries(path, ld_library_path=ld_library_path)


def test_ldd_runpath_origin_is_not_inherited(tmp_path):
    lib = _build_libs(tmp_path)
    prog = _build_main(tmp_path, lib, ("-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/lib"))
    assert kernlab_ldd(prog) == real_ldd(prog)
    report = _report(prog)
    assert report.runpath == "$ORIGIN/lib" and report.rpath is None
    # RUNPATH serves only the object that has it: libldd_a.so cannot find libldd_b.so through it.
    expected_missing = [ln.split(" => ")[0] for ln in real_ldd(prog) if ln.endswith("=> not found")]
    assert report.missing == expected_missing
    found = {o.name: o for o in report.objects}
    assert found["libldd_a.so"].found_via == f"RUNPATH of {prog}"


def test_ldd_rpath_is_inherited_by_dependencies(tmp_path):
    lib = _build_libs(tmp_path)
    prog = _build_main(tmp_path, lib, ("-Wl,--disable-new-dtags", "-Wl,-rpath,$ORIGIN/lib"))
    assert kernlab_ldd(prog) == real_ldd(prog)
    report = _report(prog)
    assert report.rpath == "$ORIGIN/lib" and report.runpath is None
    found = {o.name: o for o in report.objects}
    assert found["libldd_b.so"].found_via == f"RPATH of {prog}"
    assert found["libldd_b.so"].needed_by == "libldd_a.so"
    assert os.path.realpath(found["libldd_b.so"].path) == str(lib / "libldd_b.so")


def test_ldd_runpath_on_each_library(tmp_path):
    lib = _build_libs(tmp_path, ("-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN"))
    prog = _build_main(tmp_path, lib, ("-Wl,--enable-new-dtags", "-Wl,-rpath,$ORIGIN/lib"))
    assert kernlab_ldd(prog) == real_ldd(prog)
    assert _report(prog).missing == []


def test_ldd_ld_library_path(tmp_path):
    lib = _build_libs(tmp_path)
    prog = _build_main(tmp_path, lib, ())
    assert kernlab_ldd(prog) == real_ldd(prog)  # nothing to find them with
    assert kernlab_ldd(prog, str(lib)) == real_ldd(prog, str(lib))
    report = _report(prog, str(lib))
    assert report.missing == []
    assert {o.found_via for o in report.objects if o.name.startswith("libldd_")} == {"LD_LIBRARY_PATH"}


def test_ldd_missing_library_reported_as_not_found(tmp_path):
    lib = _build_libs(tmp_path)
    prog = _build_main(tmp_path, lib, ("-Wl,-rpath,$ORIGIN/lib",))
    (lib / "libldd_a.so").unlink()
    expected = real_ldd(prog)
    assert "libldd_a.so => not found" in expected
    assert kernlab_ldd(prog) == expected
    report = _report(prog)
    assert report.missing == ["libldd_a.so"]
    missing = next(o for o in report.objects if o.name == "libldd_a.so")
    assert str(lib / "libldd_a.so") in missing.tried


def test_ldd_platform_and_lib_expansion(tmp_path):
    lib = _build_libs(tmp_path)
    platform = tmp_path / os.uname().machine
    platform.mkdir()
    for name in ("libldd_a.so", "libldd_b.so"):
        (lib / name).rename(platform / name)
    prog = _build_main(tmp_path, platform, ("-Wl,--disable-new-dtags", "-Wl,-rpath,$ORIGIN/$PLATFORM"))
    assert kernlab_ldd(prog) == real_ldd(prog)
    assert _report(prog).missing == []


def test_ldd_needed_by_path(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    # Without a soname, the linker records the path it was given as DT_NEEDED.
    compile_c(PROGRAMS / "ldd_libb.c", lib / "libplain.so", ["-shared", "-fPIC"])
    gcc = need_tool("gcc")
    prog = tmp_path / "prog"
    src = tmp_path / "main.c"
    src.write_text("int ldd_b_value(void);\nint main(void) { return ldd_b_value() == 41 ? 0 : 1; }\n")
    subprocess.run([gcc, "-o", str(prog), str(src), str(lib / "libplain.so")], check=True)
    assert kernlab_ldd(prog) == real_ldd(prog)
    assert any(o.name == str(lib / "libplain.so") for o in _report(prog).objects)


def test_ldd_nodefaultlib(build_c):
    prog = build_c("hello", ["-Wl,-z,nodefaultlib"], "hello_nodeflib")
    assert kernlab_ldd(prog) == real_ldd(prog)


def test_ldd_32bit_program(build_c):
    try:
        prog = build_c("hello", ["-m32"], "hello32")
    except RuntimeError as exc:
        pytest.skip(f"gcc -m32 does not work here (gcc-multilib missing?): {exc}")
    expected = real_ldd(prog)
    assert kernlab_ldd(prog) == expected
    report = _report(prog)
    assert report.elf_class == "ELF32"
    libc = next(o for o in report.objects if o.name == "libc.so.6")
    from kernlab.elf.ldd import read_identity

    assert read_identity(libc.path).elf_class == 32
    # A 64-bit libc.so.6 first in the search path is skipped as ld.so skips it.
    libdir64 = os.path.dirname(next(o.realpath for o in _report("/bin/ls").objects if o.name == "libc.so.6"))
    assert kernlab_ldd(prog, libdir64) == real_ldd(prog, libdir64)
    skipped = next(o for o in _report(prog, libdir64).objects if o.name == "libc.so.6")
    assert skipped.found_via != "LD_LIBRARY_PATH"


@pytest.mark.parametrize(
    "flags, words", [(["-static"], "not a dynamic executable"), (["-static-pie"], "statically linked")]
)
def test_ldd_static_programs(build_c, flags, words):
    try:
        prog = build_c("hello", flags, "hello_static")
    except RuntimeError as exc:
        pytest.skip(f"gcc {' '.join(flags)} does not work here (static libc missing?): {exc}")
    expected = real_ldd(prog)
    assert expected == [words]
    assert kernlab_ldd(prog) == expected
    report = _report(prog)
    assert report.kind == {"not a dynamic executable": "static", "statically linked": "static-pie"}[words]
    assert report.objects == []


def _readelf_machine(path: Path | str) -> str:
    out = subprocess.run(
        [need_tool("readelf"), "-h", str(path)], capture_output=True, text=True, check=True
    ).stdout
    return re.search(r"Machine:\s+(.+)", out).group(1).strip()


def test_ldd_foreign_architecture_skips_wrong_machine(tmp_path):
    """An AArch64 program: an x86-64 library of the same name earlier in the path is skipped."""
    clang = need_tool("clang")
    need_tool("ld.lld")
    arm, x86 = tmp_path / "arm", tmp_path / "x86"
    arm.mkdir()
    x86.mkdir()
    lib_src = tmp_path / "f.c"
    lib_src.write_text("int f(void) { return 1; }\n")
    main_src = tmp_path / "m.c"
    main_src.write_text("int f(void);\nvoid _start(void) { f(); for (;;); }\n")
    target = ["--target=aarch64-linux-gnu", "-fuse-ld=lld", "-nostdlib", "-fPIC"]
    soname = "-Wl,-soname,libxf.so"
    subprocess.run([clang, *target, "-shared", soname, "-o", str(arm / "libxf.so"), str(lib_src)], check=True)
    subprocess.run(
        [clang, *target, "-pie", "-Wl,-dynamic-linker,/lib/ld-linux-aarch64.so.1", "-Wl,--enable-new-dtags",
         "-Wl,-rpath,$ORIGIN", "-o", str(arm / "prog"), str(main_src), f"-L{arm}", "-lxf"],
        check=True,
    )  # fmt: skip
    compile_c(lib_src, x86 / "libxf.so", ["-shared", "-fPIC", soname])
    report = _report(arm / "prog", str(x86))
    lib = next(o for o in report.objects if o.name == "libxf.so")
    assert _readelf_machine(lib.path) == _readelf_machine(arm / "prog") == "AArch64"
    assert lib.found_via == f"RUNPATH of {arm / 'prog'}"
    assert report.abi == "AArch64"
    assert [o.name for o in report.objects if o.status == "vdso"] == ["linux-vdso.so.1"]


def _ld_debug_search_path(prog: Path, ld_library_path: str) -> list[str]:
    """The directories ld.so itself tries for LD_LIBRARY_PATH, from LD_DEBUG=libs."""
    env = {**os.environ, "LD_DEBUG": "libs", "LD_LIBRARY_PATH": ld_library_path}
    proc = subprocess.run([str(prog)], capture_output=True, text=True, env=env, timeout=30)
    for line in proc.stderr.splitlines():
        m = re.search(r"search path=(\S+)\s+\(LD_LIBRARY_PATH\)", line)
        if m:
            return m.group(1).split(":")
    pytest.skip("LD_DEBUG=libs printed no LD_LIBRARY_PATH search path (not glibc?)")


@pytest.mark.parametrize("bits", [64, 32])
def test_ldd_subdirectories_match_ld_debug(tmp_path, bits):
    """glibc-hwcaps and (before glibc 2.37) tls/platform subdirectories, in ld.so's order."""
    from kernlab.elf.ldd import read_identity, resolve_libraries

    flags = [] if bits == 64 else ["-m32"]
    try:
        prog = compile_c(PROGRAMS / "hello.c", tmp_path / "hello", flags)
    except RuntimeError as exc:
        pytest.skip(f"gcc {' '.join(flags)} does not work here: {exc}")
    assert read_identity(prog).elf_class == bits
    lib = tmp_path / "lib"
    lib.mkdir()
    expected = _ld_debug_search_path(prog, str(lib))
    setup = resolve_libraries(prog, ld_library_path=str(lib)).search
    assert [f"{lib}/{sub}" for sub in setup.subdirs] + [str(lib)] == expected


def test_ldd_library_in_hwcaps_subdirectory(tmp_path):
    from kernlab.elf.ldd import resolve_libraries

    lib = _build_libs(tmp_path)
    prog = _build_main(tmp_path, lib, ())
    setup = resolve_libraries(prog, ld_library_path=str(lib)).search
    if not setup.subdirs:
        pytest.skip("no glibc-hwcaps or legacy subdirectories are active on this machine")
    # The best subdirectory gets libldd_b.so, the worst libldd_a.so: ldd must agree on both.
    for name, sub in (("libldd_b.so", setup.subdirs[0]), ("libldd_a.so", setup.subdirs[-1])):
        (lib / sub).mkdir(parents=True, exist_ok=True)
        (lib / name).rename(lib / sub / name)
    assert kernlab_ldd(prog, str(lib)) == real_ldd(prog, str(lib))
    paths = {o.name: o.path for o in _report(prog, str(lib)).objects}
    assert paths["libldd_b.so"] == str(lib / setup.subdirs[0] / "libldd_b.so")
