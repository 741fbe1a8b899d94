"""Errors of record, report, replay, faults, syscalls, dump, graph, sql, ldd, elf and kernel --image,
said in the language asked for, with the same exit code in both.

Each CLI case runs the real command on a bad input the way a learner would meet it: no command
to record, a command that is not there or not executable, a PID that has exited, a recording
directory that is missing, empty, too new or cut short, an unknown event group or system-call
name, options that exclude each other, a truncated ELF, a file that is not a kernel image. Under
``--lang ko`` the one stderr line is Korean (Hangul, no run of three English words outside names,
paths and code); under ``--lang en`` it is the English text the error has always had; the exit
code is errors.py's for that kind of error, in both.

In-process cases check the other half of the contract on readers the CLI reaches only with
damaged files (an ld.so cache, ELF headers, a ring-buffer header): the English catalog sentence
filled with the error's fields is word for word ``str(error)``, so the two can never drift.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernlab import catalog
from kernlab.errors import BadInput, KernlabError, NoSuchProcess
from kernlab.explain.errors import message
from tests.cli.test_errors_ko import HANGUL, _check, english_runs
from tests.conftest import run_kernlab
from tests.recording.rec_util import need_tracing


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("errors_ko_recording")
    text = base / "notes.txt"
    text.write_text("plain text, no ELF magic\n")
    truncated = base / "truncated.elf"
    truncated.write_bytes(b"\x7fELF\x02\x01\x01")  # the identification cut after 7 of 16 bytes
    script = base / "not_executable.sh"
    script.write_text("echo hi\n")
    script.chmod(0o644)
    empty = base / "empty"
    empty.mkdir()
    other = base / "other"
    other.mkdir()
    (other / "keep.txt").write_text("a user's file\n")
    too_new = base / "too_new"
    too_new.mkdir()
    (too_new / "meta.json").write_text(json.dumps({"format_version": 10**6}))
    return {
        "base": base,
        "text": text,
        "truncated": truncated,
        "script": script,
        "empty": empty,
        "other": other,
        "too_new": too_new,
    }


@pytest.fixture(scope="module")
def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    if Path(f"/proc/{proc.pid}").exists():
        pytest.skip(f"PID {proc.pid} was reused before the test could use it")
    return proc.pid


# --------------------------------------------------------------------------- record


def test_record_with_nothing_to_record(files):
    _check(["record", "-d", str(files["base"] / "r")], BadInput.exit_code, "nothing to record")


def test_record_function_filters_without_functions(files):
    _check(
        ["record", "-F", "main", "-d", str(files["base"] / "r"), "--", "true"],
        BadInput.exit_code,
        "add --functions",
    )


def test_record_a_command_not_on_path(files):
    _check(
        ["record", "-d", str(files["base"] / "r"), "--", "no-such-command-kernlab"],
        BadInput.exit_code,
        "command not found on PATH",
    )


def test_record_a_file_that_is_not_executable(files):
    _check(
        ["record", "-d", str(files["base"] / "r"), "--", str(files["script"])],
        BadInput.exit_code,
        "is not executable",
    )


def test_record_a_directory_as_the_command(files):
    _check(
        ["record", "-d", str(files["base"] / "r"), "--", str(files["empty"])],
        BadInput.exit_code,
        "not a program",
    )


def test_record_an_unknown_event_group(files):
    _check(
        ["record", "-d", str(files["base"] / "r"), "-e", "nosuchgroup", "--", "true"],
        BadInput.exit_code,
        "unknown event group",
    )


def test_record_into_a_file(files):
    _check(["record", "-d", str(files["text"]), "--", "true"], BadInput.exit_code, "is not a directory")


def test_record_into_a_folder_of_other_files(files):
    _check(
        ["record", "-d", str(files["other"]), "--", "true"], BadInput.exit_code, "is not a kernlab recording"
    )
    assert (files["other"] / "keep.txt").exists()  # refused, not emptied


def test_record_a_dead_pid(files, dead_pid):
    _check(
        ["record", "-d", str(files["base"] / "r"), "-p", str(dead_pid)],
        NoSuchProcess.exit_code,
        f"no process with PID {dead_pid}",
    )


def test_record_pid_zero(files):
    _check(["record", "-d", str(files["base"] / "r"), "-p", "0"], BadInput.exit_code, "is not a process ID")


# --------------------------------------------------------------------------- reading a recording


@pytest.mark.parametrize("command", ["report", "replay", "faults", "syscalls", "graph"])
def test_no_recording_there(files, command):
    _check([command, "-d", str(files["base"] / "missing")], BadInput.exit_code, "no recording at")


def test_dump_of_no_recording(files):
    _check(
        ["dump", "-d", str(files["base"] / "missing"), "--text", "-"], BadInput.exit_code, "no recording at"
    )


@pytest.mark.parametrize("command", ["report", "syscalls"])
def test_a_folder_that_is_no_recording(files, command):
    _check([command, "-d", str(files["empty"])], BadInput.exit_code, "not a kernlab recording")


def test_a_file_given_as_the_recording(files):
    _check(["report", "-d", str(files["text"])], BadInput.exit_code, "is not a directory")


def test_a_recording_from_a_newer_kernlab(files):
    _check(["report", "-d", str(files["too_new"])], BadInput.exit_code, "upgrade kernlab")


def test_faults_of_an_unknown_area_kind(files):
    _check(
        ["faults", "--vma", "bogus", "-d", str(files["base"] / "missing")],
        BadInput.exit_code,
        "not an area kind",
    )


def test_dump_with_nothing_to_write(files):
    _check(["dump", "-d", str(files["base"] / "missing")], BadInput.exit_code, "say what to write")
    _check(
        ["dump", "-d", str(files["base"] / "missing"), "--text", "-", "--folded", "-"],
        BadInput.exit_code,
        "can go to stdout",
    )


def test_sql_over_a_folder_that_is_no_export(files):
    _check(
        ["sql", "select 1", "--parquet", str(files["other"])],
        BadInput.exit_code,
        "not a kernlab Parquet export",
    )


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """One recording of `true` without --functions, made once for the module."""
    need_tracing()
    directory = tmp_path_factory.mktemp("errors_ko_rec") / "rec"
    result = run_kernlab("record", "-d", str(directory), "--", "true", timeout=300)
    assert result.code == 0, result
    return directory


def test_syscalls_of_a_name_no_kernel_has(recording):
    _check(
        ["syscalls", "-d", str(recording), "-e", "nosuchcall"],
        BadInput.exit_code,
        "no system call named nosuchcall",
    )


def test_report_sort_key_that_does_not_exist(recording):
    _check(["report", "-d", str(recording), "-s", "bogus"], BadInput.exit_code, "sort keys are")


def test_dump_chrome_of_a_recording_without_functions(recording, tmp_path):
    _check(
        ["dump", "-d", str(recording), "--chrome", str(tmp_path / "t.json")],
        BadInput.exit_code,
        "has no call tree",
    )
    assert not (tmp_path / "t.json").exists()


def test_a_recording_cut_short(recording, tmp_path):
    """A recording without its raw pages (what a full disk or a copy cut short leaves)."""
    broken = tmp_path / "broken"
    shutil.copytree(recording, broken)
    for raw in (broken / "cpus").glob("cpu*.raw"):
        raw.unlink()
    _check(["report", "-d", str(broken)], BadInput.exit_code, "the recording is incomplete")
    (broken / "header_page").unlink()
    _check(["report", "-d", str(broken)], BadInput.exit_code, "has no header_page")


# --------------------------------------------------------------------------- files and options


def test_ldd_of_a_text_file(files):
    _check(["ldd", str(files["text"])], BadInput.exit_code, "needs no shared libraries")


def test_ldd_and_elf_of_a_truncated_elf(files):
    # Both commands say the reader's own line about the same bad file.
    for command in ("ldd", "elf"):
        _check(
            [command, str(files["truncated"])],
            BadInput.exit_code,
            "truncated ELF identification (7 of 16 bytes)",
        )


def test_kernel_image_that_is_no_kernel(files):
    _check(["kernel", "--image", str(files["text"])], BadInput.exit_code, "not a Linux kernel image")
    true = shutil.which("true")
    assert true is not None
    _check(["kernel", "--image", true], BadInput.exit_code, "an ELF file, but not a Linux kernel")
    _check(["kernel", "--system-map", str(files["text"])], BadInput.exit_code, "goes with --image")


@pytest.mark.parametrize(
    ("args", "english"),
    [
        (["maps", "1", "--all"], "not both"),
        (["maps"], "which process?"),
        (["vtop", "self"], "give an ADDRESS"),
        (["syscall"], "give a system call NAME or NUMBER"),
        (["syscall", "--list", "read"], "--list takes no CALL"),
        (["syscall", "--errno", "EPERM", "read"], "--errno takes no CALL"),
        (["tour", "--no-trace", "--step", "nosuchstep"], "no step 'nosuchstep'"),
    ],
)
def test_options_that_do_not_go_together(args, english):
    _check(args, BadInput.exit_code, english)


@pytest.mark.parametrize(
    ("args", "english"),
    [
        (["record", "-a", "--", "true"], "-a records the whole system"),
        (["record", "-p", "1", "--", "true"], "not both"),
        (["record", "--duration", "1", "--", "true"], "--duration applies to -p PID or -a"),
        (["record", "-a", "--duration", "-1"], "--duration must be a positive number"),
        (["record", "-a", "--functions", "--duration", "1"], "--functions probes one program"),
        (["record", "--buffer-size", "1", "--", "true"], "--buffer-size must be at least 4 KiB"),
    ],
)
def test_record_options_that_do_not_go_together(args, english, tmp_path):
    _check([*args[:1], "-d", str(tmp_path / "rec"), *args[1:]], BadInput.exit_code, english)


def test_disasm_options_that_do_not_go_together():
    true = shutil.which("true")
    assert true is not None
    _check(["disasm", true, "--length", "4"], BadInput.exit_code, "--length goes with --address")
    _check(["disasm", true, "main", "--address", "0x1000"], BadInput.exit_code, "not both")


# --------------------------------------------------------------------------- in process


def _said(error: KernlabError) -> tuple[str, str]:
    """(the English catalog sentence filled with the error's fields, the Korean line)."""
    assert error.key is not None, error
    try:
        catalog.set_language("en")
        fields = {
            name.removesuffix("_key") if name.endswith("_key") else name: (
                catalog.say(value) if name.endswith("_key") and isinstance(value, str) else value
            )
            for name, value in error.fields.items()
        }
        english = catalog.say(error.key, **fields)
        catalog.set_language("ko")
        korean = message(error)
    finally:
        catalog.set_language("en")
    return english, korean


def _same_in_both(error: KernlabError) -> None:
    english, korean = _said(error)
    assert english == str(error)
    assert HANGUL.search(korean), korean
    assert english_runs(korean) == [], korean


def _raised(call, *args, **kwargs) -> KernlabError:
    with pytest.raises(KernlabError) as info:
        call(*args, **kwargs)
    return info.value


def test_damaged_ld_so_caches(tmp_path):
    from kernlab.elf.ldcache import NEW_MAGIC, OLD_MAGIC, parse_ld_cache, read_ld_cache

    _same_in_both(_raised(parse_ld_cache, b"not a cache at all", "/x/ld.so.cache"))
    _same_in_both(_raised(parse_ld_cache, NEW_MAGIC + b"\0" * 4, "/x/ld.so.cache"))
    _same_in_both(_raised(parse_ld_cache, OLD_MAGIC + b"\0" * 4, "/x/ld.so.cache"))
    many = OLD_MAGIC + b"\0" * (12 - len(OLD_MAGIC)) + (1000).to_bytes(4, "little")
    error = _raised(parse_ld_cache, many, "/x/ld.so.cache")
    assert "says 1000 entries" in str(error)
    _same_in_both(error)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    _same_in_both(_raised(read_ld_cache, str(fifo)))


def test_damaged_elf_headers(tmp_path):
    """Headers cut or bent the ways readelf reports: each error is the same sentence in both."""
    from kernlab.elf.headers import RawElf

    true = Path(shutil.which("true") or "/bin/true").read_bytes()
    cases = {
        "class": true[:4] + b"\x07" + true[5:],
        "order": true[:5] + b"\x09" + true[6:],
        "header": true[:40],
        "sections": true[: len(true) // 2],
    }
    for data in cases.values():
        _same_in_both(_raised(RawElf, "/x/prog", data))


def test_ring_buffer_header_sizes():
    from kernlab.tracing.formats import HeaderPage
    from kernlab.tracing.ringbuf import decode_pages

    def header(timestamp_size: int, page_size: int) -> HeaderPage:
        return HeaderPage(0, timestamp_size, 8, 8, 16, page_size - 16, "")

    _same_in_both(_raised(decode_pages, b"\0" * 4096, header(4, 4096)))
    _same_in_both(_raised(decode_pages, b"\0" * 4096, header(8, 4096), 0, 8))


def test_export_targets(tmp_path):
    from kernlab.recording.export.atomic import atomic_output

    def into_a_directory() -> None:
        with atomic_output(tmp_path, "the trace.dat", binary=True):
            pass

    error = _raised(into_a_directory)
    _same_in_both(error)
    _, korean = _said(error)
    assert "trace.dat 파일" in korean  # the file's kind is said in Korean too


def test_record_filters_and_library_specs():
    from kernlab.recording.functions import _parse_lib_options, compile_filters
    from kernlab.recording.spawn import check_attachable

    _same_in_both(_raised(_parse_lib_options, ["libc"]))
    _same_in_both(_raised(check_attachable, os.getpid()))
    # The reason is Python's own (re.error, in English): the sentence around it is Korean.
    english, korean = _said(_raised(compile_filters, ["("], "-F"))
    assert english.startswith("-F '(' is not a regular expression: ")
    assert korean.startswith("-F '('는 정규 표현식이 아닙니다: "), korean


def test_interrupted_and_refused_are_said_in_both():
    import errno
    import signal

    from kernlab.recording.signals import RecordingInterrupted
    from kernlab.tracing.bpf import BpfRefused

    _same_in_both(RecordingInterrupted(signal.SIGINT))
    # EACCES: the verifier's refusal. The reason in parentheses is the C library's strerror,
    # English in every language, as in every error that carries an OS reason.
    _same_in_both(BpfRefused("BPF_PROG_LOAD", errno.EACCES))


@pytest.fixture
def zombie() -> Iterator[int]:
    """A child that has exited and is not reaped: a zombie until the fixture waits for it."""
    proc = subprocess.Popen(["true"])
    for _ in range(200):
        state = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        if state == "Z":
            break
        os.sched_yield()
        subprocess.run(["sleep", "0.01"], check=False)
    try:
        yield proc.pid
    finally:
        proc.wait()


def test_record_a_zombie(zombie):
    from kernlab.recording.spawn import check_attachable

    error = _raised(check_attachable, zombie)
    assert isinstance(error, NoSuchProcess) and "zombie" in str(error)
    _same_in_both(error)
