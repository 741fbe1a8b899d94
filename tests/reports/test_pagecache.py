"""reports.pagecache: residency of files with bracketed names, before and after an action, vs fincore."""

from __future__ import annotations

from kernlab.reports import pagecache
from tests.mm.test_mm_pagecache import drop, fincore, make_file, read_pages


def test_build_equals_fincore_for_each_file_and_sums_them(tmp_path):
    page = 4096
    first = make_file(tmp_path / "[heap]", 16 * page)
    second = make_file(tmp_path / "a[1].bin", 10 * page + 5)
    drop(first)
    drop(second)
    read_pages(second, 2, 3)
    report = pagecache.build([str(first), str(second)])
    assert report.action is None
    for entry, path in zip(report.files, (first, second), strict=True):
        res_bytes, res_pages, size = fincore(path)
        assert entry.residency.file.path == str(path)
        assert (entry.residency.resident_bytes, entry.residency.resident_pages) == (res_bytes, res_pages)
        assert entry.residency.file.size == size
        assert entry.before_resident_pages is None
    assert report.total_pages == sum(f.residency.pages for f in report.files)
    assert report.total_resident_pages == sum(f.residency.resident_pages for f in report.files)
    assert report.total_size == 26 * page + 5


def test_load_and_evict_record_the_residency_before(tmp_path):
    path = make_file(tmp_path / "[stack]", 32 * 4096)
    drop(path)
    loaded = pagecache.build([str(path)], "load").files[0]
    assert loaded.before_resident_pages == 0
    assert loaded.residency.resident_pages == loaded.residency.pages == fincore(path)[1]
    evicted = pagecache.build([str(path)], "evict").files[0]
    assert evicted.before_resident_pages == 32
    assert evicted.residency.resident_pages == fincore(path)[1] == 0
