"""`kernlab lab …` as a user runs it: exit codes, --json, Korean, progress-free pipes."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from tests.conftest import run_kernlab
from tests.recording.rec_util import need_tracing

CATALOG = Path(__file__).parents[2] / "src" / "kernlab" / "catalog"


def _english_sentences() -> list[str]:
    """The fixed words of every English lab sentence (the text between its fields)."""
    import tomllib

    def walk(table: dict, out: list[str]) -> None:
        for value in table.values():
            if isinstance(value, dict):
                walk(value, out)
            else:
                out.extend(p.strip() for p in re.split(r"\{[^}]*\}", value) if len(p.strip()) > 12)

    out: list[str] = []
    walk(tomllib.loads((CATALOG / "en" / "lab.toml").read_text()), out)
    korean: list[str] = []
    walk(tomllib.loads((CATALOG / "ko" / "lab.toml").read_text()), korean)
    # Names written the same in both languages (AnonHugePages, mmap(MAP_ANONYMOUS)) are not English.
    return [f for f in out if not any(f in k for k in korean)]


def test_lab_lists_its_three_labs():
    result = run_kernlab("lab", "--help")
    assert result.code == 0
    for name in ("mmap-vs-read", "lazy-alloc", "syscall-path"):
        assert name in result.stdout


def test_syscall_path_json_has_the_number_and_no_sentence():
    result = run_kernlab("lab", "syscall-path", "getpid", "--no-trace", "--json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["name"] == "getpid" and data["live_skipped"] == "no_trace"
    assert data["number"] == data["description"]["syscall"]["number"]


def test_unknown_syscall_is_a_clean_error():
    result = run_kernlab("lab", "syscall-path", "no_such_call", "--no-trace")
    assert result.code == 3 and "Traceback" not in result.stderr


def test_lazy_alloc_in_korean_has_no_english_sentence():
    result = run_kernlab("--lang", "ko", "lab", "lazy-alloc", "--size", "16M", "--steps", "2")
    assert result.code == 0, result.stderr
    assert "→" in result.stdout
    for fragment in _english_sentences():
        assert fragment not in result.stdout, fragment


def test_lazy_alloc_json_figures():
    result = run_kernlab("lab", "lazy-alloc", "--size", "16M", "--steps", "2", "--json")
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    mmap_region = data["regions"][0]
    assert mmap_region["kind"] == "mmap" and len(mmap_region["steps"]) == 2
    assert mmap_region["steps"][-1]["touched"] == 16 << 20


def test_mmap_vs_read_untraced_prints_four_runs():
    result = run_kernlab("lab", "mmap-vs-read", "--size", "2M", "--no-trace")
    assert result.code == 0, result.stderr
    assert result.stdout.count("cold") >= 2 and result.stdout.count("warm") >= 2
    assert "no-trace" in result.stdout


def test_drop_caches_needs_root():
    if os.geteuid() == 0:
        pytest.skip("checked as a user: root may drop the caches")
    result = run_kernlab("lab", "mmap-vs-read", "--size", "1M", "--drop-caches")
    assert result.code == 5


def test_mmap_vs_read_traced_json():
    need_tracing()
    result = run_kernlab("lab", "mmap-vs-read", "--size", "4M", "--json", timeout=300)
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    runs = {(r["method"], r["temperature"]): r for r in data["runs"]}
    assert runs[("mmap", "cold")]["rusage_major"] > 0
    # A warm major fault happens only when pages left the cache meanwhile (a shared machine).
    warm = runs[("mmap", "warm")]
    assert warm["rusage_major"] == 0 or warm["pages_added"] > 0
    assert data["shared_write"]["zeroed"] is True
