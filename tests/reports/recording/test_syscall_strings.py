"""Path strings (captured with BPF during `kernlab record`) and flag decoding, against strace's
own output for the same programs: ls, cat, mv -n (renameat2 RENAME_NOREPLACE) and a C program
that calls mmap/mprotect/openat/fcntl/renameat2/... with many flag sets."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from kernlab.recording.path_strings import (
    DATA_FILE,
    STATUS_FILE,
    PathStrings,
    StringRecord,
    exec_user_name,
    read_path_strings,
)
from kernlab.reports import syscalls
from kernlab.reports.recording.syscall_args import StringMatcher, quote_string
from tests.conftest import need_tool, run_kernlab
from tests.recording.rec_util import global_state, need_tracing

CALLS = [
    "openat",
    "mmap",
    "mprotect",
    "fcntl",
    "lseek",
    "faccessat",
    "faccessat2",
    "access",
    "mkdirat",
    "renameat2",
    "unlinkat",
    "execve",
]


def _split_top(args: str) -> list[str]:
    parts, depth, cur, quote = [], 0, "", False
    prev = ""
    for ch in args:
        if ch == '"' and prev != "\\":
            quote = not quote
        if not quote and ch in "([{":
            depth += 1
        if not quote and ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0 and not quote:
            parts.append(cur.strip())
            cur = ""
            prev = ch
            continue
        cur += ch
        prev = "" if prev == "\\" and ch == "\\" else ch
    parts.append(cur.strip())
    return parts


def _strace(argv: list[str], cwd: Path, out: Path) -> dict[str, list[list[str]]]:
    strace = need_tool("strace")
    subprocess.run(
        [strace, "-f", "-qq", "-e", "trace=" + ",".join(CALLS), "-o", str(out), *argv],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    calls: dict[str, list[list[str]]] = {}
    for line in out.read_text().splitlines():
        m = re.match(r"^(?:\d+\s+)?(\w+)\((.*)\)\s+= ", line)
        if m:
            calls.setdefault(m.group(1), []).append(_split_top(m.group(2)))
    return calls


def _ours(directory: Path) -> dict[str, list[list[str]]]:
    report = syscalls.build(directory, names=set(CALLS) & _known(directory))
    calls: dict[str, list[list[str]]] = {}
    for ln in report.lines:
        values = [part.split("=", 1)[1] for part in _split_top(ln.args_text)]
        calls.setdefault(ln.name, []).append(values)
    return calls


def _known(directory: Path) -> set[str]:
    from kernlab.recording.reader import open_recording
    from kernlab.recording.syscall_names import syscall_namer

    return set(syscall_namer(open_recording(directory).meta.machine).values())


def _is_address(text: str) -> bool:
    return text.startswith("0x") and len(text) > 8  # pointers differ between runs (ASLR)


def _compare(
    ours: dict[str, list[list[str]]], theirs: dict[str, list[list[str]]], skip_first_execve: bool
) -> int:
    compared = 0
    for name, their_calls in theirs.items():
        mine = ours.get(name, [])
        if name == "execve":
            # strace prints argv/envp arrays; kernlab the pointers: compare the file name only
            mine = [m[:1] for m in mine]
            their_calls = [t[:1] for t in their_calls]
        assert len(mine) == len(their_calls), (name, mine, their_calls)
        for m, t in zip(mine, their_calls, strict=True):
            assert len(m) == len(t), (name, m, t)
            for a, b in zip(m, t, strict=True):
                if _is_address(a) and _is_address(b):
                    continue
                assert a == b, (name, m, t)
                compared += 1
    return compared


@pytest.fixture(scope="module")
def sys_flags(tmp_path_factory) -> Path:
    from tests.conftest import PROGRAMS, compile_c

    out = tmp_path_factory.mktemp("prog") / "sys_flags"
    return compile_c(PROGRAMS / "sys_flags.c", out, ["-O1"])


def _record_and_compare(tmp_path: Path, argv: list[str], setup) -> None:
    need_tracing()
    before = global_state()
    ours_dir, theirs_dir = tmp_path / "ours", tmp_path / "theirs"
    for d in (ours_dir, theirs_dir):
        d.mkdir(parents=True)
        setup(d)
    result = run_kernlab("record", "-q", "-d", str(tmp_path / "rec"), "--", *argv, cwd=ours_dir)
    assert result.code == 0, result.stderr
    assert global_state() == before  # the BPF capture touches no tracefs setting
    status = read_path_strings(tmp_path / "rec")
    assert status.captured and status.records, (tmp_path / "rec" / STATUS_FILE).read_text()
    theirs = _strace(argv, theirs_dir, tmp_path / "strace.txt")
    assert _compare(_ours(tmp_path / "rec"), theirs, True) > 0


def test_ls_cat_and_mv_match_strace(tmp_path):
    _record_and_compare(tmp_path / "ls", ["ls", "-la", "/usr"], lambda d: None)
    _record_and_compare(tmp_path / "cat", ["cat", "/etc/hostname", "/etc/os-release"], lambda d: None)

    def two_files(d: Path) -> None:
        (d / "a").write_text("a")

    _record_and_compare(tmp_path / "mv", ["mv", "-n", "a", "b"], two_files)
    listing = syscalls.build(tmp_path / "mv" / "rec", names={"renameat2"})
    line = listing.lines[-1]
    assert line.args_text.endswith('oldname="a", newdfd=AT_FDCWD, newname="b", flags=RENAME_NOREPLACE')
    assert line.strings == {"oldname": "a", "newname": "b"}
    assert listing.path_strings.status == "captured"


def test_perf_event_capture_where_raw_tracepoints_cannot_run_matches_strace(tmp_path):
    """The other way in (another architecture, or a kernel refusing raw tracepoint programs): the
    enter and exit programs on raw_syscalls through perf events, the exec name bound to its call."""
    need_tracing()
    argv = ["sh", "-c", "cat /etc/hostname /nonexistent; exec ls -d /usr"]
    rec = tmp_path / "rec"
    code = (
        "import sys, kernlab.recording.path_strings as p; p.REGS_LAYOUTS.clear(); "
        "from kernlab.cli.main import main; sys.argv = ['kernlab'] + sys.argv[1:]; main()"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, "record", "-q", "-d", str(rec), "--", *argv],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode in (0, 1), run.stderr  # cat's missing file: status 1
    status = json.loads((rec / STATUS_FILE).read_text())
    assert status["captured"] and status["attach"] == "perf_tracepoint", status
    theirs = _strace(argv, tmp_path, tmp_path / "strace.txt")
    assert _compare(_ours(rec), theirs, True) > 0


def test_c_program_with_many_flag_sets_matches_strace(tmp_path, sys_flags):
    _record_and_compare(tmp_path, [str(sys_flags), "."], lambda d: None)
    ours = _ours(tmp_path / "rec")
    # the odd file name is quoted byte for byte as strace quotes it
    assert any(c[1] == r'"missing/\"odd\"\tname\303\251"' for c in ours["openat"])


def test_names_on_untouched_pages_cost_the_program_no_fault(tmp_path):
    """Reading a path string must never fault in the traced task: a page that is not present
    makes even a nofault read trap, and the trap is traced as the program's kernel-mode fault
    though getrusage does not count it. Every name here lives on a page of a file mapping the
    program never touched (one name per 128 KiB, past fault-around): the strings still match
    strace (openat, a failed and a successful execve, names across and at page ends), the
    recording's faults equal the program's getrusage, each name's page has exactly the one
    fault of the kernel's own copy, and the name the kernel never copied (readlinkat refused
    with EINVAL first) was not read: its page has no fault at all."""
    from kernlab.recording.reader import open_recording
    from kernlab.reports.recording.fault_events import fault_records
    from kernlab.reports.recording.syscall_calls import iter_calls
    from tests.conftest import PROGRAMS, compile_c

    need_tracing()
    prog = compile_c(PROGRAMS / "rec_untouched_paths.c", tmp_path / "rec_untouched_paths", ["-O1"])
    ours_dir, theirs_dir, rec_dir = tmp_path / "ours", tmp_path / "theirs", tmp_path / "rec"
    ours_dir.mkdir()
    theirs_dir.mkdir()
    # A small environment: each execve copies its arguments and environment into the new
    # stack through get_user_pages, faults getrusage counts but no exception (nothing traced
    # can see): one page per execve here, allowed for below.
    env = {k: os.environ[k] for k in ("PATH", "PYTHONPATH") if k in os.environ}
    before = global_state()
    proc = subprocess.run(
        [sys.executable, "-m", "kernlab", "record", "-q", "-d", str(rec_dir), "--", str(prog), "."],
        cwd=ours_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert global_state() == before
    theirs = _strace([str(prog), "."], theirs_dir, tmp_path / "strace.txt")
    assert _compare(_ours(rec_dir), theirs, True) > 0

    faults = json.loads(run_kernlab("report", "-d", str(rec_dir), "--json").stdout)["faults"]
    own = faults["rusage_minflt"] + faults["rusage_majflt"] - (faults["faults_before_exec"] or 0)
    rec = open_recording(rec_dir)
    execs = [c for c in iter_calls(rec) if c.name == "execve" and c.ret == 0]
    assert len(execs) == 2  # kernlab's start of the program, and the program's own
    assert abs(own - len(execs) - faults["total"]) <= max(2, own // 100), faults

    listing = syscalls.build(rec_dir, names={"openat", "readlinkat", "execve"})
    names = {
        "created-0.txt",
        "missing/one",
        "crossing-name.txt",
        "ends-at-page-end.txt",
        "created-4.txt",
        "missing/five",
        "crossing-six.txt",
        "ends-seven.txt",
        "/nonexistent/exe",
        "/bin/true",
    }
    pointers = {}
    for ln in listing.lines:
        for arg, text in ln.strings.items():
            if text in names:
                pointers[text] = ln.args[1 if ln.name == "openat" else 0]
                assert arg in ("filename", "pathname")
    assert set(pointers) == names, sorted(pointers)
    (link,) = [ln for ln in listing.lines if ln.name == "readlinkat"]
    assert link.errno == "EINVAL" and not link.strings  # not read: shown as its address
    # Until the program's execve returns (the new program may map something where names were).
    cut = execs[-1].exit_ts or execs[-1].enter_ts or 0
    page = 4096
    per_page: dict[int, int] = {}
    for f in fault_records(rec):
        if f.kernel_mode and f.ts < cut:
            per_page[f.address // page] = per_page.get(f.address // page, 0) + 1
    assert per_page.get(link.args[1] // page, 0) == 0
    for text, pointer in pointers.items():
        assert per_page.get(pointer // page) == 1, (text, hex(pointer), per_page)


def test_quote_string_follows_strace():
    assert quote_string(b'a"b\\c') == r'"a\"b\\c"'
    assert quote_string(b"\x01" + b"7") == r'"\0017"'  # three digits before a digit
    assert quote_string(b"\x01x") == r'"\1x"'
    assert quote_string(b"abc", truncated=True) == '"abc"...'


def _rec(tid: int, ktime: int, nr: int, arg: int, pointer: int, text: bytes) -> StringRecord:
    return StringRecord(ktime, tid, tid, pointer, nr, arg, len(text) + 1, text)


def test_matcher_pairs_in_order_and_skips_what_the_trace_lacks():
    records = [
        _rec(7, 5, 257, 1, 0x1000, b"before-start"),  # before tracing was on: dropped by time
        _rec(7, 20, 257, 1, 0x2000, b"lost-in-trace"),  # the trace lost this call
        _rec(7, 30, 257, 1, 0x3000, b"second"),
        _rec(8, 31, 257, 1, 0x3000, b"other thread"),
        _rec(7, 40, 316, 1, 0x4000, b"old"),
        _rec(7, 40, 316, 3, 0x5000, b"new"),
    ]
    matcher = StringMatcher(PathStrings(True, True, records=records), start_ns=10)
    third = matcher.take(7, 257, (0xFFFFFF9C, 0x3000, 0))
    assert third is not None and third[1].data == b"second"
    assert matcher.take(8, 257, (0xFFFFFF9C, 0x3000, 0))[1].data == b"other thread"  # type: ignore[index]
    both = matcher.take(7, 316, (0, 0x4000, 0, 0x5000, 1))
    assert both is not None and (both[1].data, both[3].data) == (b"old", b"new")
    assert matcher.take(7, 257, (0, 0x1000, 0)) is None  # dropped as before the start
    assert (matcher.matched, matcher.unmatched) == (3, 1)


def test_unbound_exec_names_pair_with_the_threads_execs_after_a_failed_one():
    """The raw sys_exit capture reads a failed execve's name at its exit and sends a successful
    one's from sched_process_exec without its call (EXEC_UNBOUND): the reader takes pointer,
    argument and dirfd from the call in the trace, and strips an execveat's /dev/fd/N/ prefix."""
    execve, execveat = 59, 322
    failed = _rec(7, 10, execveat, 1, 0x2000, b"nosuch")
    unbound = [
        StringRecord(
            20, 7, 7, 0, 0, 0, len(b"/dev/fd/3/true") + 1, b"/dev/fd/3/true", exec_name=True, unbound=True
        ),
        StringRecord(30, 7, 7, 0, 0, 0, len(b"/bin/sh") + 1, b"/bin/sh", exec_name=True, unbound=True),
    ]
    matcher = StringMatcher(PathStrings(True, True, records=[failed, *unbound]), machine="x86_64")
    first = matcher.take(7, execveat, (3, 0x2000, 0, 0, 0))
    assert first is not None and first[1].data == b"nosuch"
    second = matcher.take(7, execveat, (3, 0x2010, 0, 0, 0))
    assert second is not None and (second[1].data, second[1].pointer, second[1].length) == (
        b"true",
        0x2010,
        5,
    )
    third = matcher.take(7, execve, (0x3000, 0, 0))
    assert third is not None and (third[0].data, third[0].pointer, third[0].nr) == (
        b"/bin/sh",
        0x3000,
        execve,
    )
    assert matcher.take(7, execve, (0x3000, 0, 0)) is None  # none left
    assert matcher.take(7, 257, (0, 0x1000, 0)) is None  # not an exec: never given an exec name


def test_path_strings_file_round_trip(tmp_path):
    """The file holds the ring buffer's own framing: 8-byte header, data, padding to 8 bytes."""
    header = struct.Struct("<QIIQiBBh")
    body = header.pack(1, 2, 3, 0x10, 257, 1, 0, 4) + b"abc\0"
    late = header.pack(5, 2, 3, 0x20, 257, 1, 1, 2) + b"x\0"
    discarded = header.pack(9, 9, 9, 0, 0, 0, 0, -14)
    raw = b""
    for payload, bits in ((body, 0), (discarded, 1 << 30), (late, 0)):
        raw += struct.pack("<II", len(payload) | bits, 0) + payload + b"\0" * (-len(payload) % 8)
    # not read (a call refused before its copy), and an execveat's name as the kernel kept it
    skipped = header.pack(6, 2, 3, 0x30, 267, 1, 1 | 2, 0)
    named = header.pack(7, 2, 3, 0x40, 322, 1, 4, 12) + struct.pack("<i", 5) + b"/dev/fd/5/x\0"
    for payload in (skipped, named):
        raw += struct.pack("<II", len(payload), 0) + payload + b"\0" * (-len(payload) % 8)
    (tmp_path / DATA_FILE).write_bytes(b"KLPSTR2\n" + raw)
    (tmp_path / STATUS_FILE).write_text('{"captured": true, "calls": 80}')
    got = read_path_strings(tmp_path)
    assert got.captured and got.calls == 80
    assert got.records == [
        StringRecord(1, 2, 3, 0x10, 257, 1, 4, b"abc"),
        StringRecord(5, 2, 3, 0x20, 257, 1, 2, b"x", at_exit=True),
        StringRecord(6, 2, 3, 0x30, 267, 1, 0, b"", at_exit=True, not_read=True),
        StringRecord(7, 2, 3, 0x40, 322, 1, 2, b"x", exec_name=True),
    ]


def test_exec_name_follows_alloc_bprm():
    """fs/exec.c alloc_bprm: the name as given for AT_FDCWD or an absolute name, else
    /dev/fd/N/NAME (/dev/fd/N for AT_EMPTY_PATH's ""); the name given back as strace shows it."""
    assert exec_user_name(b"/bin/true", -100) == b"/bin/true"
    assert exec_user_name(b"true", -100) == b"true"
    assert exec_user_name(b"/dev/fd/3/true", 3) == b"true"
    assert exec_user_name(b"/dev/fd/3", 3) == b""
    assert exec_user_name(b"/usr/bin/true", 3) == b"/usr/bin/true"
    assert exec_user_name(b"/dev/fd/31/x", 3) == b"/dev/fd/31/x"  # another fd's: absolute


def test_refused_capture_is_said_once(tmp_path):
    """Without CAP_BPF (an unprivileged user), the recorder's capture notes the refused step."""
    need_tracing()
    from kernlab.recording.path_strings import PathStringCapture

    nobody = 65534
    read_r, write_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # drop root, try the capture, report the status through the pipe
        try:
            os.close(read_r)
            os.setgroups([])
            os.setresgid(nobody, nobody, nobody)
            os.setresuid(nobody, nobody, nobody)
            cap = PathStringCapture(tmp_path, os.getpid())
            cap.start()
            os.write(write_w, f"{cap.status.get('captured')} {cap.status.get('refused_step', '')}".encode())
        finally:
            os._exit(0)
    os.close(write_w)
    answer = os.read(read_r, 200).decode()
    os.waitpid(pid, 0)
    os.close(read_r)
    captured, _, step = answer.partition(" ")
    assert captured == "False" and step, answer
