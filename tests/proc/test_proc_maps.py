"""kernlab.proc.maps and `kernlab maps` against /proc, pmap -x, ps and readelf."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernlab.errors import BadInput, NoSuchProcess
from kernlab.proc.maps import (
    KINDS,
    Vma,
    classify_vmas,
    find_vma,
    nearest_vmas,
    parse_maps,
    read_maps,
    total_vmas,
    with_gaps,
)
from tests.conftest import assert_clean_error, need_tool, run_kernlab
from tests.proc.conftest import as_nobody


def _pmap_x(pid: int) -> tuple[list[list[str]], tuple[int, int, int]]:
    """pmap -x's mapping rows (as tokens) and its total line (Kbytes, RSS, Dirty)."""
    need_tool("pmap")
    text = subprocess.run(["pmap", "-x", str(pid)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in text.splitlines() if re.match(r"^[0-9a-f]{16} ", line)]
    total = next(line for line in text.splitlines() if line.startswith("total kB")).split()
    return rows, (int(total[2]), int(total[3]), int(total[4]))


def _ps(pid: int, fields: str) -> list[int]:
    need_tool("ps")
    out = subprocess.run(["ps", "-o", fields, "-p", str(pid)], capture_output=True, text=True, check=True)
    return [int(x) for x in out.stdout.split()]


def _flat(text: str) -> str:
    """Output with line wrapping undone, to find a sentence the terminal renderer wrapped."""
    return " ".join(text.split())


def test_parse_live_maps_matches_the_file_line_by_line():
    text = Path("/proc/self/maps").read_text()
    vmas = parse_maps(text)
    lines = text.splitlines()
    assert len(vmas) == len(lines)
    for vma, line in zip(vmas, lines, strict=True):
        fields = line.split(None, 5)
        start, end = (int(x, 16) for x in fields[0].split("-"))
        assert (vma.start, vma.end, vma.perms, vma.offset) == (start, end, fields[1], int(fields[2], 16))
        assert (vma.dev, vma.inode) == (fields[3], int(fields[4]))
        assert vma.name == (fields[5].strip() if len(fields) == 6 else "")
        assert vma.size == end - start


def test_smaps_fields_equal_the_file():
    vmas = read_maps("self")
    text = Path("/proc/self/smaps").read_text()
    rss_by_start = {}
    current = None
    for line in text.splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            current = int(line.split("-", 1)[0], 16)
        elif line.startswith("Rss:"):
            rss_by_start[current] = int(line.split()[1])
    # Our own process keeps allocating; compare only mappings of files, which do not move.
    for vma in vmas:
        if vma.path and vma.start in rss_by_start and not vma.writable:
            assert vma.rss is not None
            assert vma.kernel_page_size == os.sysconf("SC_PAGE_SIZE") // 1024
            # VmFlags says "rd" exactly when the mapping is readable (a ---p guard has none).
            assert vma.vm_flags is not None
            assert ("rd" in vma.vm_flags) == ("r" in vma.perms)


def test_parse_garbage_is_bad_input():
    with pytest.raises(BadInput):
        parse_maps("this is not a maps file\n")
    with pytest.raises(BadInput):
        parse_maps("Rss: 4 kB\n")
    with pytest.raises(BadInput):
        parse_maps("zzzz-0000 r-xp 0 08:02 1 /x\n")


def test_deleted_file_and_special_names():
    text = (
        "7f0000000000-7f0000002000 rw-s 00000000 00:01 1027 /dev/zero (deleted)\n"
        "7f0000002000-7f0000003000 r--p 00000000 00:00 0 [anon:my region]\n"
        "7f0000003000-7f0000004000 r-xp 00000000 00:00 0 [uprobes]\n"
        "7f0000004000-7f0000005000 rw-p 00000000 08:02 12 /path with spaces/f\n"
    )
    vmas = classify_vmas(parse_maps(text), None)
    assert vmas[0].path == "/dev/zero" and vmas[0].deleted and vmas[0].shared
    assert vmas[1].path is None and vmas[1].kind == "anon-mmap"
    assert vmas[2].kind == "special"
    assert vmas[3].path == "/path with spaces/f" and vmas[3].kind == "file-mmap"


@st.composite
def _layouts(draw):
    count = draw(st.integers(1, 20))
    starts = sorted(draw(st.sets(st.integers(0, 1 << 20), min_size=count, max_size=count)))
    vmas = []
    for i, page in enumerate(starts):
        limit = starts[i + 1] if i + 1 < len(starts) else page + 64
        end_page = draw(st.integers(page + 1, limit))
        vmas.append(Vma(page * 4096, end_page * 4096, "rw-p", 0, "00:00", 0, None, ""))
    return vmas


@settings(max_examples=200, deadline=None)
@given(_layouts(), st.integers(0, (1 << 20) * 4096 + 64 * 4096))
def test_find_vma_and_nearest_agree_with_a_linear_scan(vmas, address):
    inside = [v for v in vmas if v.start <= address < v.end]
    assert find_vma(vmas, address) is (inside[0] if inside else None)
    below = [v for v in vmas if v.end <= address]
    above = [v for v in vmas if v.start > address]
    low, high = nearest_vmas(vmas, address)
    assert low is (below[-1] if below else None)
    assert high is (above[0] if above else None)
    rows = with_gaps(vmas)
    assert sum(r.size for r in rows) == vmas[-1].end - vmas[0].start


@pytest.mark.parametrize("flags", [(), ("-static",), ("-m32",)], ids=["pie", "static", "m32"])
def test_held_process_totals_equal_pmap_and_ps(hold, flags):
    try:
        held = hold(flags=flags)
    except RuntimeError as exc:
        pytest.skip(f"gcc {' '.join(flags)} cannot build here: {str(exc)[:120]}")
    vmas = read_maps(held.pid)
    totals = total_vmas(vmas)
    rows, (kbytes, rss, dirty) = _pmap_x(held.pid)
    assert (totals.size, totals.rss, totals.dirty) == (kbytes, rss, dirty)
    assert len(rows) == totals.count
    vsz, ps_rss = _ps(held.pid, "vsz=,rss=")
    assert totals.vsz == vsz
    assert totals.rss == ps_rss  # RSS of smaps equals the mm counters while nothing changes


@pytest.mark.parametrize(
    "flags", [(), ("-no-pie",), ("-static",), ("-m32",)], ids=["pie", "no-pie", "static", "m32"]
)
def test_held_process_kinds_match_readelf(hold, flags):
    need_tool("readelf")
    try:
        held = hold(flags=flags)
    except RuntimeError as exc:
        pytest.skip(f"gcc {' '.join(flags)} cannot build here: {str(exc)[:120]}")
    vmas = read_maps(held.pid)
    kinds = {v.kind for v in vmas}
    assert {"binary-text", "binary-data", "binary-bss", "heap", "stack", "anon-mmap", "file-mmap"} <= kinds
    assert kinds <= set(KINDS)
    # The program printed where big_bss and the anonymous mmap are: they must land in those kinds.
    # (its first bytes may share the last file page with .data, so look at its middle)
    assert find_vma(vmas, held.bss_address + (4 << 20)).kind == "binary-bss"
    assert find_vma(vmas, held.anon_address).kind == "anon-mmap"
    # Every executable PT_LOAD of the file, moved by the load bias, lies in binary-text VMAs.
    text = subprocess.run(
        ["readelf", "-lW", str(held.exe)], capture_output=True, text=True, check=True
    ).stdout
    loads = [line.split() for line in text.splitlines() if line.strip().startswith("LOAD")]
    # Load bias: where the file's first page went, minus the page its first PT_LOAD asked for
    # (0 for a non-PIE executable, which is loaded at its link-time addresses).
    first_vaddr = min(int(load[2], 16) for load in loads) & ~(os.sysconf("SC_PAGE_SIZE") - 1)
    base = min(v.start for v in vmas if v.path == str(held.exe)) - first_vaddr
    for load in loads:
        vaddr, memsz, flags = int(load[2], 16), int(load[5], 16), "".join(load[6:-1])
        if "E" in flags:
            for address in (base + vaddr, base + vaddr + memsz - 1):
                assert find_vma(vmas, address).kind == "binary-text"
    # .bss from the section table ends inside the binary's bss/data VMAs.
    sections = subprocess.run(["readelf", "-SW", str(held.exe)], capture_output=True, text=True).stdout
    bss = next(line for line in sections.splitlines() if " .bss " in line)
    fields = bss.split("]", 1)[1].split()
    bss_end = base + int(fields[2], 16) + int(fields[4], 16) - 1
    assert find_vma(vmas, bss_end).kind in ("binary-bss", "binary-data")
    shared_libs = {v.path for v in vmas if v.kind == "shared-lib" and v.path}
    linked = subprocess.run(["readelf", "-dW", str(held.exe)], capture_output=True, text=True).stdout
    assert any("libc" in p for p in shared_libs) == ("libc.so" in linked)


def _assert_maps_x_is_pmap_x(pid: int) -> None:
    """`kernlab maps -x PID` is pmap -x's mapping rows and total line, token for token."""
    result = run_kernlab("maps", str(pid), "-x", "--quiet")
    assert result.code == 0, result.stderr
    ours = [line.split() for line in result.stdout.splitlines() if re.match(r"^[0-9a-f]{16} ", line)]
    rows, total = _pmap_x(pid)
    assert ours == rows
    ours_total = next(line for line in result.stdout.splitlines() if line.startswith("total kB")).split()
    assert tuple(int(x) for x in ours_total[2:5]) == total


def test_cli_pmap_x_layout_equals_pmap(hold):
    _assert_maps_x_is_pmap_x(hold().pid)


def test_cli_json_totals_and_vmas(hold):
    held = hold()
    data = run_kernlab("maps", str(held.pid), "--json").json()
    _, (kbytes, rss, dirty) = _pmap_x(held.pid)
    assert (
        data["totals"]["size"] == kbytes and data["totals"]["rss"] == rss and data["totals"]["dirty"] == dirty
    )
    assert data["ps_vsz"] == data["totals"]["vsz"] == _ps(held.pid, "vsz=")[0]
    assert all(isinstance(v["start"], int) and v["kind"] in KINDS for v in data["vmas"])
    assert sum(k["count"] for k in data["kinds"]) == len(data["vmas"])


def test_cli_human_output_has_picture_and_sentences(hold):
    held = hold()
    result = run_kernlab("maps", str(held.pid))
    assert result.code == 0, result.stderr
    assert "(gap)" in result.stdout and "[heap]" in result.stdout and "binary-bss" in result.stdout
    vsz = _ps(held.pid, "vsz=")[0]
    assert f"VSZ {vsz:,} KiB" in _flat(result.stdout)
    assert "equal to ps's VSZ" in _flat(result.stdout)


def test_cli_kind_filter(hold):
    held = hold()
    data = run_kernlab("maps", str(held.pid), "--kind", "heap", "--json").json()
    assert [v["name"] for v in data["vmas"]] == ["[heap]"]
    assert_clean_error(run_kernlab("maps", str(held.pid), "--kind", "nonsense"), code=3)


def test_kernel_thread_has_no_vmas():
    result = run_kernlab("maps", "2")
    assert result.code == 0, result.stderr
    comm = Path("/proc/2/comm").read_text().strip()
    assert f"PID 2 ({comm}) is a kernel thread" in _flat(result.stdout)
    assert "mm is NULL" in _flat(result.stdout)
    data = run_kernlab("maps", "2", "--json").json()
    assert data["kernel_thread"] is True and data["vmas"] == []
    assert read_maps(2) == []


def _unused_pid() -> int:
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    for pid in range(pid_max - 1, 1, -1):
        if not os.path.exists(f"/proc/{pid}"):
            return pid
    raise AssertionError("no free PID")


def test_missing_pid_and_bad_pid():
    pid = _unused_pid()
    result = run_kernlab("maps", str(pid))
    assert_clean_error(result, code=4)
    assert f"no process with PID {pid}" in result.stderr
    with pytest.raises(NoSuchProcess):
        read_maps(pid)
    assert_clean_error(run_kernlab("maps", "abc"), code=3)
    assert_clean_error(run_kernlab("maps", "0"), code=3)
    assert_clean_error(run_kernlab("maps", "--", "-5"), code=3)
    assert_clean_error(run_kernlab("maps"), code=3)


def test_exited_process_is_reported_gone(build_c):
    proc = subprocess.Popen(["sleep", "30"])
    pid = proc.pid
    proc.kill()
    proc.wait()
    result = run_kernlab("maps", str(pid))
    assert_clean_error(result, code=4)


def test_zombie_has_no_address_space():
    proc = subprocess.Popen(["true"])
    # Not reaped yet: a zombie until wait().
    for _ in range(200):
        state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            break
        subprocess.run(["sleep", "0.01"])
    result = run_kernlab("maps", str(proc.pid))
    proc.wait()
    assert result.code == 0, result.stderr
    assert "zombie" in result.stdout


def test_permission_denied_is_clean(hold):
    if os.geteuid() != 0:
        pytest.skip("needs root to drop to another user")
    held = hold(with_file=False)
    result = as_nobody(["maps", str(held.pid)])
    assert_clean_error(result, code=5)
    assert "root or the same user" in result.stderr


@pytest.mark.slow
def test_all_totals_equal_pmap_for_held_process(hold):
    held = hold()
    data = run_kernlab("maps", "--all", "--json").json()
    mine = next(p for p in data["processes"] if p["pid"] == held.pid)
    _, (kbytes, rss, dirty) = _pmap_x(held.pid)
    assert (mine["totals"]["size"], mine["totals"]["rss"], mine["totals"]["dirty"]) == (kbytes, rss, dirty)
    assert data["skipped"] >= 1  # kernel threads at least


@pytest.mark.slow
def test_listing_survives_processes_exiting_meanwhile():
    # Start and end short-lived processes while reading every process: no traceback, exit 0.
    churn = subprocess.Popen(
        [
            os.environ.get("SHELL", "/bin/sh") if False else "/bin/sh",
            "-c",
            "for i in $(seq 300); do /bin/true; done",
        ]
    )
    try:
        for args in (("maps", "--all", "--json"), ("ps", "--json"), ("maps", "--all")):
            result = run_kernlab(*args)
            assert result.code == 0, result.stderr
            assert "Traceback" not in result.stderr
    finally:
        churn.wait()


def test_deleted_file_mapping_equals_pmap(hold, tmp_path):
    held = hold()
    (tmp_path / "proc_hold.dat").unlink()
    vmas = read_maps(held.pid)
    deleted = [v for v in vmas if v.deleted]
    assert deleted and deleted[0].path == str(tmp_path / "proc_hold.dat")
    assert deleted[0].kind == "file-mmap"
    result = run_kernlab("maps", str(held.pid), "-x", "--quiet")
    ours = [line.split() for line in result.stdout.splitlines() if re.match(r"^[0-9a-f]{16} ", line)]
    rows, _ = _pmap_x(held.pid)
    assert ours == rows
    assert any(row[-1] == "(deleted)" for row in rows)


def test_explain_and_korean(hold):
    held = hold(with_file=False)
    explained = _flat(run_kernlab("maps", str(held.pid), "--explain", "--no-picture").stdout)
    assert "/proc/PID/smaps Rss" in explained and "Shared_Dirty + Private_Dirty" in explained
    korean = _flat(run_kernlab("--lang", "ko", "maps", "2").stdout)
    assert "커널 스레드" in korean
    assert "MemAvailable" in _flat(run_kernlab("mem", "--explain").stdout)


@pytest.fixture
def many_maps(tmp_path):
    """A process with thousands of VMAs (and a file of an odd name mapped), waiting on stdin."""
    from tests.conftest import compile_c

    program = compile_c(Path(__file__).parents[1] / "programs" / "many_maps.c", tmp_path / "many_maps")
    started = []

    def start(count: int, mapped: Path | None = None) -> subprocess.Popen:
        args = [str(program), str(count)] + ([str(mapped)] if mapped is not None else [])
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        started.append(proc)
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        return proc

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_thousands_of_vmas_equal_pmap_and_the_file(many_maps):
    """A process with 20,000 VMAs: every field of every VMA is the smaps file's, and `maps -x`
    is pmap -x line for line."""
    proc = many_maps(10_000)
    vmas = read_maps(proc.pid)
    assert len(vmas) >= 20_000
    text = Path(f"/proc/{proc.pid}/smaps").read_text()
    headers = [line for line in text.splitlines() if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line)]
    rss = [int(x) for x in re.findall(r"^Rss:\s+(\d+) kB$", text, re.M)]
    flags = re.findall(r"^VmFlags:(.*)$", text, re.M)
    assert len(headers) == len(vmas) == len(rss) == len(flags)
    for vma, header, size, flag in zip(vmas, headers, rss, flags, strict=True):
        assert header.startswith(f"{vma.start:x}-{vma.end:x} {vma.perms}")
        assert vma.rss == size and vma.vm_flags == flag.split()
    touched = [v for v in vmas if v.perms == "rw-p" and v.size == os.sysconf("SC_PAGESIZE") and v.rss]
    assert len(touched) >= 5_000
    _assert_maps_x_is_pmap_x(proc.pid)


def test_a_file_name_with_line_breaking_characters_is_one_vma(many_maps, tmp_path):
    """Only "\\n" ends a line of maps (the kernel writes it as \\012): a file name holding
    U+0085 or a file separator (0x1c), which str.splitlines() breaks at, stays whole — the
    name /proc/PID/map_files gives."""
    odd = tmp_path / "name\x85with\x1cbreaks"
    odd.write_bytes(b"x" * 4096)
    proc = many_maps(3, odd)
    vmas = read_maps(proc.pid)
    mapped = [v for v in vmas if v.path == str(odd)]
    assert len(mapped) == 1
    link = os.readlink(f"/proc/{proc.pid}/map_files/{mapped[0].start:x}-{mapped[0].end:x}")
    assert link == str(odd)
    result = run_kernlab("maps", str(proc.pid), "--json")
    assert result.code == 0, result.stderr
    assert any(v["path"] == str(odd) for v in result.json()["vmas"])
