"""kernlab pagecache against fincore(1), stat(1) and df -T, on files the tests create."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernlab.mm import pagecache as pc
from tests.conftest import CliResult, assert_clean_error, is_root, need_tool, run_kernlab

PAGE = os.sysconf("SC_PAGE_SIZE")


def fincore(path: Path) -> tuple[int, int, int]:
    """(resident bytes, resident pages, size) as fincore(1) reports them."""
    tool = need_tool("fincore")
    out = subprocess.run(
        [tool, "--bytes", "--noheadings", "--raw", "--output", "RES,PAGES,SIZE", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(out[0]), int(out[1]), int(out[2])


def make_file(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        f.write(os.urandom(size))
        f.flush()
        os.fsync(f.fileno())
    return path


def drop(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def read_pages(path: Path, first: int, count: int) -> None:
    # FADV_RANDOM turns readahead off so exactly these pages come in (fincore checks anyway).
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        for page in range(first, first + count):
            os.pread(fd, 1, page * PAGE)
    finally:
        os.close(fd)


def cli_file(path: Path, *extra: str) -> dict:
    result = run_kernlab("pagecache", "--json", *extra, str(path))
    assert result.code == 0, result.stderr
    doc = result.json()
    return doc["files"][0]["residency"]


def assert_matches_fincore(res: dict, path: Path) -> None:
    res_bytes, pages, size = fincore(path)
    assert (res["resident_bytes"], res["resident_pages"], res["file"]["size"]) == (res_bytes, pages, size)


def test_evicted_half_read_and_loaded_file_equal_fincore(tmp_path):
    path = make_file(tmp_path / "data.bin", 64 * PAGE + 123)
    drop(path)
    assert_matches_fincore(cli_file(path), path)
    read_pages(path, 0, 32)
    half = cli_file(path)
    assert_matches_fincore(half, path)
    assert half["pages"] == 65
    assert 0 < half["resident_pages"] < 65
    assert half["resident_ranges"][0][0] == 0
    loaded = cli_file(path, "--load")
    assert_matches_fincore(loaded, path)
    assert loaded["resident_pages"] == 65


def test_evict_drops_a_dirty_file_after_writing_it_back(tmp_path):
    path = tmp_path / "dirty.bin"
    path.write_bytes(os.urandom(16 * PAGE))  # no fsync: the pages are dirty
    result = run_kernlab("pagecache", "--json", "--evict", str(path))
    assert result.code == 0, result.stderr
    entry = result.json()["files"][0]
    assert entry["before_resident_pages"] == 16
    assert_matches_fincore(entry["residency"], path)
    assert entry["residency"]["resident_pages"] == 0


def test_scattered_pages_give_the_right_ranges(tmp_path):
    path = make_file(tmp_path / "scattered.bin", 40 * PAGE)
    drop(path)
    for page in (3, 4, 5, 20, 39):
        read_pages(path, page, 1)
    res = pc.file_residency(str(path))
    res_bytes, pages, _ = fincore(path)
    assert res.resident_pages == pages and res.resident_bytes == res_bytes
    resident = {p for first, count in res.resident_ranges for p in range(first, first + count)}
    # readahead is off, so the pages we read are cached and the count matches fincore exactly
    assert {3, 4, 5, 20, 39} <= resident


def test_chunked_mapping_gives_the_same_answer(tmp_path, monkeypatch):
    path = make_file(tmp_path / "chunks.bin", 10 * PAGE + 1)
    drop(path)
    read_pages(path, 2, 1)
    read_pages(path, 7, 2)
    whole = pc.file_residency(str(path))
    monkeypatch.setattr(pc, "CHUNK_BYTES", 3 * PAGE)
    chunked = pc.file_residency(str(path))
    assert chunked.resident_ranges == whole.resident_ranges
    assert chunked.resident_pages == fincore(path)[1]


def test_empty_file(tmp_path):
    path = tmp_path / "empty"
    path.touch()
    res = cli_file(path)
    assert_matches_fincore(res, path)
    assert res["pages"] == 0


def test_stat_and_df_facts(tmp_path):
    path = make_file(tmp_path / "facts.bin", 3 * PAGE)
    res = cli_file(path)["file"]
    stat = subprocess.run(
        [need_tool("stat"), "-c", "%i %s %b %Hd:%Ld", str(path)], capture_output=True, text=True, check=True
    ).stdout.split()
    assert [res["inode"], res["size"], res["blocks"], res["device"]] == [
        int(stat[0]),
        int(stat[1]),
        int(stat[2]),
        stat[3],
    ]
    df = (
        subprocess.run(
            [need_tool("df"), "--output=source,fstype,target", str(path)],
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.splitlines()[1]
        .split()
    )
    assert [res["mount_source"], res["fstype"], res["mount_point"]] == df


def test_sparse_file_is_called_sparse(tmp_path):
    path = tmp_path / "sparse.bin"
    with open(path, "wb") as f:
        f.truncate(256 * PAGE)
    result = run_kernlab("pagecache", str(path))
    assert result.code == 0, result.stderr
    assert "sparse" in result.stdout
    res = cli_file(path)
    assert_matches_fincore(res, path)


def test_human_output_ends_with_a_sentence_from_the_data(tmp_path):
    path = make_file(tmp_path / "h.bin", 8 * PAGE)
    drop(path)
    read_pages(path, 0, 4)
    result = run_kernlab("pagecache", str(path))
    assert result.code == 0
    _, pages, _ = fincore(path)
    assert f"{pages:,} of 8 pages" in " ".join(result.stdout.split())
    quiet = run_kernlab("pagecache", "--quiet", str(path))
    assert "→" not in quiet.stdout


def test_many_files_total(tmp_path):
    paths = [make_file(tmp_path / f"m{i}", (i + 1) * PAGE) for i in range(3)]
    result = run_kernlab("pagecache", "--json", *map(str, paths))
    doc = result.json()
    assert doc["total_pages"] == 6
    assert doc["total_resident_pages"] == sum(fincore(p)[1] for p in paths)


def test_missing_file(tmp_path):
    assert_clean_error(run_kernlab("pagecache", str(tmp_path / "nope")), code=3)


def test_directory(tmp_path):
    result = run_kernlab("pagecache", str(tmp_path))
    assert_clean_error(result, code=3)
    assert "directory" in result.stderr


def test_fifo_does_not_block(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = run_kernlab("pagecache", str(fifo), timeout=20)
    assert_clean_error(result, code=3)
    assert "FIFO" in result.stderr


def test_unreadable_file(tmp_path):
    path = make_file(tmp_path / "secret", PAGE)
    path.chmod(0)
    argv = ["pagecache", str(path)]
    if not is_root():
        assert_clean_error(run_kernlab(*argv), code=5)
        return
    # Root reads any file; without the DAC override capabilities (and not owning it) it cannot.
    setpriv = need_tool("setpriv")
    os.chown(path, 65534, 65534)
    proc = subprocess.run(
        [setpriv, "--bounding-set=-dac_override,-dac_read_search", sys.executable, "-m", "kernlab", *argv],
        capture_output=True,
        text=True,
    )
    assert_clean_error(CliResult(proc.returncode, proc.stdout, proc.stderr), code=5)
    assert "permission denied" in proc.stderr


def test_bad_path_fails_before_evicting_anything(tmp_path):
    good = make_file(tmp_path / "good", 4 * PAGE)
    read_pages(good, 0, 4)
    before = fincore(good)[1]
    assert_clean_error(run_kernlab("pagecache", "--evict", str(good), str(tmp_path / "missing")), code=3)
    assert fincore(good)[1] == before


@pytest.mark.skipif(is_root(), reason="checks the refusal a non-root user gets")
def test_drop_all_needs_root(tmp_path):
    path = make_file(tmp_path / "x", PAGE)
    assert_clean_error(run_kernlab("pagecache", "--drop-all", str(path)), code=5)


@pytest.mark.slow  # drops every clean page of the machine: later tests start cold
@pytest.mark.skipif(not is_root(), reason="needs root (writes /proc/sys/vm/drop_caches)")
def test_drop_all_as_root_empties_the_cache_of_a_file(tmp_path):
    path = make_file(tmp_path / "drop", 8 * PAGE)
    read_pages(path, 0, 8)
    entry = run_kernlab("pagecache", "--json", "--drop-all", str(path)).json()["files"][0]
    assert entry["before_resident_pages"] == 8
    assert_matches_fincore(entry["residency"], path)
    assert entry["residency"]["resident_pages"] == 0


def test_sysfs_file_cannot_be_mapped():
    path = "/sys/kernel/mm/transparent_hugepage/enabled"
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist")
    result = run_kernlab("pagecache", path)
    assert_clean_error(result, code=3)
    assert "cannot be mapped" in result.stderr
