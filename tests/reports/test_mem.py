"""reports.mem: free(1)'s table built from one meminfo, checked against free on the same file."""

from __future__ import annotations

from pathlib import Path

from kernlab.reports import mem
from tests.proc.test_proc_mem import free_on_file, parse_free


def test_build_equals_free_on_a_saved_meminfo(tmp_path):
    saved = tmp_path / "meminfo"
    saved.write_text(Path("/proc/meminfo").read_text())
    report = mem.build(wide=True, meminfo_file=saved)
    assert report.display == parse_free(free_on_file(saved, "-k", "-w"))
    assert report.columns == mem.WIDE_COLUMNS
    assert report.meminfo is None


def test_build_lists_every_field_in_file_order(tmp_path):
    text = Path("/proc/meminfo").read_text()
    saved = tmp_path / "meminfo"
    saved.write_text(text)
    report = mem.build(with_meminfo=True, meminfo_file=saved)
    assert report.meminfo is not None
    assert [(m.name, m.value) for m in report.meminfo] == [
        (line.split(":")[0], int(line.split()[1])) for line in text.splitlines() if line.strip()
    ]
