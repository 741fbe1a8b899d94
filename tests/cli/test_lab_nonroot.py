"""The labs run as an ordinary user (``setpriv --reuid=nobody --regid=nogroup --clear-groups``):
each runs what it can, says in one line what needs root, and exits as docs/CLI.md says (0, or
5 for ``--drop-caches``, which cannot run at all). What nobody measured is checked against the
kernel's own data (/proc/PID/status through the figures, mincore against the file's size)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_tour_cli import PACKAGES, SRC
from tests.conftest import CliResult, assert_clean_error, is_root

HTML_PACKAGES = ("plotly", "_plotly_utils", "narwhals", "packaging")


@pytest.fixture(scope="module")
def as_nobody() -> Iterator[tuple[list[str], Path]]:
    """The command line that runs kernlab as nobody, and a folder nobody may write to."""
    if not is_root() or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as nobody")
    python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else None
    if python is None:
        pytest.skip("needs a Python that nobody can run (/usr/bin/python3)")
    site = Path(__import__("rich").__file__).parents[1]
    folder = Path(tempfile.mkdtemp(prefix="kernlab-nobody-labs-"))
    folder.chmod(0o755)
    # plotly asks importlib.metadata for its own version: its .dist-info goes along
    metadata = [p.name for name in HTML_PACKAGES for p in site.glob(f"{name}-*.dist-info")]
    for name in (*PACKAGES, *HTML_PACKAGES, *metadata):
        source = site / name
        if source.is_dir():
            try:
                shutil.copytree(source, folder / name, copy_function=os.link)
            except OSError:
                shutil.copytree(source, folder / name, dirs_exist_ok=True)
    for path in folder.rglob("*"):
        path.chmod(path.stat().st_mode | (0o755 if path.is_dir() else 0o444))
    out = Path(tempfile.mkdtemp(prefix="kernlab-nobody-out-"))
    os.chown(out, 65534, 65534)
    argv = [
        "setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups",
        "env", "HOME=/nonexistent", f"PYTHONPATH={folder}:{SRC}", python, "-m", "kernlab",
    ]  # fmt: skip
    yield argv, out
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)


def _run(argv: list[str], *args: str) -> CliResult:
    proc = subprocess.run([*argv, *args], capture_output=True, text=True, timeout=300, cwd="/")
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def _root_lines(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if "root" in line and "/root" not in line]


def test_lazy_alloc_needs_no_root(as_nobody):
    argv, _ = as_nobody
    result = _run(argv, "lab", "lazy-alloc", "--size", "16M", "--steps", "2", "--json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    for region in data["regions"]:
        if region["kind"] == "thp":
            continue
        # RSS (VmRSS of /proc/PID/status) grew by the bytes written, within 5 %
        assert region["steps"][-1]["rss_kib"] - region["alloc"]["rss_after_kib"] == pytest.approx(
            region["size"] // 1024, rel=0.05
        )
        assert region["steps"][-1]["present_pages"] == region["pages"]  # pagemap, read by nobody
    text = _run(argv, "lab", "lazy-alloc", "--size", "16M", "--steps", "2")
    assert text.code == 0 and _root_lines(text.stdout) == []


def test_mmap_vs_read_runs_untraced_and_says_so_once(as_nobody):
    argv, out = as_nobody
    page = out / "mmap.html"
    result = _run(argv, "lab", "mmap-vs-read", "--size", "2M", "--html", str(page))
    assert result.code == 0, result.stderr
    assert result.stdout.count("cold") >= 2 and result.stdout.count("warm") >= 2
    lines = _root_lines(result.stdout)
    assert len(lines) == 1 and "sudo" in lines[0], lines
    sentences = [line for line in result.stdout.splitlines() if line.startswith("→ ")]
    assert not [line for line in sentences if " ?" in line]  # no figure left unknown in a sentence
    assert page.stat().st_size > 0 and page.stat().st_uid == 65534  # written by nobody
    data = json.loads(_run(argv, "lab", "mmap-vs-read", "--size", "2M", "--json").stdout)
    assert data["traced"] is False and data["trace_note"] == "not_root"
    pages = data["file"]["pages"]
    for run in data["runs"]:
        assert run["syscalls"] is None and run["kernel_path"] == []  # nothing recorded
        assert run["resident_after"] == pages  # mincore: the whole file cached after each run
        if run["temperature"] == "cold":
            assert run["eviction"]["resident_after"] == 0 and run["pages_added"] == pages
    assert data["shared_write"]["zeroed"] is True  # hello_mmap needs no root


def test_syscall_path_does_the_static_part_and_says_the_live_one_needs_root(as_nobody):
    argv, _ = as_nobody
    data = json.loads(_run(argv, "lab", "syscall-path", "read", "--json").stdout)
    assert data["live"] is None and data["live_skipped"] == "not_root"
    header = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
    if data["arch"] == "x86_64" and header.exists():  # the kernel's own numbers, as libc builds with
        assert f"#define __NR_read {data['number']}\n" in header.read_text()
    result = _run(argv, "lab", "syscall-path", "read")
    assert result.code == 0, result.stderr
    lines = _root_lines(result.stdout)
    live = [line for line in lines if "live call" in line]
    assert len(live) == 1, lines
    # kallsyms shows nobody zeros (kptr_restrict): one more line says so, only then
    hidden = any(s["address"] == 0 for s in data["symbols"])
    assert len(lines) == 1 + hidden, lines
    assert "recorded stacks" not in result.stdout  # nothing was recorded, nothing said of it


def test_drop_caches_is_refused_in_one_line(as_nobody):
    argv, _ = as_nobody
    result = _run(argv, "lab", "mmap-vs-read", "--size", "1M", "--drop-caches")
    assert_clean_error(result, 5)
    assert "root" in result.stderr
