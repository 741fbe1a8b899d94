"""The recorder's notes as catalog keys (recording/notes.py): every key the recorder uses is in
both catalogs with the fields it is filled with, its English text is the English catalog's
sentence, meta.json keeps the English text beside the key, and a recording made before notes
had keys still loads and prints its notes as they were written."""

from __future__ import annotations

import ast
import json
import string
from pathlib import Path

import pytest
from rich.console import Console

from kernlab import catalog, explain
from kernlab.errors import BadInput, TracingError
from kernlab.explain import record as explain_record
from kernlab.recording import arming, kernel_paths, layout, notes
from kernlab.recording.layout import read_meta, write_meta
from kernlab.recording.notes import Note, note, per_call_syscalls_note
from kernlab.render import terminal
from kernlab.render.output import Output
from kernlab.render.views import record as view
from kernlab.reports.record import RecordReport
from tests.recording.rec_util import sample_meta as _meta

RECORDING = Path(layout.__file__).parent
ENGLISH = catalog.sentences("en")
KOREAN = catalog.sentences("ko")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def _note_calls() -> list[tuple[str, str, set[str], str]]:
    """(key, English template, keyword fields, where) of every ``note(...)`` call in the recorder."""
    found = []
    for path in sorted(RECORDING.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "note"
            ):
                continue
            where = f"{path.name}:{node.lineno}"
            assert len(node.args) == 2 and all(
                isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args
            ), f"{where}: note() takes a literal key and a literal English template"
            key, english = (a.value for a in node.args)  # type: ignore[attr-defined]
            fields = {k.arg for k in node.keywords if k.arg is not None}
            assert all(k.arg is not None for k in node.keywords), f"{where}: fields by name only"
            found.append((key, english, fields, where))
    return found


CALLS = _note_calls()


def test_the_scan_finds_the_recorders_notes():
    files = {where.split(":")[0] for *_, where in CALLS}
    assert {"finish.py", "follow.py", "kernel_paths.py", "session.py", "watcher.py", "functions.py"} <= files
    assert {"notes.py"} <= files  # the per-call system-call note
    assert len(CALLS) >= 30, CALLS


@pytest.mark.parametrize(("key", "english", "fields", "where"), CALLS, ids=[c[3] for c in CALLS])
def test_every_note_key_is_in_both_catalogs_with_its_fields(key, english, fields, where):
    assert key.startswith("record.note."), f"{where}: {key}"
    assert key in ENGLISH, f"{where}: {key} is not in catalog/en/record.toml"
    assert key in KOREAN, f"{where}: {key} is not in catalog/ko/record.toml"
    assert _fields(english) == fields, f"{where}: the template's fields are not the ones given"
    assert _fields(ENGLISH[key]) == fields, f"{where}: {key} has other fields in English"
    assert _fields(KOREAN[key]) == fields, f"{where}: {key} has other fields in Korean"
    # One English: meta.json's text is the sentence the English catalog says.
    assert ENGLISH[key] == english, f"{where}: {key} differs from catalog/en/record.toml"


def test_every_catalog_note_is_made_somewhere():
    used = {key for key, *_ in CALLS}
    listed = {key for key in ENGLISH if key.startswith("record.note.")}
    assert listed == used, {"never made": listed - used, "not listed": used - listed}


def _is_text(node: ast.expr) -> bool:
    """A string made in place: a literal, an f-string, a sum of them, or a comprehension of them."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _is_text(node.left) or _is_text(node.right)
    if isinstance(node, ast.IfExp):
        return _is_text(node.body) or _is_text(node.orelse)
    if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
        return _is_text(node.elt)
    if isinstance(node, (ast.List, ast.Tuple)):
        return any(_is_text(e) for e in node.elts)
    return False


class _Appends(ast.NodeVisitor):
    """``<x>.notes.append("…")`` / ``.extend(f"…" for …)`` / ``notes=[f"…"]``: a note made as
    English text rather than through note()."""

    def __init__(self) -> None:
        self.found: list[int] = []

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in ("append", "extend", "insert")
            and isinstance(func.value, ast.Attribute)
            and func.value.attr == "notes"
            and node.args
            and _is_text(node.args[-1])
        ):
            self.found.append(node.lineno)
        self.found.extend(node.lineno for k in node.keywords if k.arg == "notes" and _is_text(k.value))
        self.generic_visit(node)


def test_no_note_is_made_as_english_text():
    for path in sorted(RECORDING.glob("*.py")):
        finder = _Appends()
        finder.visit(ast.parse(path.read_text(encoding="utf-8")))
        assert not finder.found, f"{path.name}: lines {finder.found} append English text to notes"


GONE = note(
    "record.note.snapshot_gone",
    "no {when} maps snapshot of pid {pid}: it was already gone",
    when="exit",
    pid=4243,
)
FAULTS = note(
    "record.note.attached_faults",
    "page faults of pid {pid} while recorded (/proc/{pid}/stat): {minor} minor, {major} major",
    pid=4242,
    minor=12,
    major=0,
)


def test_meta_json_keeps_the_english_text_and_the_key_beside_it(tmp_path):
    meta = _meta()
    meta.add_note(GONE)
    meta.add_note(FAULTS)
    write_meta(tmp_path, meta)
    doc = json.loads((tmp_path / layout.META).read_text(encoding="utf-8"))
    # Older kernlab and other readers see the notes they always saw: English strings.
    assert doc["notes"] == [
        "no exit maps snapshot of pid 4243: it was already gone",
        "page faults of pid 4242 while recorded (/proc/4242/stat): 12 minor, 0 major",
    ]
    assert doc["note_phrases"][0] == {
        "key": "record.note.snapshot_gone",
        "fields": {"when": "exit", "pid": 4243},
        "text": "no exit maps snapshot of pid 4243: it was already gone",
    }
    again = read_meta(tmp_path)
    assert again.notes == meta.notes
    assert again.note_phrases == [GONE, FAULTS]


def _old_recording(tmp_path: Path) -> Path:
    """meta.json as kernlab wrote it before notes had keys: plain strings, no note_phrases."""
    write_meta(tmp_path, _meta())
    doc = json.loads((tmp_path / layout.META).read_text(encoding="utf-8"))
    del doc["note_phrases"]  # written by a kernlab from before notes had keys
    doc["notes"] = [
        "no exit maps snapshot of pid 4243: it was already gone",
        "pid 4242 faulted 12 minor and 0 major times while recorded (/proc/4242/stat)",
    ]
    (tmp_path / layout.META).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return tmp_path


@pytest.fixture
def natural_width(monkeypatch):
    console = Console(stderr=True, highlight=False, width=terminal.NATURAL_WIDTH, color_system=None)
    monkeypatch.setattr(terminal, "error_console", lambda: console)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_an_old_meta_json_with_plain_notes_loads_and_prints_them(tmp_path, natural_width, capsys, lang):
    meta = read_meta(_old_recording(tmp_path))
    assert meta.note_phrases == []
    assert meta.notes == [
        "no exit maps snapshot of pid 4243: it was already gone",
        "pid 4242 faulted 12 minor and 0 major times while recorded (/proc/4242/stat)",
    ]
    explain.set_language(lang)
    try:
        view.show(RecordReport(tmp_path, meta, 4096, 0.1), Output(quiet=True))
    finally:
        explain.set_language("en")
    label = "note" if lang == "en" else "참고"
    assert capsys.readouterr().err.endswith(
        f"  {label}: no exit maps snapshot of pid 4243: it was already gone\n"
        f"  {label}: pid 4242 faulted 12 minor and 0 major times while recorded (/proc/4242/stat)\n"
    )


def test_notes_are_worded_in_the_language_asked_for():
    meta = _meta()
    meta.add_note(GONE)
    meta.add_note(FAULTS)
    assert explain_record.notes(meta) == meta.notes
    explain.set_language("ko")
    try:
        said = explain_record.notes(meta)
    finally:
        explain.set_language("en")
    assert said == [
        "pid 4243의 exit maps 스냅숏이 없습니다: 프로세스가 이미 사라졌습니다",
        "기록하는 동안 pid 4242의 페이지 폴트(/proc/4242/stat)는 마이너 12번, 메이저 0번입니다",
    ]


def test_a_key_this_kernlab_lacks_or_fields_that_do_not_fit_say_the_english():
    """A recording made by another kernlab: its English text rather than an error."""
    unknown = Note("record.note.from_the_future", {"x": 1}, "a note from a newer kernlab")
    misfit = Note(
        "record.note.snapshot_gone", {"when": "exit"}, "no exit maps snapshot of pid 7: it was already gone"
    )
    foreign = Note("record.view.title", {"directory": "d"}, "not a note key")
    meta = _meta(notes=[unknown.text, misfit.text, foreign.text], note_phrases=[unknown, misfit, foreign])
    explain.set_language("ko")
    try:
        assert explain_record.notes(meta) == meta.notes
    finally:
        explain.set_language("en")


@pytest.mark.parametrize(
    "phrases",
    [
        "x",
        3,
        None,
        {},
        [1],
        [{"key": "record.note.no_ptrace"}],
        [{"key": 1, "fields": {}, "text": "t"}],
        [{"key": "k", "fields": {"a": [1]}, "text": "t"}],
        [{"key": "k", "fields": {"a": True}, "text": "t"}],
    ],
)
def test_damaged_note_phrases_are_refused_in_one_line(tmp_path, phrases):
    write_meta(tmp_path, _meta())
    doc = json.loads((tmp_path / layout.META).read_text(encoding="utf-8"))
    doc["note_phrases"] = phrases
    (tmp_path / layout.META).write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(BadInput, match="damaged"):
        read_meta(tmp_path)


def test_the_per_call_note_keeps_the_text_older_recordings_hold():
    """Recordings keep this note in formats/syscall_events.json; the reader gives it its key only
    when the text is the same, so the wording must not drift."""
    chosen = arming.PerCallSyscalls(left_out=["uretprobe", "uprobe"], no_event=[335, 336, 337])
    assert chosen.note() == (
        "system calls recorded through the per-call syscalls:* events, leaving out uretprobe, uprobe "
        "(the probes' own); not recorded: numbers with no such event (3 of the table here) or past the "
        "table, 32-bit (compat) calls, rt_sigreturn's return"
    )
    assert per_call_syscalls_note(["uretprobe", "uprobe"], 3).text == chosen.note()
    assert (
        per_call_syscalls_note(["uretprobe"], 0).text == arming.PerCallSyscalls(left_out=["uretprobe"]).note()
    )
    assert "(0 of the table here)" not in per_call_syscalls_note(["uretprobe"], 0).text


def test_kernel_path_notes_carry_their_keys_through_the_settings_file(tmp_path):
    source = kernel_paths.choose_source(3, {"ext4": ["ext4_da_write_begin"]}, None, system_wide=True)
    settings = source.settings()
    assert settings.notes == [n.text for n in settings.note_phrases]
    keys = [n.key for n in settings.note_phrases]
    assert "record.note.kpaths_no_tracepoints" in keys and "record.note.sampling_system_wide" in keys
    kernel_paths.write_settings(tmp_path, settings)
    saved = kernel_paths.read_settings(tmp_path)
    assert saved is not None and saved.note_phrases == settings.note_phrases and saved.notes == settings.notes


def test_a_required_source_refuses_with_the_notes_english():
    with pytest.raises(TracingError, match="sampling follows tasks, not the whole system"):
        kernel_paths.SampledPaths(3, required=True, system_wide=True)


def test_the_note_helper_fills_the_english_template():
    made = notes.note(
        "record.note.tables_failed", "copying kernel tables failed: {reason}", reason="kallsyms EIO"
    )
    assert made == Note(
        "record.note.tables_failed", {"reason": "kallsyms EIO"}, "copying kernel tables failed: kallsyms EIO"
    )
