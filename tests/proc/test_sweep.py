"""Cases a sweep of every process on a machine found, each checked against ps or pmap.

Unusual argument vectors and task names (control characters, bytes that are not UTF-8, more than
procps reads), kernel threads and zombies in pmap's layout, thread IDs, a main thread that exited
while others run, shared memory that maps shows as deleted files, hugetlb pages.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from kernlab.proc.cmdline import cmdline_text, printable
from tests.conftest import assert_clean_error, need_tool, run_kernlab

# pmap and ps escape text by the locale's character set; UTF-8 is what kernlab assumes.
_UTF8 = {**os.environ, "LC_ALL": "C.UTF-8"}

# A process that renames itself (prctl PR_SET_NAME, raw bytes from argv[1] as hex), maps what
# argv[2] asks for, says where, and blocks on stdin.
_HOLDER = r"""
import ctypes, mmap, os, sys
libc = ctypes.CDLL(None, use_errno=True)
name = bytes.fromhex(sys.argv[1])
if name:
    libc.prctl(15, ctypes.c_char_p(name), 0, 0, 0)
kept, where = [], {}
for what in sys.argv[2].split(",") if sys.argv[2] else []:
    if what == "shared_anon":
        area = mmap.mmap(-1, 5 * 4096, flags=mmap.MAP_SHARED)
    elif what == "memfd":
        fd = os.memfd_create("sweep memfd")
        os.ftruncate(fd, 3 * 4096)
        area = mmap.mmap(fd, 3 * 4096, flags=mmap.MAP_SHARED)
    elif what == "hugetlb":
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                              ctypes.c_int, ctypes.c_long]
        address = libc.mmap(None, 2 << 20, 3, 0x22 | 0x40000, -1, 0)  # PRIVATE|ANON|HUGETLB
        if address in (None, ctypes.c_void_p(-1).value):
            print("nohuge", flush=True)
            sys.stdin.read()
            sys.exit(0)
        ctypes.memset(address, 1, 4096)
        where[what] = address
        continue
    elif what.startswith("many:"):
        # Every other page read-only: neighbours differ, so each page stays its own VMA.
        count = int(what[5:])
        area = mmap.mmap(-1, 2 * count * 4096)
        base = ctypes.addressof(ctypes.c_char.from_buffer(area))
        for page in range(count):
            area[2 * page * 4096] = 1
            libc.mprotect(ctypes.c_void_p(base + (2 * page + 1) * 4096), 4096, 1)
        kept.append(area)
        where["many"] = base
        continue
    elif what.startswith("file:"):
        with open(what[5:], "rb") as handle:
            area = mmap.mmap(handle.fileno(), 4096, access=mmap.ACCESS_COPY)
        if what.endswith("-gone"):
            os.unlink(what[5:])
        kept.append(area)
        key = what[5:].rsplit("/", 1)[-1].replace(" ", "_")
        where[key] = ctypes.addressof(ctypes.c_char.from_buffer(area))
        continue
    area.write(b"x")
    kept.append(area)
    where[what] = ctypes.addressof(ctypes.c_char.from_buffer(area))
print("ready", " ".join(f"{k}={v:#x}" for k, v in where.items()), flush=True)
sys.stdin.read()
"""


class Holder:
    """A running _HOLDER: its PID and the addresses of what it mapped."""

    def __init__(self, proc: subprocess.Popen[bytes], line: str) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.where = {k: int(v, 16) for k, v in (part.split("=") for part in line.split()[1:])}


@pytest.fixture
def holder() -> Iterator[Callable[..., Holder]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(*args: bytes, name: bytes = b"", maps: Sequence[str] = ()) -> Holder:
        argv = [
            sys.executable.encode(),
            b"-c",
            _HOLDER.encode(),
            name.hex().encode(),
            ",".join(maps).encode(),
        ]
        proc = subprocess.Popen([*argv, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        started.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        if line.startswith("nohuge"):
            pytest.skip("no hugetlb page could be mapped (vm.nr_hugepages is 0 or all are in use)")
        assert line.startswith("ready"), line
        return Holder(proc, line)

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def _pmap_x(pid: int) -> str:
    need_tool("pmap")
    return subprocess.run(["pmap", "-x", str(pid)], capture_output=True, env=_UTF8).stdout.decode()


def _kernlab_pmap(pid: int) -> str:
    raw = subprocess.run(
        [sys.executable, "-m", "kernlab", "maps", str(pid), "-x", "--quiet"], capture_output=True
    ).stdout
    return raw.decode()  # strict: kernlab's output is valid UTF-8


def _same_twice(read_a: Callable[[], str], read_b: Callable[[], str]) -> tuple[str, str]:
    """Both readings, read again once when they differ (RSS changes on a busy process)."""
    a, b = read_a(), read_b()
    if a != b:
        a, b = read_a(), read_b()
    return a, b


ODD_ARGS = (b"new\nline", b"tab\there", b"ctl\x01\x7f", "한글 ünï".encode(), b"end\xff\xfe")


def test_pmap_first_line_escapes_arguments_as_pmap_does(holder):
    held = holder(*ODD_ARGS)
    pmap, ours = _same_twice(lambda: _pmap_x(held.pid), lambda: _kernlab_pmap(held.pid))
    assert pmap.splitlines()[0] == ours.splitlines()[0]
    assert "\t" not in ours.splitlines()[0] and "한글" in ours.splitlines()[0]
    assert pmap == ours


def test_argument_vector_longer_than_procps_reads(holder):
    # Two arguments of 100,000 bytes: procps reads 128 KiB − 1 bytes of /proc/PID/cmdline.
    held = holder(b"A" * 100_000, b"B" * 100_000)
    pmap_line = _pmap_x(held.pid).splitlines()[0]
    our_line = _kernlab_pmap(held.pid).splitlines()[0]
    assert len(our_line) < 200_000
    assert our_line == pmap_line


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"a\0b\0", "a b"),
        (b"a\nb\0", "a b"),
        (b"a\tb\0", "a?b"),
        (b"x \0", "x "),  # a blank inside the last argument stays
        (b"x ", "x"),  # a process that rewrote its arguments without the final NUL
        (b"\xe2\x82\0", "??"),
        (b"", ""),
    ],
)
def test_cmdline_text_follows_read_unvectored(raw, expected):
    assert cmdline_text(raw) == expected


def test_printable_marks_each_undecodable_byte():
    assert printable("a\nb\x7f\ufffd\ufffd") == "a?b???"
    assert printable("한글") == "한글"


@pytest.fixture
def zombie() -> Iterator[Callable[[bytes], int]]:
    children: list[int] = []

    def make(name: bytes = b"") -> int:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child only renames itself and exits
            if name:
                ctypes.CDLL(None).prctl(15, ctypes.c_char_p(name), 0, 0, 0)
            os._exit(0)
        children.append(pid)
        for _ in range(200):
            with open(f"/proc/{pid}/stat", "rb") as handle:
                if handle.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    return pid
            time.sleep(0.01)
        pytest.fail("the child did not become a zombie")

    yield make
    for pid in children:
        os.waitpid(pid, 0)


def test_kernel_thread_in_pmap_layout_equals_pmap():
    # kthreadd (PID 2) has no mm: pmap prints "[kthreadd]", its header and a zero total.
    assert _kernlab_pmap(2) == _pmap_x(2)


def test_zombie_in_pmap_layout_equals_pmap(zombie):
    pid = zombie(b"sweep-zombie")
    assert _kernlab_pmap(pid) == _pmap_x(pid)


def test_a_zombie_named_with_a_newline_gives_one_error_line(zombie):
    pid = zombie(b"two\nlines")
    result = run_kernlab("vtop", str(pid), "0x1000")
    assert_clean_error(result, 4)
    assert "two?lines" in result.stderr


def _ps_comm(pid: int) -> str:
    need_tool("ps")
    out = subprocess.run(["ps", "-o", "comm=", "-p", str(pid)], capture_output=True, env=_UTF8)
    return out.stdout.decode().strip()


@pytest.mark.parametrize(
    "name",
    [b"a\nb\tc", "ab한글한글한".encode(), "x한글한글한".encode()],
    ids=["control-characters", "cut-leaving-one-byte", "cut-leaving-two-bytes"],
)
def test_task_names_print_as_ps_prints_them(holder, name):
    # The kernel keeps 15 bytes of a name: a multi-byte character can be cut in two.
    held = holder(name=name)
    expected = _ps_comm(held.pid)
    raw = subprocess.run(
        [sys.executable, "-m", "kernlab", "ps", "--pid", str(held.pid), "--quiet"], capture_output=True
    ).stdout
    rows = raw.decode().splitlines()  # strict: valid UTF-8
    assert len(rows) == 2, rows  # the header and one row: no name breaks a line
    assert rows[1].endswith(" " + expected)
    document = subprocess.run(
        [sys.executable, "-m", "kernlab", "ps", "--pid", str(held.pid), "--json"], capture_output=True
    ).stdout
    comm = json.loads(document.decode())["processes"][0]["comm"]  # strict UTF-8, valid JSON
    assert printable(comm) == expected


def test_maps_all_json_is_valid_utf8_with_an_undecodable_name(holder):
    held = holder(name="x한글한글한".encode())
    raw = subprocess.run([sys.executable, "-m", "kernlab", "maps", "--all", "--json"], capture_output=True)
    assert raw.returncode == 0, raw.stderr
    document = json.loads(raw.stdout.decode())
    assert held.pid in {p["pid"] for p in document["processes"]}


def _thread_ids(pid: int) -> list[int]:
    return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid)


def test_a_thread_id_is_not_a_process_for_ps_but_its_process_for_pmap():
    need_tool("ps")
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        tid = thread.native_id
        assert tid is not None and tid != os.getpid()
        listed = subprocess.run(["ps", "-o", "pid=", "-p", str(tid)], capture_output=True, text=True)
        assert listed.stdout.strip() == ""  # ps lists no process with a thread's ID
        assert_clean_error(run_kernlab("ps", "--pid", str(tid)), 4)
        ours = _kernlab_pmap(tid).splitlines()
        pmap = _pmap_x(tid).splitlines()
        # pmap reads the thread group: the first line names the process, not the thread.
        assert ours[0].split(":")[0] == pmap[0].split(":")[0] == str(os.getpid())
    finally:
        stop.set()
        thread.join()


_ZOMBIE_LEADER = r"""
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void *wait_stdin(void *arg) { char c; (void)arg; return (void *)(long)read(0, &c, 1); }
int main(void) {
    pthread_t t;
    pthread_create(&t, 0, wait_stdin, 0);
    printf("ready\n");
    fflush(stdout);
    pthread_exit(0);
}
"""


def test_a_dead_main_thread_is_explained_and_equals_pmap(build_c):
    exe = build_c(_ZOMBIE_LEADER, flags=["-pthread"], out_name="zombie_leader")
    proc = subprocess.Popen([str(exe)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().startswith("ready")
        for _ in range(200):
            if Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                break
            time.sleep(0.01)
        assert _kernlab_pmap(proc.pid) == _pmap_x(proc.pid)
        told = run_kernlab("maps", str(proc.pid))
        assert told.code == 0 and "lives on in its other threads" in told.stdout
        assert_clean_error(run_kernlab("vtop", str(proc.pid), "0x1000"), 3)
    finally:
        proc.kill()
        proc.wait()


def test_shared_memory_is_not_called_a_deleted_file(holder):
    held = holder(maps=("shared_anon", "memfd"))
    pmap, ours = _same_twice(lambda: _pmap_x(held.pid), lambda: _kernlab_pmap(held.pid))
    assert pmap == ours
    for what, words in (("shared_anon", "shared anonymous memory"), ("memfd", 'memfd "sweep memfd"')):
        result = run_kernlab("vtop", str(held.pid), hex(held.where[what]))
        assert result.code == 0, result.stderr
        summary = next(line for line in result.stdout.splitlines() if line.startswith("→ 0x"))
        assert words in summary and "file offset" not in summary
        assert "(file deleted)" not in result.stdout
    maps = run_kernlab("maps", str(held.pid), "--json").json()
    kinds = {v["memory_object"] for v in maps["vmas"] if v["memory_object"]}  # type: ignore[index]
    assert kinds == {"shared_anon", "memfd"}


@pytest.fixture
def huge_pages() -> Iterator[None]:
    """Two free hugetlb pages for the test, reserved as root when none are, given back after."""
    if "HugePages_Free" not in Path("/proc/meminfo").read_text():
        pytest.skip("this kernel has no hugetlb support")
    knob = Path("/proc/sys/vm/nr_hugepages")
    before = knob.read_text().strip()
    free = int(re.search(r"HugePages_Free:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
    if free >= 2 or os.geteuid() != 0:
        yield
        return
    try:
        knob.write_text(str(int(before) + 2 - free))
    except OSError as exc:
        pytest.skip(f"cannot reserve hugetlb pages: {exc.strerror}")
    try:
        yield
    finally:
        knob.write_text(before)


def test_hugetlb_pages_are_explained_and_totals_equal_pmap(holder, huge_pages):
    held = holder(maps=("hugetlb",))
    pmap, ours = _same_twice(lambda: _pmap_x(held.pid), lambda: _kernlab_pmap(held.pid))
    assert pmap == ours  # pmap's RSS leaves hugetlb pages out, and so does kernlab's
    smaps = Path(f"/proc/{held.pid}/smaps").read_text()
    hugetlb = sum(
        int(line.split()[1])
        for line in smaps.splitlines()
        if line.startswith(("Private_Hugetlb:", "Shared_Hugetlb:"))
    )
    document = run_kernlab("maps", str(held.pid), "--json").json()
    assert document["hugetlb"] == hugetlb > 0  # type: ignore[index]
    told = run_kernlab("maps", str(held.pid), "--no-picture").stdout
    assert f"{hugetlb:,} KiB is in hugetlb pages" in told
    result = run_kernlab("vtop", str(held.pid), hex(held.where["hugetlb"]))
    assert result.code == 0 and "anonymous hugetlb memory" in result.stdout
    assert "in page cache" not in result.stdout  # mincore cannot tell for hugetlbfs


def test_a_file_named_deleted_is_not_taken_for_a_deleted_file(holder, tmp_path):
    named = tmp_path / "kept (deleted)"
    gone = tmp_path / "really-gone"
    for path in (named, gone):
        path.write_bytes(b"k" * 8192)
    held = holder(maps=(f"file:{named}", f"file:{gone}"))
    vmas = run_kernlab("maps", str(held.pid), "--json").json()["vmas"]  # type: ignore[index]
    by_name = {v["name"]: v for v in vmas}
    kept = by_name[str(named)]
    assert (kept["deleted"], kept["path"]) == (False, str(named))
    removed = by_name[f"{gone} (deleted)"]
    assert (removed["deleted"], removed["path"]) == (True, str(gone))
    shown = run_kernlab("vtop", str(held.pid), hex(held.where[named.name.replace(" ", "_")]))
    assert shown.code == 0 and "(file deleted)" not in shown.stdout
    pmap, ours = _same_twice(lambda: _pmap_x(held.pid), lambda: _kernlab_pmap(held.pid))
    assert pmap == ours


def test_thousands_of_mappings_equal_pmap_and_list_fast(holder):
    held = holder(maps=("many:3000",))
    started = time.monotonic()
    pmap, ours = _same_twice(lambda: _pmap_x(held.pid), lambda: _kernlab_pmap(held.pid))
    assert pmap == ours and len(ours.splitlines()) > 6000
    pages = run_kernlab("vtop", str(held.pid), "--all")
    assert pages.code == 0, pages.stderr
    vma_count = len(Path(f"/proc/{held.pid}/maps").read_text().splitlines())
    # One table row and one presence strip per VMA (a rich table took minutes at 60,000).
    assert len(pages.stdout.splitlines()) > 2 * vma_count - 10
    human = run_kernlab("maps", str(held.pid))
    assert human.code == 0 and f"{vma_count} VMAs" in human.stdout.splitlines()[1]
    assert time.monotonic() - started < 30


def test_markup_in_names_and_paths_is_printed_not_parsed(holder, tmp_path):
    held = holder(name=b"x[/b]y[red]")
    for argv in (("maps", str(held.pid), "--no-picture"), ("vtop", str(held.pid), "--vma", "0")):
        result = run_kernlab(*argv)
        assert result.code == 0 and "Traceback" not in result.stderr, result.stderr
        assert "(x[/b]y[red])" in result.stdout
    folder = tmp_path / "a[" / "b]"
    folder.mkdir(parents=True)
    saved = folder / "meminfo"  # the path holds "[/b]", a rich closing tag
    saved.write_text(Path("/proc/meminfo").read_text())
    result = run_kernlab("mem", "--meminfo-file", str(saved), "--meminfo")
    assert result.code == 0, result.stderr
    assert f"from {saved}" in result.stdout


def test_user_id_out_of_range_is_refused_as_ps_refuses_it():
    need_tool("ps")
    refused = subprocess.run(["ps", "-u", "4294967295", "-o", "pid="], capture_output=True, text=True)
    assert refused.returncode != 0 and "range" in refused.stderr
    assert_clean_error(run_kernlab("ps", "--user", "4294967295"), 3)
    assert_clean_error(run_kernlab("ps", "--user", "99999999999"), 3)
    nobody = subprocess.run(["ps", "-u", "4294967294", "-o", "pid="], capture_output=True, text=True)
    ours = run_kernlab("ps", "--user", "4294967294", "--json")
    assert ours.code == 0
    assert [p["pid"] for p in ours.json()["processes"]] == [int(x) for x in nobody.stdout.split()]  # type: ignore[index]


@pytest.mark.parametrize("pid", ["\u0663", "\uff11"], ids=["arabic-indic-3", "fullwidth-1"])
def test_digits_of_other_scripts_are_not_a_pid(pid):
    # str.isdigit() accepts them and int() reads them as 3 and 1: kthreads that exist.
    for argv in (("maps", pid), ("ps", "--pid", pid), ("vtop", pid, "0x1000")):
        assert_clean_error(run_kernlab(*argv), 3)
