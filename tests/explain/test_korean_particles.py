"""Korean particles follow the sound the word before them ends in, for Hangul, Latin and digits."""

from __future__ import annotations

import pytest

from kernlab import explain
from kernlab.catalog import korean

CASES = [
    # The issue's own examples: rename은(는), ext4_filemap_fault을(를), rename로, execve으로.
    ("rename", "은", "rename은"),
    ("ext4_filemap_fault", "을", "ext4_filemap_fault를"),
    ("rename", "으로", "rename으로"),
    ("execve", "으로", "execve로"),
    # Hangul: with and without 받침, and ㄹ before (으)로.
    ("커널", "은", "커널은"),
    ("페이지", "을", "페이지를"),
    ("파일", "으로", "파일로"),
    ("스택", "으로", "스택으로"),
    # Digits read in Sino-Korean: 일 ㄹ, 이, 삼, 십, 백, 천, 만, 영.
    ("1", "이", "1이"),
    ("2", "이", "2가"),
    ("3", "을", "3을"),
    ("10", "을", "10을"),
    ("100", "과", "100과"),
    ("1,000", "을", "1,000을"),
    ("20000", "이", "20000이"),
    ("0", "은", "0은"),
    ("42", "으로", "42로"),
    ("17", "으로", "17로"),
    # Hex, acronyms, units, percent, trailing punctuation.
    ("0x52", "은", "0x52는"),
    ("0x1000", "이", "0x1000이"),
    ("0x7ffd", "을", "0x7ffd를"),
    ("PID", "이", "PID가"),
    ("VMA", "은", "VMA는"),
    ("HTML", "을", "HTML을"),
    ("64 MiB", "을", "64 MiB를"),
    ("75%", "이", "75%가"),
    ("(mmap)", "은", "(mmap)은"),
    # English words as Korean borrows them.
    ("file", "으로", "file로"),
    ("stack", "이", "stack이"),
    ("mmap", "을", "mmap을"),
    ("openat", "을", "openat을"),
    ("fault", "이", "fault가"),
    ("main", "과", "main과"),
    ("write", "을", "write를"),
    ("kswapd0", "은", "kswapd0은"),
    ("handle", "으로", "handle로"),
    ("ring", "이", "ring이"),
    # C names read by the word before their trailing underscores.
    ("_IO_2_1_stdin_", "은", "_IO_2_1_stdin_은"),
    ("__x64_sys_", "은", "__x64_sys_는"),
]


@pytest.mark.parametrize(("word", "particle", "expected"), CASES)
def test_particle_follows_the_final_sound(word, particle, expected):
    assert korean.attach(word, particle) == expected


def test_particles_as_format_specs(monkeypatch):
    from kernlab import catalog

    monkeypatch.setitem(
        catalog.topic_sentences("ko", "common"), "common.test_particles", "{a:은} {n:,을} {b:으로}"
    )
    explain.set_language("ko")
    try:
        assert (
            explain.say("common.test_particles", a="execve", n=1024, b="rename")
            == "execve는 1,024를 rename으로"
        )
    finally:
        explain.set_language("en")


def test_unknown_particle_is_a_bug():
    with pytest.raises(ValueError):
        korean.attach("x", "에게")
