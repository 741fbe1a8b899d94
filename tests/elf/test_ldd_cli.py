"""`kernlab ldd` end to end: JSON, ldd-style lines, tree and table against ldd and readelf."""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.conftest import assert_clean_error, need_tool, run_kernlab
from tests.elf.test_ldd_resolve import _normalise, real_ldd

TARGET = "/bin/mv" if os.path.exists("/bin/mv") else "/bin/ls"


def readelf_needed(path: str) -> list[str]:
    readelf = need_tool("readelf")
    out = subprocess.run([readelf, "-d", path], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def test_ldd_cli_json_matches_ldd():
    result = run_kernlab("ldd", TARGET, "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    expected = real_ldd(TARGET)
    resolved = {ln.split(" => ")[0]: ln.split(" => ")[1] for ln in expected if " => " in ln}
    got = {o["name"]: os.path.realpath(o["path"]) for o in doc["objects"] if o["status"] == "found"}
    assert got == resolved
    assert doc["kind"] == "dynamic"
    direct = [d["name"] for d in doc["dependencies"] if d["parent"] == ""]
    assert direct == readelf_needed(TARGET)
    assert all(isinstance(o["depth"], int) for o in doc["objects"])


def test_ldd_cli_ldd_style_lines_equal_ldd():
    result = run_kernlab("ldd", "--ldd-style", TARGET)
    assert result.code == 0, result.stderr
    assert [_normalise(ln) for ln in result.stdout.splitlines() if ln.strip()] == real_ldd(TARGET)


def test_ldd_cli_tree_shows_who_needs_whom():
    result = run_kernlab("ldd", "--tree", TARGET)
    assert result.code == 0, result.stderr
    top = [ln for ln in result.stdout.splitlines() if re.match(r"^[├└]── ", ln)]
    assert [re.sub(r"^[├└]── (\S+).*$", r"\1", ln) for ln in top] == readelf_needed(TARGET)


def test_ldd_cli_table_and_sentence():
    result = run_kernlab("ldd", TARGET)
    assert result.code == 0, result.stderr
    expected = real_ldd(TARGET)
    libraries = [ln for ln in expected if " => " in ln]
    sentence = " ".join(result.stdout.split("→", 1)[1].split())
    assert f"needs {len(libraries)} shared libraries" in sentence
    assert f"({len(readelf_needed(TARGET))} named in its own DT_NEEDED)" in sentence


def test_ldd_cli_missing_library_sentence(tmp_path):
    gcc = need_tool("gcc")
    lib = tmp_path / "libgone.so"
    src = tmp_path / "gone.c"
    src.write_text("int gone(void) { return 1; }\n")
    subprocess.run([gcc, "-shared", "-fPIC", "-Wl,-soname,libgone.so", "-o", str(lib), str(src)], check=True)
    main = tmp_path / "main.c"
    main.write_text("int gone(void);\nint main(void) { return gone(); }\n")
    prog = tmp_path / "prog"
    subprocess.run([gcc, "-o", str(prog), str(main), f"-L{tmp_path}", "-lgone"], check=True)
    lib.unlink()
    assert "libgone.so => not found" in real_ldd(prog)
    result = run_kernlab("ldd", str(prog))
    assert result.code == 0, result.stderr
    assert "NOT FOUND" in result.stdout
    assert "libgone.so" in result.stdout.split("→", 1)[1]
    doc = run_kernlab("ldd", str(prog), "--json").json()
    assert doc["missing"] == ["libgone.so"]


def test_ldd_cli_static(build_c):
    try:
        prog = build_c("hello", ["-static"], "hello_static_cli")
    except RuntimeError as exc:
        pytest.skip(f"gcc -static does not work here: {exc}")
    result = run_kernlab("ldd", str(prog), "--json")
    assert result.code == 0
    assert result.json()["kind"] == "static"
    assert real_ldd(prog) == ["not a dynamic executable"]


@pytest.mark.parametrize("make", ["missing", "directory", "text", "fifo", "truncated", "empty"])
def test_ldd_cli_bad_input_is_one_line(tmp_path, make):
    path = tmp_path / "input"
    if make == "directory":
        path.mkdir()
    elif make == "text":
        path.write_text("#!/bin/sh\necho hello\n")
    elif make == "fifo":
        os.mkfifo(path)
    elif make == "truncated":
        with open(TARGET, "rb") as f:
            path.write_bytes(f.read(200))
    elif make == "empty":
        path.write_bytes(b"")
    result = run_kernlab("ldd", str(path), timeout=30)
    assert_clean_error(result, code=3)
    assert str(path) in result.stderr


def test_ldd_cli_takes_ld_library_path_from_environment(tmp_path):
    gcc = need_tool("gcc")
    src = tmp_path / "envlib.c"
    src.write_text("int envlib(void) { return 0; }\n")
    libdir = tmp_path / "libs"
    libdir.mkdir()
    subprocess.run(
        [gcc, "-shared", "-fPIC", "-Wl,-soname,libenvlib.so", "-o", str(libdir / "libenvlib.so"), str(src)],
        check=True,
    )
    main = tmp_path / "main.c"
    main.write_text("int envlib(void);\nint main(void) { return envlib(); }\n")
    prog = tmp_path / "prog"
    subprocess.run([gcc, "-o", str(prog), str(main), f"-L{libdir}", "-lenvlib"], check=True)
    expected = real_ldd(prog, str(libdir))
    assert f"libenvlib.so => {libdir / 'libenvlib.so'}" in expected
    result = run_kernlab("ldd", "--ldd-style", str(prog), env={"LD_LIBRARY_PATH": str(libdir)})
    assert result.code == 0, result.stderr
    assert [_normalise(ln) for ln in result.stdout.splitlines() if ln.strip()] == expected
