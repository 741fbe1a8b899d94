"""reports.ldd: the library tree of real files against the real ldd, and what it means."""

from __future__ import annotations

import dataclasses
import os

import pytest

from kernlab import explain
from kernlab.explain.ldd import ldd_sentence
from kernlab.reports import ldd as reports
from tests.elf.test_ldd_resolve import real_ldd

TARGET = "/bin/mv" if os.path.exists("/bin/mv") else "/bin/ls"


def test_build_finds_what_ldd_finds():
    report = reports.build(TARGET)
    expected = {ln.split(" => ")[0]: ln.split(" => ")[1] for ln in real_ldd(TARGET) if " => " in ln}
    found = {o.name: os.path.realpath(o.path) for o in report.objects if o.status == "found" and o.path}
    assert found == expected
    assert report.kind == "dynamic" and report.missing == []
    assert report.search is not None and report.search.cache_entries > 0


def test_report_is_frozen():
    report = reports.build(TARGET)
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.kind = "static"  # type: ignore[misc]


def test_sentence_counts_what_the_report_holds_in_the_language_asked_for():
    report = reports.build(TARGET)
    libraries = [ln for ln in real_ldd(TARGET) if " => " in ln]
    assert f"needs {len(libraries)} shared libraries" in ldd_sentence(report)
    explain.set_language("ko")
    try:
        korean = ldd_sentence(report)
    finally:
        explain.set_language("en")
    assert f"공유 라이브러리 {len(libraries)}개" in korean
