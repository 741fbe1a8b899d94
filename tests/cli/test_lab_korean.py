"""`kernlab --lang ko lab mmap-vs-read` and `… lab syscall-path read` on a terminal's stdout: all
Korean. No catalog key printed as such, no English sentence of the catalog (a key said in English
would print one), and inside a Korean line no run of English words (a sentence that carries an
English fragment: a message of a library, a word the template forgot).

Names, numbers, paths and code stay as they are (read(), MAP_SHARED, entry_SYSCALL_64, ext4);
the word-run check counts only tokens of letters alone, so identifiers and paths never count.
"""

from __future__ import annotations

import os
import re
import string
from functools import cache

import pytest

from kernlab import catalog
from tests.cli.test_lab_cli import _english_sentences
from tests.conftest import run_kernlab
from tests.render.test_views_ko import HANGUL

WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
"""A word of English prose: letters alone (``sys_enter``, ``r10``, ``/dev/vda`` are names)."""
KEY = re.compile(r"\b[a-z][a-z0-9_]*(?:\.[A-Za-z0-9_]+){1,5}\b")


@cache
def _english_pieces() -> tuple[str, ...]:
    """The fixed text of every English sentence of the catalog (between its fields), of three
    words or more, that no Korean sentence has: printed, it is English left in Korean output."""
    english, korean = catalog.sentences("en"), catalog.sentences("ko")
    korean_text = "\n".join(korean.values())
    pieces = set()
    for key, template in english.items():
        if korean.get(key) == template:
            continue  # the same in both (a name, a command): not a translation left out
        for literal, *_ in string.Formatter().parse(template):
            piece = literal.strip(" :;,.()…→")
            if len(piece.split()) >= 3 and piece not in korean_text:
                pieces.add(piece)
    return tuple(sorted(pieces))


def english_runs(line: str, least: int = 3) -> list[str]:
    """Runs of ``least`` or more English words in a row, separated by spaces only.

    A list ("read, write") and a call's name ("read()") are names, not prose: a comma, colon or
    semicolon ends a run, and a token with a call's parentheses is not a word.
    """
    found: list[str] = []
    run: list[str] = []

    def close() -> None:
        if len(run) >= least:
            found.append(" ".join(run))
        run.clear()

    for token in line.split():
        core = token.strip("()[]{}\"'`.!?“”‘’,;:")
        if WORD.fullmatch(core) and "()" not in token and not token.startswith(("-", "/")):
            run.append(core)
        else:
            close()
        if token.endswith((",", ";", ":")):
            close()
    close()
    return found


def test_the_run_check_finds_english_and_spares_names():
    assert english_runs("캐시를 비웠습니다: the cache was counted 이미") == ["the cache was counted"]
    assert english_runs("sys_enter에서의 커널 스택: entry_SYSCALL_64 → do_syscall_64 → x64_sys_call") == []
    assert english_runs("read() 차가움 mmap MAP_SHARED /dev/vda ext4") == []
    assert english_runs("부를 수 있는 호출: getpid, read, rename") == []
    assert english_runs("`kernlab ksrc --tree /usr/src/linux index`가 만듭니다") == []


def _leftovers(out: str) -> list[str]:
    """What of the catalog is left untranslated in ``out``: keys, English sentences, English runs."""
    keys = set(catalog.sentences("en"))
    problems = [f"key {k}" for k in set(KEY.findall(out)) if k in keys]
    problems += [f"English {p!r}" for p in (*_english_sentences(), *_english_pieces()) if p in out]
    for line in out.splitlines():
        if HANGUL.search(line):
            problems += [f"English run {r!r} in {line.strip()!r}" for r in english_runs(line)]
    return problems


def test_the_check_finds_the_english_of_the_same_command():
    """The checks catch what an untranslated run prints (the English output fails them)."""
    english = run_kernlab("lab", "mmap-vs-read", "--size", "1M", "--no-trace")
    assert english.code == 0, english.stderr
    found = [p for p in (*_english_sentences(), *_english_pieces()) if p in english.stdout]
    assert len(found) >= 3, found


MMAP = ["lab", "mmap-vs-read", "--size", "2M"]
CASES = {
    "mmap-vs-read": MMAP,  # traced as root: the recorded figures' sentences
    "mmap-vs-read --no-trace": [*MMAP, "--no-trace"],  # getrusage and mincore's sentences
    "syscall-path read": ["lab", "syscall-path", "read"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_lab_prints_only_korean(name, tmp_path, monkeypatch):
    # An empty cache folder: kernlab's extracted kernel trees are not found, so syscall-path says
    # how to get one (or that /usr/src's has no index), in Korean too.
    monkeypatch.setenv("KERNLAB_CACHE_DIR", str(tmp_path / "cache"))
    result = run_kernlab("--lang", "ko", *CASES[name], timeout=300)
    assert result.code == 0, result.stderr
    out = result.stdout
    sentences = [line for line in out.splitlines() if line.startswith("→ ")]
    assert sentences and all(HANGUL.search(line) for line in sentences), out
    assert not _leftovers(out), _leftovers(out)
    if name == "syscall-path read":
        from kernlab.source.ksrc.trees import kernel_trees

        trees = kernel_trees()  # as the lab looked for them, with the same cache folder
        if trees:  # a /usr/src tree: the sentence names it (it has no index, or the source)
            assert str(trees[0]) in out
        else:  # no tree at all: the lab says so
            assert catalog.sentences("ko")["lab.path.no_tree"] in out


def test_free_around_drop_caches_is_korean(monkeypatch, capsys):
    """The `free` part (--drop-caches) in Korean, with drop_caches itself left out: the machine's
    caches stay (the root test of --drop-caches is tests/cli/test_lab_drop_caches.py)."""
    from kernlab import explain
    from kernlab.render.output import Output
    from kernlab.render.views import labs as view
    from kernlab.reports.labs import mmap_read

    if os.geteuid() != 0:
        pytest.skip("--drop-caches is refused before anything runs unless root")
    monkeypatch.setattr(mmap_read, "drop_caches", lambda: None)
    report = mmap_read.build(size=1 << 20, drop_caches_too=True, no_trace=True, shared_write=False)
    assert report.free is not None
    explain.set_language("ko")
    try:
        view.show_mmap(report, Output())
    finally:
        explain.set_language("en")
    out = capsys.readouterr().out
    assert catalog.sentences("ko")["lab.title.free"] in out
    assert "buff/cache" in out and HANGUL.search(out)
    assert not _leftovers(out), _leftovers(out)
