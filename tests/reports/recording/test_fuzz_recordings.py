"""Damaged recordings: every reader ends in a report or one clear line, and says what it could not read.

One real recording is made, then mutated in 1,000+ ways — bit flips in page headers and event
headers, truncations at random offsets, pages swapped, garbage files, files deleted, meta.json and
state.json damaged. Each case runs `report`, `syscalls`, `faults` and `dump --text` in-process
(reports.<x>.build + views.<x>.show) under a time limit; a sample runs through the CLI too. A
mutation the decoder must notice (a torn page, a file of garbage, pages out of order, a commit
length larger than the page, a raw file gone) has to be said in the report.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kernlab.errors import KernlabError
from kernlab.recording import layout
from kernlab.recording.reader import open_recording
from kernlab.render.output import Output
from kernlab.render.views import faults as faults_view
from kernlab.render.views import report as report_view
from kernlab.render.views import syscalls as syscalls_view
from kernlab.reports import dump as dump_report
from kernlab.reports import faults as faults_report
from kernlab.reports import report as report_report
from kernlab.reports import syscalls as syscalls_report
from tests.conftest import PROGRAMS, compile_c, run_kernlab
from tests.recording.rec_util import need_tracing

pytestmark = pytest.mark.slow

CASES = 1000
CLI_SAMPLE = 12
TIME_LIMIT_S = 20


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_tracing()
    base = tmp_path_factory.mktemp("fuzz")
    prog = compile_c(PROGRAMS / "rec_touch.c", base / "rec_touch", ["-O2"])
    rec = base / "rec"
    # 2 MiB: a few hundred faults on a few pages keep each of the 1,000 cases fast.
    result = run_kernlab("record", "-d", str(rec), "--", str(prog), "2")
    assert result.code == 0, result.stderr
    return rec


class Case:
    """A mutated copy of the recording: the raw files and metadata copied, the rest linked."""

    def __init__(self, original: Path, root: Path) -> None:
        self.root = root
        root.mkdir()
        (root / layout.CPUS_DIR).mkdir()
        for entry in original.iterdir():
            if entry.name == layout.CPUS_DIR:
                for f in entry.iterdir():
                    shutil.copyfile(f, root / layout.CPUS_DIR / f.name)
            elif entry.name in (layout.META, layout.STATE):
                shutil.copyfile(entry, root / entry.name)
            else:
                (root / entry.name).symlink_to(entry)
        self.page = open_recording(original).page_size
        self.must_say = False
        """True when the mutation is one the decoder must notice and the report must say."""
        self.what = ""

    def raws(self) -> list[Path]:
        return sorted((self.root / layout.CPUS_DIR).glob("cpu*.raw"))

    def biggest(self) -> Path:
        return max(self.raws(), key=lambda p: p.stat().st_size)


def _flip(data: bytearray, offset: int, bit: int) -> None:
    data[offset] ^= 1 << bit


def _page_header_flip(case: Case, rng: random.Random) -> None:
    path = case.biggest()
    data = bytearray(path.read_bytes())
    pages = len(data) // case.page
    if not pages:
        return
    base = rng.randrange(pages) * case.page
    if rng.random() < 0.5:
        # commit: a length bit from 12 up makes it larger than any page (4 KiB pages or more)
        bit = rng.randrange(12, 30)
        commit = struct.unpack_from("<Q", data, base + 8)[0]
        if commit & ((1 << 30) - 1) < (1 << bit):
            struct.pack_into("<Q", data, base + 8, commit | (1 << bit))
            case.must_say = True
    else:
        _flip(data, base + rng.randrange(16), rng.randrange(8))
    case.what = f"page header flip at {base}"
    path.write_bytes(bytes(data))


def _event_header_flip(case: Case, rng: random.Random) -> None:
    path = case.biggest()
    data = bytearray(path.read_bytes())
    pages = len(data) // case.page
    if not pages:
        return
    base = rng.randrange(pages) * case.page + 16
    offset = base + rng.randrange(0, case.page - 16, 4)  # on an event-header boundary or not
    for _ in range(rng.randint(1, 4)):
        _flip(data, offset + rng.randrange(4), rng.randrange(8))
    case.what = f"event header flip at {offset}"
    path.write_bytes(bytes(data))


def _truncate(case: Case, rng: random.Random) -> None:
    path = case.biggest()
    size = path.stat().st_size
    if size < 2:
        return
    cut = rng.randrange(1, size)
    os.truncate(path, cut)
    case.must_say = cut % case.page != 0
    case.what = f"truncated {path.name} at {cut}"


def _swap(case: Case, rng: random.Random) -> None:
    path = case.biggest()
    data = bytearray(path.read_bytes())
    pages = len(data) // case.page
    if pages < 2:
        return
    a, b = sorted(rng.sample(range(pages), 2))
    pa, pb = data[a * case.page : (a + 1) * case.page], data[b * case.page : (b + 1) * case.page]
    ts_a, ts_b = struct.unpack_from("<Q", pa)[0], struct.unpack_from("<Q", pb)[0]
    data[a * case.page : (a + 1) * case.page], data[b * case.page : (b + 1) * case.page] = pb, pa
    # a later page put first makes the next one run backwards
    case.must_say = ts_a < ts_b and any(pa[8:12]) and any(pb[8:12])
    case.what = f"swapped pages {a} and {b}"
    path.write_bytes(bytes(data))


def _garbage(case: Case, rng: random.Random) -> None:
    path = rng.choice(case.raws())
    path.write_bytes(rng.randbytes(rng.randrange(1, 3 * case.page)))
    case.must_say = True
    case.what = f"garbage in {path.name}"


def _delete(case: Case, rng: random.Random) -> None:
    names = [p for p in case.root.rglob("*") if p.is_file() or p.is_symlink()]
    victim = rng.choice(names)
    victim.unlink()
    case.must_say = victim.suffix == ".raw"
    case.what = f"deleted {victim.relative_to(case.root)}"


def _meta(case: Case, rng: random.Random) -> None:
    path = case.root / rng.choice([layout.META, layout.META, layout.STATE])
    if not path.exists():
        return
    text = bytearray(path.read_bytes())
    how = rng.randrange(4)
    if how == 0 and text:
        text = text[: rng.randrange(len(text))]
    elif how == 1 and text:
        for _ in range(rng.randint(1, 8)):
            text[rng.randrange(len(text))] = rng.randrange(256)
    elif how == 2:
        text = bytearray(rng.choice([b"[]", b"null", b"{}", b'{"format_version": 1}', b"\xff\xfe"]))
    else:
        # a value of the wrong type in a valid document
        import json

        try:
            doc = json.loads(text)
        except ValueError:
            return
        if isinstance(doc, dict) and doc:
            key = rng.choice(sorted(doc))
            doc[key] = rng.choice(["x", -1, 10**30, None, [], {}, 1.5, [1, "a"]])
            text = bytearray(json.dumps(doc).encode())
    path.write_bytes(bytes(text))
    case.what = f"damaged {path.name} ({how})"


MUTATIONS: list[Callable[[Case, random.Random], None]] = [
    _page_header_flip,
    _event_header_flip,
    _truncate,
    _swap,
    _garbage,
    _delete,
    _meta,
]


class TimeLimit(Exception):
    pass


def _alarm(_signum: int, _frame: object) -> None:
    raise TimeLimit


def _cases(original: Path, base: Path) -> Iterator[tuple[int, Case]]:
    for i in range(CASES):
        rng = random.Random(i)
        case = Case(original, base / f"c{i}")
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            rng.choice(MUTATIONS)(case, rng)
        yield i, case


def _run_all(case: Case, out_dir: Path, dat: bool) -> list[str]:
    """Every reader on the case; the texts they printed (KernlabError: its one line)."""
    printed: list[str] = []
    out = Output()
    try:  # opened once and shared, as the pages are decoded once per recording
        rec = open_recording(case.root)
    except KernlabError as exc:
        assert str(exc) and "\n" not in str(exc), f"{case.what}: {exc!r}"
        return [str(exc)]
    steps: list[Callable[[], object]] = [
        lambda: report_view.show(report_report.build(rec, symbolize=False), out),
        lambda: syscalls_view.show(syscalls_report.build(rec), out),
        lambda: faults_view.show(faults_report.build(rec, symbolize=False), out),
        lambda: dump_report.build(rec, text=out_dir / "t.txt", trace_dat=out_dir / "t.dat" if dat else None),
    ]
    for step in steps:
        try:
            step()
        except KernlabError as exc:
            message = str(exc)
            assert message and "\n" not in message, f"{case.what}: {message!r}"
            printed.append(message)
    return printed


def test_mutated_recordings_end_in_a_report_or_one_line(original, tmp_path, capsys):
    old = signal.signal(signal.SIGALRM, _alarm)
    said_damage = 0
    must = 0
    try:
        for i, case in _cases(original, tmp_path):
            signal.alarm(TIME_LIMIT_S)
            try:
                # a trace.dat carries the 5 MB kallsyms: written for one case in ten
                errors = _run_all(case, tmp_path, dat=i % 10 == 0)
            except TimeLimit:
                pytest.fail(f"case {i} ({case.what}) took over {TIME_LIMIT_S} s")
            except Exception as exc:  # any other exception is a traceback a user would see
                raise AssertionError(f"case {i} ({case.what}): {type(exc).__name__}: {exc}") from exc
            finally:
                signal.alarm(0)
            text = capsys.readouterr().out
            if case.must_say and not errors:
                must += 1
                assert "DAMAGED" in text, f"case {i} ({case.what}) is not said:\n{text[:2000]}"
                assert "No events were lost" not in text, f"case {i} ({case.what})"
                said_damage += 1
            shutil.rmtree(case.root)
    finally:
        signal.signal(signal.SIGALRM, old)
    # the mutations that must be noticed are a good part of the cases
    assert must > CASES // 5, must


def test_a_sample_through_the_cli(original, tmp_path):
    for i, case in _cases(original, tmp_path):
        if i >= CLI_SAMPLE:
            break
        for argv in (
            ["report", "--no-symbols"],
            ["syscalls"],
            ["faults", "--no-symbols"],
            ["dump", "--text", str(tmp_path / "t.txt")],
        ):
            result = run_kernlab(*argv, "-d", str(case.root), timeout=60)
            assert "Traceback" not in result.stderr, f"{case.what}: {result.stderr}"
            assert result.code in (0, 3), f"{case.what}: {argv} exit {result.code}: {result.stderr}"
            if result.code:
                lines = result.stderr.strip().splitlines()
                assert len(lines) == 1 and lines[0].startswith("kernlab: error: "), result.stderr
            elif case.must_say and argv[0] != "dump":
                assert "DAMAGED" in result.stdout, f"{case.what}: {result.stdout[:1000]}"
