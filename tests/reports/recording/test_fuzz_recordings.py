"""Damaged recordings: every reader ends in a report or one clear line, and says what it could not read.

One real recording is made, then mutated in 1,000+ ways — bit flips in page headers and event
headers, truncations at random offsets, pages swapped, garbage files, files deleted, meta.json and
state.json damaged. Each case runs `report`, `syscalls`, `faults` and `dump --text` in-process
(reports.<x>.build + views.<x>.show) under a time limit; a sample runs through the CLI too. A
mutation the decoder must notice (a torn page, a file of garbage, pages out of order, a commit
length larger than the page, a raw file gone) has to be said by every one of them that ends in a
report: that the recording is DAMAGED, the file by its path in the recording (cpus/cpu1.raw), and
where in it — the byte offset of the first page skipped and how many were, the torn length and the
offset of the torn page, or the length of a file with no valid page at all.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import struct
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest

from kernlab.errors import KernlabError
from kernlab.recording import layout
from kernlab.recording.reader import open_recording
from kernlab.render.output import Output
from kernlab.render.views import dump as dump_view
from kernlab.render.views import faults as faults_view
from kernlab.render.views import report as report_view
from kernlab.render.views import syscalls as syscalls_view
from kernlab.reports import dump as dump_report
from kernlab.reports import faults as faults_report
from kernlab.reports import report as report_report
from kernlab.reports import syscalls as syscalls_report
from kernlab.tracing.ringbuf import COMMIT_LENGTH_MASK
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
    # What each case expects to be said is reckoned from a whole recording: pages in time order.
    assert not open_recording(rec).damage(), "the base recording is itself damaged"
    return rec


@cache
def _page_size(original: Path) -> int:
    return open_recording(original).page_size


class Case:
    """A mutated copy of the recording: the raw files and metadata copied, the rest linked.

    Besides the copy, which raw files (by their path in the recording) had more than their page
    headers damaged, for the check of what the reports say (``_expected``).
    """

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
        self.page = _page_size(original)
        self.must_say = False
        """True when the mutation is one the decoder must notice and the report must say."""
        self.what = ""
        self.raw_files = sorted(self.rel(p) for p in self.raws())
        """The raw files of the unmutated recording: one gone is said as missing."""
        self.blurred: set[str] = set()
        """Files whose events may be damaged too (event-header bits flipped, a commit length no
        longer that of the events, garbage): pages may be skipped besides those their headers
        condemn (see ``_bad_headers``)."""
        self.garbage: set[str] = set()
        """Files overwritten with random bytes."""

    def raws(self) -> list[Path]:
        return sorted((self.root / layout.CPUS_DIR).glob("cpu*.raw"))

    def biggest(self) -> Path:
        return max(self.raws(), key=lambda p: p.stat().st_size)

    def rel(self, path: Path) -> str:
        """``path`` as the reports name it: relative to the recording (``cpus/cpu1.raw``)."""
        return path.relative_to(self.root).as_posix()

    def forget(self, name: str) -> None:
        """``name`` is gone or rewritten whole: nothing known of it holds."""
        self.blurred.discard(name)
        self.garbage.discard(name)


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
        case.blurred.add(case.rel(path))  # a commit length shorter or longer than the events
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
    case.blurred.add(case.rel(path))
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
    name = case.rel(path)
    case.garbage.add(name)
    case.blurred.add(name)
    case.what = f"garbage in {path.name}"


def _delete(case: Case, rng: random.Random) -> None:
    names = [p for p in case.root.rglob("*") if p.is_file() or p.is_symlink()]
    victim = rng.choice(names)
    victim.unlink()
    case.must_say = victim.suffix == ".raw"
    case.forget(case.rel(victim))
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
        done = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            case.what = ""
            rng.choice(MUTATIONS)(case, rng)
            done.append(case.what or "nothing")
        case.what = "; ".join(done)
        yield i, case


def _number(n: int) -> re.Pattern[str]:
    """``n`` as a report writes it (4,096), and not part of a longer number or of a name (cpu1)."""
    return re.compile(rf"(?<!\w)(?<!\d,){n:,}(?!\w|,\d)")


PAGE_HEADER = 16
"""A ring-buffer page's header: its time stamp and its commit (length and flags), 8 bytes each."""

Said = list[int | tuple[int, ...]]
"""Numbers a report must give for a file, each an int or a tuple of which one will do."""


def _bad_headers(data: bytes, page: int) -> list[int]:
    """Offsets of the pages whose header alone condemns them, as the format says: a commit length
    larger than the page's data, a page of zeros, or (one CPU's pages come in time order) a page
    with events time-stamped before the last page with events read. The events on the other pages
    are not looked at."""
    bad = []
    last = 0
    for base in range(0, len(data) - page + 1, page):
        ts, commit = struct.unpack_from("<QQ", data, base)
        length = commit & COMMIT_LENGTH_MASK
        if length > page - PAGE_HEADER or (length and ts < last) or not (length or ts):
            bad.append(base)
        elif length:
            last = ts
    return bad


def _expected(case: Case) -> dict[str, tuple[str, list[Said]]]:
    """Each raw file left with something the decoder must notice (a page its header condemns, a
    torn page, garbage, the file gone): what it is, and the numbers the report must give for it,
    as choices (one of them said whole). Empty when there is none."""
    expected: dict[str, tuple[str, list[Said]]] = {}
    page = case.page
    for name in sorted(set(case.raw_files) | {case.rel(p) for p in case.raws()}):
        path = case.root / name
        if not path.exists():
            if name in case.raw_files:
                expected[name] = ("deleted", [[]])
            continue
        data = path.read_bytes()
        size = len(data)
        whole, torn_bytes = divmod(size, page)
        bad = _bad_headers(data, page)
        if not (torn_bytes or bad or name in case.garbage):
            continue
        # A torn page: the length cut into it and the offset where it starts.
        torn: Said = [torn_bytes, size - torn_bytes] if torn_bytes else []
        # A file with no valid page at all is said whole, with its length.
        choices: list[Said]
        if name in case.blurred:
            # more may be skipped: the first no later than the first bad header
            first: Said = [tuple(range(0, bad[0] + 1, page))] if bad else []
            choices = [[size], first + torn]
        elif bad:  # exactly these pages are skipped: the first and how many
            choices = [[size]] if len(bad) == whole else [[bad[0], len(bad), *torn]]
        else:  # only the torn page; the pages before it are whole
            choices = [torn] if whole else [[size]]
        what = ", ".join(
            w
            for w, on in (
                (f"pages at {bad} skipped", bad),
                (f"{torn_bytes} bytes torn of {size}", torn_bytes),
                ("garbage", name in case.garbage),
                ("events damaged", name in case.blurred),
            )
            if on
        )
        expected[name] = (what, choices)
    return expected


def _said(lines: str, numbers: Said) -> bool:
    return all(
        any(_number(n).search(lines) for n in (one if isinstance(one, tuple) else (one,))) for one in numbers
    )


def _unsaid(expected: dict[str, tuple[str, list[Said]]], text: str) -> list[str]:
    """What ``text`` (one reader's output) leaves unsaid of the damage ``expected``."""
    problems = []
    for name, (what, choices) in expected.items():
        lines = "\n".join(line for line in text.splitlines() if name in line)
        if not lines:
            problems.append(f"{name} ({what}) is not named")
        elif not any(_said(lines, choice) for choice in choices):
            problems.append(f"{name} ({what}) is not said with one of {choices}:\n{lines}")
    return problems


STEPS = ("report", "syscalls", "faults", "dump")


def _run_all(
    case: Case, out_dir: Path, dat: bool, read: Callable[[], str]
) -> tuple[list[str], dict[str, str]]:
    """Every reader on the case: the one lines of those that ended in a KernlabError, and what the
    others printed (``read``: what was printed since it was last called)."""
    printed: list[str] = []
    texts: dict[str, str] = {}
    out = Output()
    try:  # opened once and shared, as the pages are decoded once per recording
        rec = open_recording(case.root)
    except KernlabError as exc:
        assert str(exc) and "\n" not in str(exc), f"{case.what}: {exc!r}"
        return [str(exc)], texts
    steps: list[Callable[[], object]] = [
        lambda: report_view.show(report_report.build(rec, symbolize=False), out),
        lambda: syscalls_view.show(syscalls_report.build(rec), out),
        lambda: faults_view.show(faults_report.build(rec, symbolize=False), out),
        lambda: dump_view.show(
            dump_report.build(rec, text=out_dir / "t.txt", trace_dat=out_dir / "t.dat" if dat else None), out
        ),
    ]
    read()
    for name, step in zip(STEPS, steps, strict=True):
        try:
            step()
        except KernlabError as exc:
            message = str(exc)
            assert message and "\n" not in message, f"{case.what}: {message!r}"
            printed.append(message)
            read()
        else:
            texts[name] = read()
    return printed, texts


def test_mutated_recordings_end_in_a_report_or_one_line(original, tmp_path, capsys):
    old = signal.signal(signal.SIGALRM, _alarm)
    said_damage = 0
    must = 0
    named = 0
    read = lambda: capsys.readouterr().out  # noqa: E731
    try:
        for i, case in _cases(original, tmp_path):
            signal.alarm(TIME_LIMIT_S)
            try:
                # a trace.dat carries the 5 MB kallsyms: written for one case in ten
                errors, texts = _run_all(case, tmp_path, dat=i % 10 == 0, read=read)
            except TimeLimit:
                pytest.fail(f"case {i} ({case.what}) took over {TIME_LIMIT_S} s")
            except Exception as exc:  # any other exception is a traceback a user would see
                raise AssertionError(f"case {i} ({case.what}): {type(exc).__name__}: {exc}") from exc
            finally:
                signal.alarm(0)
            expected = _expected(case)
            if case.must_say and not errors:
                must += 1
                text = "".join(texts.values())
                assert "DAMAGED" in text, f"case {i} ({case.what}) is not said:\n{text[:2000]}"
                assert "No events were lost" not in text, f"case {i} ({case.what})"
                said_damage += 1
            if case.must_say or expected:
                # every reader that ends in a report says what it could not read, and where
                for step, text in texts.items():
                    assert "DAMAGED" in text, (
                        f"case {i} ({case.what}): {step} does not say it:\n{text[:2000]}"
                    )
                    assert "No events were lost" not in text, f"case {i} ({case.what}): {step}"
                    problems = _unsaid(expected, text)
                    assert not problems, f"case {i} ({case.what}): {step}: " + "\n".join(problems)
                named += bool(expected and texts)
            shutil.rmtree(case.root)
    finally:
        signal.signal(signal.SIGALRM, old)
    # the mutations that must be noticed are a good part of the cases
    assert must > CASES // 5, must
    assert named > CASES // 5, named


def test_a_sample_through_the_cli(original, tmp_path):
    for i, case in _cases(original, tmp_path):
        if i >= CLI_SAMPLE:
            break
        expected = _expected(case)
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
                continue
            if case.must_say and argv[0] != "dump":
                assert "DAMAGED" in result.stdout, f"{case.what}: {result.stdout[:1000]}"
            if case.must_say or expected:
                assert "DAMAGED" in result.stdout, f"{case.what}: {argv[0]}: {result.stdout[:1000]}"
                problems = _unsaid(expected, result.stdout)
                assert not problems, f"{case.what}: {argv[0]}: " + "\n".join(problems)
