"""`kernlab tour` end to end: as root, as nobody, in Korean, --list, --json, --interactive."""

from __future__ import annotations

import json
import os
import re
import shutil
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from kernlab import catalog
from kernlab.reports.tour import STEPS
from tests.conftest import is_root, run_kernlab

SRC = Path(__file__).parents[2] / "src"
TIME_LIMIT_S = 120
# What nobody's Python needs to import kernlab's tour from a folder it can read.
PACKAGES = ("click", "rich", "elftools", "capstone", "psutil", "pygments", "markdown_it", "mdurl")


def _timed(*args: str, **kwargs) -> tuple[object, float]:
    started = time.monotonic()
    result = run_kernlab(*args, timeout=TIME_LIMIT_S, **kwargs)
    return result, time.monotonic() - started


@pytest.fixture(scope="module")
def english():
    if not is_root():
        pytest.skip("the whole tour, record step included, is checked as root")
    result, seconds = _timed("tour")
    assert result.code == 0, result.stderr
    assert seconds < TIME_LIMIT_S
    return result


def _headings(stdout: str) -> list[str]:
    return re.findall(r"^== (.*) ==$", stdout, re.M)


def test_the_whole_tour_runs_as_root_in_time(english):
    heads = _headings(english.stdout)
    assert len(heads) == len(STEPS)
    assert "Traceback" not in english.stderr
    paragraphs = [ln for ln in english.stdout.splitlines() if ln.startswith("→ ")]
    # one paragraph per step that ran, one line per skipped step, and the closing line
    skipped = english.stdout.count("Skipped: ")
    assert len(paragraphs) == len(STEPS) - skipped + 1
    assert "needs root" not in english.stdout


def test_the_record_step_shows_the_rename_as_replay_does(english):
    """The seed's `uftrace record -K 5 /bin/mv` + replay: the part of the tree around the
    rename in replay's layout, the program's call, the system call inside it and the kernel."""
    step = english.stdout.split("== Step 6 of")[1].split("\n== ")[0]
    lines = step.splitlines()
    at = lines.index("# DURATION     TID     FUNCTION")
    tree = [ln for ln in lines[at + 1 :] if re.match(r"^ [ .0-9a-z]{10} \[ *\d+\] \| ", ln)]
    assert re.search(r'\| rename\w*\(.*"a".*"b".*\) \{$', tree[0])  # the library call, from the program
    assert any(re.search(r'\|   rename\w*\(\w+=AT_FDCWD, oldname="a".*newname="b"', ln) for ln in tree)
    assert tree[-1].rstrip().endswith(("/* rename */", "/* renameat */", "/* renameat2 */"))
    assert any("__x64_sys_rename" in ln or "do_renameat2" in ln for ln in tree)
    paragraph = next(ln for ln in lines if ln.startswith("→ "))
    assert "Beneath it the kernel went" in paragraph and (
        "stacks at tracepoints" in paragraph or "function_graph" in paragraph
    )


def _english_fragments() -> set[str]:
    """Literal pieces of every English sentence that Korean does not share (fields cut out)."""
    english, korean = catalog.sentences("en"), catalog.sentences("ko")
    pieces: set[str] = set()
    for key, template in english.items():
        for literal, *_ in string.Formatter().parse(template):
            for part in re.split(r"[:;()]", literal):
                part = part.strip(" ,.")
                if len(part) >= 18 and " " in part and part not in korean.get(key, ""):
                    pieces.add(part)
    return pieces


def test_korean_tour_has_no_english_sentence_of_the_catalog():
    result, seconds = _timed("--lang", "ko", "tour")
    assert result.code == 0, result.stderr
    assert seconds < TIME_LIMIT_S
    paragraphs = "\n".join(ln for ln in result.stdout.splitlines() if ln.startswith("→ ") or "건너뜀" in ln)
    assert paragraphs
    found = sorted(p for p in _english_fragments() if p in result.stdout)
    assert not found, found
    assert len(_headings(result.stdout)) == len(STEPS)
    # the tour's own --lang says the same
    local = run_kernlab("tour", "--lang", "ko", "--step", "kernel")
    assert "이 컴퓨터는" in local.stdout


def test_list_names_every_step():
    result = run_kernlab("tour", "--list")
    assert result.code == 0
    for step in STEPS:
        assert re.search(rf"^\s*{step.number}\s+{step.name}\s", result.stdout, re.M), step
    listed = json.loads(run_kernlab("tour", "--list", "--json").stdout)
    assert [s["name"] for s in listed] == [s.name for s in STEPS]


def test_json_is_the_same_in_both_languages():
    # Steps whose figures hold still between two runs: byte for byte.
    args = ("tour", "--step", "kernel,libraries,syscall", "--json")
    en = run_kernlab("--lang", "en", *args)
    ko = run_kernlab("--lang", "ko", *args)
    assert en.code == ko.code == 0, ko.stderr
    assert en.stdout == ko.stdout
    # The whole tour: the same document shape, steps and statuses (live figures move).
    whole_en = json.loads(run_kernlab("--lang", "en", "tour", "--json").stdout)
    whole_ko = json.loads(run_kernlab("--lang", "ko", "tour", "--json").stdout)

    def same_shape(a: object, b: object) -> bool:
        """The same keys and types; a null (an optional figure) matches anything, and a call
        tree's children are its own live figures (a fault inside a call or not)."""
        if a is None or b is None:
            return True
        if isinstance(a, dict) and isinstance(b, dict):
            if not all(k.isidentifier() for k in (*a, *b)):
                # keyed by data (event names: which fired varies from run to run): its values' shape
                return all(
                    same_shape(x, y) for x, y in zip(list(a.values())[:1], list(b.values())[:1], strict=False)
                )
            return a.keys() == b.keys() and all(same_shape(a[k], b[k]) for k in a if k != "children")
        if isinstance(a, list) and isinstance(b, list):
            return all(same_shape(x, y) for x, y in zip(a[:1], b[:1], strict=False))
        return type(a) is type(b)

    assert [(s["step"]["name"], s["status"]) for s in whole_en["steps"]] == [
        (s["step"]["name"], s["status"]) for s in whole_ko["steps"]
    ]
    for step_en, step_ko in zip(whole_en["steps"], whole_ko["steps"], strict=True):
        assert same_shape(step_en, step_ko), step_en["step"]["name"]
    # The record step carries the call tree and the part of it around the rename, in neither language.
    trees = [
        next(s["data"] for s in doc["steps"] if s["step"]["name"] == "record") for doc in (whole_en, whole_ko)
    ]
    if all(trees):
        renames = [t["rename"] for t in trees]
        assert all(t["replay"]["threads"] for t in trees)
        assert len({(r["call"]["name"], r["syscall"]["name"], r["syscall"]["args"]) for r in renames}) == 1
        assert 'oldname="a"' in renames[0]["syscall"]["args"]
        assert (
            renames[0]["syscall"] in renames[0]["call"]["children"] or renames[0]["call"]["kind"] == "syscall"
        )
    hangul = re.compile("[\uac00-\ud7a3]")
    assert not hangul.search(json.dumps(whole_ko, ensure_ascii=False))


def test_interactive_waits_and_shows_where_it_is():
    result = run_kernlab("tour", "--step", "1,2", "--interactive", input="\n\n")
    assert result.code == 0, result.stderr
    assert f"Step 1 of {len(STEPS)} done. Enter: step 2" in result.stderr
    assert f"Step 2 of {len(STEPS)} done, the last one" in result.stderr
    stopped = run_kernlab("tour", "--step", "1,2", "--interactive", input="q\n")
    assert len(_headings(stopped.stdout)) == 1


def test_step_mmap_vs_read_runs_alone():
    """`--step mmap-vs-read` (or its number) runs that step only: the lab's four runs."""
    number = next(s.number for s in STEPS if s.name == "mmap_vs_read")
    result = run_kernlab("tour", "--step", "mmap-vs-read", "--no-trace")
    assert result.code == 0, result.stderr
    assert _headings(result.stdout) == [
        f"Step {number} of {len(STEPS)}: mmap() against read(), cold and warm: page faults and the page cache"
    ]
    for run in ("read() cold", "read() warm", "mmap cold", "mmap warm"):
        assert run in result.stdout
    assert "--no-trace: nothing was recorded" in result.stdout
    doc = json.loads(run_kernlab("tour", "--step", str(number), "--no-trace", "--json").stdout)
    (step,) = doc["steps"]
    assert step["step"]["name"] == "mmap_vs_read" and step["status"] == "ran"
    runs = step["data"]["lab"]["runs"]
    assert [(r["method"], r["temperature"]) for r in runs] == [
        ("read", "cold"), ("read", "warm"), ("mmap", "cold"), ("mmap", "warm"),
    ]  # fmt: skip


def test_no_trace_skips_the_recording_in_one_line():
    result = run_kernlab("tour", "--step", "record", "--no-trace")
    assert result.code == 0
    assert "Skipped: --no-trace" in result.stdout
    assert len([ln for ln in result.stdout.splitlines() if "Skipped" in ln]) == 1


def test_pipes_cleanly():
    proc = subprocess.run(
        f"{sys.executable} -m kernlab tour --step kernel | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    assert "Traceback" not in proc.stderr and "\x1b[" not in proc.stdout


@pytest.fixture(scope="module")
def nobody_python():
    """A folder nobody can read holding kernlab's dependencies (hard links), and a Python for it."""
    if not is_root() or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to run as nobody")
    python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    site = Path(__import__("rich").__file__).parents[1]
    folder = Path(tempfile.mkdtemp(prefix="kernlab-nobody-"))
    folder.chmod(0o755)
    for name in PACKAGES:
        source = site / name
        if source.is_dir():
            try:
                shutil.copytree(source, folder / name, copy_function=os.link)
            except OSError:
                shutil.copytree(source, folder / name, dirs_exist_ok=True)
    for path in folder.rglob("*"):
        path.chmod(path.stat().st_mode | (0o755 if path.is_dir() else 0o444))
    yield python, folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_tour_runs_as_nobody_and_says_what_needs_root(nobody_python):
    python, folder = nobody_python
    started = time.monotonic()
    proc = subprocess.run(
        [
            "setpriv",
            "--reuid",
            "nobody",
            "--regid",
            "nogroup",
            "--clear-groups",
            "env",
            "HOME=/nonexistent",
            f"PYTHONPATH={folder}:{SRC}",
            python,
            "-m",
            "kernlab",
            "tour",
        ],
        capture_output=True,
        text=True,
        timeout=TIME_LIMIT_S,
        cwd="/",
    )
    assert time.monotonic() - started < TIME_LIMIT_S
    assert proc.returncode == 0, proc.stderr
    assert len(_headings(proc.stdout)) == len(STEPS)
    root_lines = [ln for ln in proc.stdout.splitlines() if "needs root" in ln]
    assert len(root_lines) == sum(s.needs_root for s in STEPS)
    assert "failed" not in proc.stdout
    # Every step that needs no root ran and said its paragraph.
    paragraphs = [ln for ln in proc.stdout.splitlines() if ln.startswith("→ ")]
    skipped = proc.stdout.count("Skipped: ")
    assert len(paragraphs) == len(STEPS) - skipped + 1
