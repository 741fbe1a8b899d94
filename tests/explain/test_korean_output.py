"""`--lang ko`: the titles and labels the views print, and the errors users meet most, in Korean.

Every view is rendered from the fixed reports of tests/render/test_view_*.py (and, where it is
cheap, the CLI on this machine) with the language set to Korean, and no title or label of the
catalog's English side may appear in the output. Each converted error is raised as a reader
raises it and printed by the CLI's own main(): Korean with the same exit code, and the English
line word for word the error's text.
"""

from __future__ import annotations

import os
import string
from collections.abc import Callable, Iterator

import click
import pytest

from kernlab import catalog, errors, explain
from kernlab.cli import main as cli_main
from kernlab.fileio import file_error, stat_regular_file
from kernlab.proc.errors import proc_errors, require_process, resolve_pid
from kernlab.render.output import Output
from kernlab.render.views import doctor as doctor_view
from kernlab.render.views import elf as elf_view
from kernlab.render.views import ldd as ldd_view
from kernlab.render.views import maps as maps_view
from kernlab.render.views import mem as mem_view
from kernlab.render.views import pagecache as pagecache_view
from kernlab.render.views import ps as ps_view
from tests.render import (
    test_view_doctor,
    test_view_elf,
    test_view_ldd,
    test_view_maps,
    test_view_mem,
    test_view_pagecache,
    test_view_ps,
)

# The topics whose views take their titles from the catalog (`<topic>.view.*`).
TOPICS = ("common", "elf", "mem", "ps", "maps", "ldd", "pagecache", "doctor")


def _english_titles(topics: tuple[str, ...] = TOPICS) -> dict[str, list[str]]:
    """Each view key's literal English pieces (the text between its fields) that Korean changes.

    A single word ("kind", "kernel") could be part of the data; a piece counts when it has two
    words or more (single-word headings are checked table by table below).
    """
    english, korean = catalog.sentences("en"), catalog.sentences("ko")
    found: dict[str, list[str]] = {}
    for key, template in english.items():
        if key.split(".", 1)[0] not in topics or ".view." not in key or korean.get(key) == template:
            continue
        pieces = [lit.strip(" :;,()…") for lit, *_ in string.Formatter().parse(template)]
        kept = [p for p in pieces if len(p.split()) >= 2]
        if kept:
            found[key] = kept
    return found


@pytest.fixture
def korean() -> Iterator[None]:
    explain.set_language("ko")
    yield
    explain.set_language("en")


VIEWS: dict[str, Callable[[], None]] = {
    "elf": lambda: elf_view.show(test_view_elf.REPORT, Output()),
    "mem": lambda: mem_view.show(test_view_mem._report(), Output(), explain_columns=True),
    "ps": lambda: ps_view.show(test_view_ps.ps_report(), Output(), explain_columns=True),
    "ps --kthreads": lambda: ps_view.show_kthreads(test_view_ps.kthreads_report(), Output()),
    "maps": lambda: maps_view.show(test_view_maps.maps_report(), Output(), wide=True, columns=True),
    "ldd": lambda: ldd_view.show_table(test_view_ldd.REPORT, Output()),
    "ldd --tree": lambda: ldd_view.show_tree(test_view_ldd.REPORT, Output()),
    "pagecache": lambda: pagecache_view.show(test_view_pagecache.report(), Output(), width=10),
    "doctor": lambda: doctor_view.show(test_view_doctor._report(), Output()),
}


def _leftovers(out: str) -> list[tuple[str, str]]:
    return [(key, piece) for key, pieces in _english_titles().items() for piece in pieces if piece in out]


def test_the_check_finds_the_english_titles(capsys):
    # In English every view prints its titles: the pieces looked for are the ones printed.
    for show in VIEWS.values():
        show()
    out = capsys.readouterr().out
    for key in ("elf.view.program_headers", "elf.view.section_to_segment", "mem.view.free_title"):
        assert any(k == key for k, _ in _leftovers(out)), key
    assert "Where each column comes from" in out


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_view_prints_no_english_title_in_korean(name, korean, capsys):
    VIEWS[name]()
    out = capsys.readouterr().out
    assert not _leftovers(out), _leftovers(out)
    assert any("\uac00" <= ch <= "\ud7a3" for ch in out)


def test_doctor_table_headings_are_korean(korean, capsys):
    doctor_view.show(test_view_doctor._report(), Output())
    out = capsys.readouterr().out
    heading = next(line for line in out.splitlines() if "tracefs" not in line and "영역" in line)
    for word in ("area", "feature", "works", "enables"):
        assert word not in heading.split(), heading


def test_tool_column_names_stay_as_the_tools_spell_them(korean, capsys):
    # readelf's Offset/VirtAddr, free's total/used, ps's VSZ/RSS are the tools' words, not prose.
    elf_view.show(test_view_elf.REPORT, Output())
    mem_view.show(test_view_mem._report(), Output())
    ps_view.show(test_view_ps.ps_report(), Output())
    out = capsys.readouterr().out
    for column in ("Offset", "VirtAddr", "FileSiz", "total", "used", "VSZ", "RSS"):
        assert column in out, column


CLI_COMMANDS = [
    ("mem", "--explain"),
    ("ps", "--kthreads"),
    ("maps", "self", "--explain"),
    ("ldd", "/bin/true"),
    ("pagecache", "/bin/true"),
    ("elf", "/bin/true"),
]


@pytest.mark.parametrize("args", CLI_COMMANDS, ids=" ".join)
def test_cli_prints_no_english_title_in_korean(kernlab, args):
    result = kernlab("--lang", "ko", *args)
    assert result.code == 0, result.stderr
    assert not _leftovers(result.stdout), _leftovers(result.stdout)
    english = kernlab(*args)
    assert english.code == 0, english.stderr
    assert _leftovers(english.stdout), "the English run prints the titles the Korean run must not"


# Errors: each raised as its reader raises it.


def _missing_file(tmp_path) -> errors.KernlabError:
    path = str(tmp_path / "absent")
    try:
        os.stat(path)
    except OSError as exc:
        return file_error(exc, path, "an ELF file")
    raise AssertionError("the file exists")


def _directory(tmp_path) -> errors.KernlabError:
    with pytest.raises(errors.BadInput) as info:
        stat_regular_file(str(tmp_path), "an ELF file")
    return info.value


def _permission(tmp_path) -> errors.KernlabError:
    return file_error(PermissionError(13, "Permission denied"), str(tmp_path / "secret"), "an ELF file")


def _cannot_read(tmp_path) -> errors.KernlabError:
    return file_error(OSError(5, "Input/output error"), str(tmp_path / "bad"), "an ELF file")


def _no_process(tmp_path) -> errors.KernlabError:
    pid = 2**22 + 1  # above pid_max's largest value (4194304): never a live process
    with pytest.raises(errors.NoSuchProcess) as info:
        require_process(pid)
    return info.value


def _bad_pid(tmp_path) -> errors.KernlabError:
    with pytest.raises(errors.BadInput) as info:
        resolve_pid("0x1000")
    return info.value


def _pid_zero(tmp_path) -> errors.KernlabError:
    with pytest.raises(errors.BadInput) as info:
        resolve_pid(0)
    return info.value


def _proc_needs_root(tmp_path) -> errors.KernlabError:
    with pytest.raises(errors.PermissionNeeded) as info, proc_errors(os.getpid(), "/proc/1/environ"):
        raise PermissionError(13, "Permission denied")
    return info.value


def _proc_missing_file(tmp_path) -> errors.KernlabError:
    with pytest.raises(errors.NotSupported) as info, proc_errors(os.getpid(), "/proc/self/smaps_rollup"):
        raise FileNotFoundError(2, "No such file or directory")
    return info.value


def _process_exited(tmp_path) -> errors.KernlabError:
    with pytest.raises(errors.NoSuchProcess) as info, proc_errors(2**22 + 1, "/proc/4194305/maps"):
        raise ProcessLookupError(3, "No such process")
    return info.value


ERRORS = {
    "no such file": (_missing_file, 3),
    "a directory": (_directory, 3),
    "permission denied": (_permission, 5),
    "cannot read": (_cannot_read, 3),
    "no such process": (_no_process, 4),
    "not a PID": (_bad_pid, 3),
    "PID 0": (_pid_zero, 3),
    "/proc needs root": (_proc_needs_root, 5),
    "/proc file missing": (_proc_missing_file, 6),
    "exited while read": (_process_exited, 4),
}


def _run_raising(monkeypatch, capsys, error: errors.KernlabError, *lang: str) -> tuple[int, str]:
    @click.command("boom")
    def boom() -> None:
        raise error

    monkeypatch.setattr(cli_main.LazyGroup, "get_command", lambda self, ctx, name: boom)
    try:
        with pytest.raises(SystemExit) as exit_info:
            cli_main.main([*lang, "boom"])
    finally:
        explain.set_language("en")
    return int(exit_info.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_is_korean_with_the_same_exit_code(monkeypatch, capsys, tmp_path, name):
    make, code = ERRORS[name]
    error = make(tmp_path)
    assert error.key is not None, "the error names its catalog sentence"
    english_code, english = _run_raising(monkeypatch, capsys, error)
    assert (english_code, english) == (code, f"kernlab: error: {error}\n")
    korean_code, korean = _run_raising(monkeypatch, capsys, error, "--lang", "ko")
    assert korean_code == code
    assert korean.startswith("kernlab: 오류: ") and korean.endswith("\n") and korean.count("\n") == 1
    message = korean.removeprefix("kernlab: 오류: ")
    assert any("\uac00" <= ch <= "\ud7a3" for ch in message), korean
    # No English prose left: the English sentence's own words are gone, except the fields' values
    # (paths, the OS's strerror text) and names ("ptrace").
    given = " ".join(str(v) for v in error.fields.values()).split()
    english_words = {
        w for w in str(error).replace(":", " ").split() if w.isalpha() and w.islower() and len(w) > 3
    } - {*given, "ptrace", "root", "self"}
    leftover = [w for w in english_words if w in message.replace("(", " ").replace(")", " ").split()]
    assert not leftover, (leftover, korean)


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_english_catalog_sentence_is_the_errors_own_text(tmp_path, name):
    """The catalog's English side says exactly what str(error) says: one wording, two places."""
    error = ERRORS[name][0](tmp_path)
    assert error.key is not None
    explain.set_language("ko")  # the key is said from the catalog only outside English
    try:
        catalog.set_language("en")
        fields = {
            k.removesuffix("_key"): catalog.say(v) if k.endswith("_key") else v
            for k, v in error.fields.items()
        }
        assert catalog.say(error.key, **fields) == str(error)
    finally:
        explain.set_language("en")


def test_an_error_without_a_key_stays_english_in_korean(monkeypatch, capsys):
    error = errors.NotSupported("no kprobes")
    code, err = _run_raising(monkeypatch, capsys, error, "--lang", "ko")
    assert (code, err) == (6, "kernlab: 오류: no kprobes\n")


def test_cli_missing_file_and_process_in_korean(kernlab, tmp_path):
    missing = kernlab("--lang", "ko", "elf", str(tmp_path / "absent"))
    assert missing.code == 3
    assert missing.stderr == f"kernlab: 오류: {tmp_path / 'absent'}: 그런 파일이 없습니다\n"
    english = kernlab("elf", str(tmp_path / "absent"))
    assert (english.code, english.stderr) == (3, f"kernlab: error: {tmp_path / 'absent'}: no such file\n")
    gone = kernlab("--lang", "ko", "maps", str(2**22 + 1))
    assert gone.code == 4
    assert gone.stderr == f"kernlab: 오류: PID {2**22 + 1}인 프로세스가 없습니다\n"
    assert kernlab("--json", "maps", str(2**22 + 1)).code in (2, 4)
