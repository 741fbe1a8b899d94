"""`kernlab mem` against free(1): exactly on one saved /proc/meminfo, and live within drift."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernlab.cli.main import cli
from kernlab.errors import BadInput
from kernlab.explain import mem as explain_mem
from kernlab.proc.free import compute_free, scale_size
from kernlab.proc.meminfo import parse_meminfo, read_meminfo
from tests.conftest import assert_clean_error, need_tool, run_kernlab
from tests.proc.conftest import as_nobody

# Runs free(1) with a saved file bind-mounted over /proc/meminfo in a private mount namespace,
# because procps-ng reads that path and nothing else.
_FREE_ON_FILE = (
    "import os, subprocess, sys\n"
    "subprocess.run(['mount', '--bind', sys.argv[1], '/proc/meminfo'], check=True)\n"
    "os.execvp('free', ['free', *sys.argv[2:]])\n"
)


def _can_bind_mount() -> str | None:
    if os.geteuid() != 0:
        return "needs root to bind-mount a saved meminfo over /proc/meminfo"
    for tool in ("unshare", "mount", "free"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True)
    if probe.returncode != 0:
        return f"unshare --mount failed: {probe.stderr.decode().strip()}"
    return None


def free_on_file(path: Path, *options: str) -> str:
    reason = _can_bind_mount()
    if reason:
        pytest.skip(reason)
    proc = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            sys.executable,
            "-c",
            _FREE_ON_FILE,
            str(path),
            *options,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return proc.stdout


def parse_free(text: str) -> dict[str, list[str]]:
    """free's rows as {"Mem": [...], "Swap": [...]} of the printed strings."""
    rows = {}
    for line in text.splitlines()[1:]:
        label, _, rest = line.partition(":")
        rows[label.strip()] = rest.split()
    return rows


def _meminfo_text(values: dict[str, int]) -> str:
    live = Path("/proc/meminfo").read_text()
    out = []
    for line in live.splitlines():
        name = line.split(":", 1)[0]
        if name in values:
            if values[name] < 0:
                continue  # leave the field out
            out.append(f"{name + ':':<16}{values[name]:>8} kB")
        else:
            out.append(line)
    return "\n".join(out) + "\n"


OPTION_SETS = [
    ("-k", "-w"),
    ("-m", "-w"),
    ("-g", "-w"),
    ("-h", "-w"),
    ("-h", "--si", "-w"),
    ("-b", "-w"),
    ("--mega", "-w"),
    ("-k",),
    ("-h",),
    ("-m", "-w", "-t", "-v", "-l"),
    ("--tebi", "-t"),
    ("--pebi", "-w"),
    ("--giga", "-t"),
    ("--tera", "-w"),
    ("--peta",),
    # --si alone (and with -k) is kB, as free prints it, not KiB.
    ("--si",),
    ("-k", "--si"),
    ("--si", "-w", "-t"),
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda o: " ".join(o))
def test_equals_free_on_the_same_saved_meminfo(tmp_path, options):
    saved = tmp_path / "meminfo"
    saved.write_text(Path("/proc/meminfo").read_text())
    expected = parse_free(free_on_file(saved, *options))
    result = run_kernlab("mem", "--meminfo-file", str(saved), "--json", *options)
    assert result.code == 0, result.stderr
    assert result.json()["display"] == expected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    total=st.integers(1 << 16, 1 << 34),
    free_frac=st.floats(0, 1),
    avail_frac=st.floats(0, 1.2),
    cached_frac=st.floats(0, 0.6),
    swap=st.integers(0, 1 << 24),
    swap_free_frac=st.floats(0, 1),
    drop_available=st.booleans(),
)
def test_equals_free_on_synthetic_meminfo(
    tmp_path, total, free_frac, avail_frac, cached_frac, swap, swap_free_frac, drop_available
):
    # Edge cases free must handle: no MemAvailable (old kernels), MemAvailable > MemTotal
    # (containers), swap in use, huge and tiny machines.
    values = {
        "MemTotal": total,
        "MemFree": int(total * free_frac * 0.5),
        "MemAvailable": -1 if drop_available else int(total * avail_frac),
        "Cached": int(total * cached_frac * 0.5),
        "Buffers": int(total * cached_frac * 0.1),
        "SReclaimable": int(total * cached_frac * 0.05),
        "Shmem": int(total * cached_frac * 0.01),
        "SwapTotal": swap,
        "SwapFree": int(swap * swap_free_frac),
    }
    saved = tmp_path / "meminfo"
    saved.write_text(_meminfo_text(values))
    for options in (("-k", "-w"), ("-h", "-w"), ("-m",)):
        expected = parse_free(free_on_file(saved, *options))
        # In-process (click's runner) to keep 25 examples fast; the CLI subprocess is tested above.
        outcome = CliRunner().invoke(cli, ["mem", "--meminfo-file", str(saved), "--json", *options])
        assert outcome.exit_code == 0, outcome.output
        assert json.loads(outcome.output)["display"] == expected, (options, values)


def test_live_within_drift():
    need_tool("free")
    before = parse_free(
        subprocess.run(["free", "-k", "-w"], capture_output=True, text=True, check=True).stdout
    )
    data = run_kernlab("mem", "--json").json()
    after = parse_free(
        subprocess.run(["free", "-k", "-w"], capture_output=True, text=True, check=True).stdout
    )
    figures = data["free"]
    assert str(figures["total"]) == before["Mem"][0] == after["Mem"][0]
    names = ["total", "used", "free", "shared", "buffers", "cache", "available"]
    for index, name in enumerate(names):
        low = min(int(before["Mem"][index]), int(after["Mem"][index]))
        high = max(int(before["Mem"][index]), int(after["Mem"][index]))
        # Other processes allocate and free between the three readings; the exact comparison is
        # test_equals_free_on_the_same_saved_meminfo, this one only checks the live path.
        drift = max(64 * 1024, figures["total"] // 50)
        assert low - drift <= figures[name] <= high + drift, name
    assert [figures["swap_total"], figures["swap_used"], figures["swap_free"]] == [
        int(x) for x in after["Swap"]
    ]


def test_identity_and_sentences():
    data = run_kernlab("mem", "--json").json()["free"]
    assert data["used"] == data["total"] - data["available"]
    assert data["used_classic"] == data["total"] - data["free"] - data["buff_cache"]
    assert data["used"] + data["free"] + data["buff_cache"] - data["total"] == data["counted_twice"]
    result = run_kernlab("mem")
    assert result.code == 0
    flat = " ".join(result.stdout.split())
    assert "buff/cache" in flat and "available" in flat and "= " in flat


def test_meminfo_lists_every_field_with_meaning(tmp_path):
    saved = tmp_path / "meminfo"
    text = Path("/proc/meminfo").read_text()
    saved.write_text(text)
    data = run_kernlab("mem", "--meminfo", "--meminfo-file", str(saved), "--json").json()
    names = [line.split(":")[0] for line in text.splitlines() if line.strip()]
    assert [m["name"] for m in data["meminfo"]] == names
    values = {line.split(":")[0]: int(line.split()[1]) for line in text.splitlines() if line.strip()}
    assert all(m["value"] == values[m["name"]] for m in data["meminfo"])
    described = [m for m in data["meminfo"] if explain_mem.is_described(m["name"])]
    assert len(described) >= len(names) - 3


def test_library_scale_size_examples():
    # free.c's rules: -h uses 4 characters plus "i", one decimal place when it fits.
    assert scale_size(0, human=True) == "0B"
    assert scale_size(1, human=True) == "1.0Ki"
    assert scale_size(24683656, "mebi") == str(24683656 * 1024 // (1 << 20))
    info = parse_meminfo("MemTotal: 100 kB\nMemFree: 10 kB\n")
    figures = compute_free(info)
    assert figures.available == 10 and figures.available_estimated


@pytest.mark.parametrize(
    "setup, code",
    [("missing", 3), ("directory", 3), ("fifo", 3), ("garbage", 3), ("binary", 3), ("empty", 3)],
)
def test_bad_meminfo_files(tmp_path, setup, code):
    path = tmp_path / "meminfo"
    if setup == "directory":
        path.mkdir()
    elif setup == "fifo":
        os.mkfifo(path)
    elif setup == "garbage":
        path.write_text("hello: world\nnot meminfo\n")
    elif setup == "binary":
        path.write_bytes(os.urandom(4096))
    elif setup == "empty":
        path.write_text("")
    result = run_kernlab("mem", "--meminfo-file", str(path), timeout=20)
    assert_clean_error(result, code=code)
    assert str(path) in result.stderr


def test_unreadable_meminfo_file(tmp_path):
    path = tmp_path / "meminfo"
    path.write_text(Path("/proc/meminfo").read_text())
    path.chmod(0)
    if os.geteuid() == 0:
        tmp_path.chmod(0o755)  # nobody must reach the file to be refused by its own mode
        result = as_nobody(["mem", "--meminfo-file", str(path)])
    else:
        result = run_kernlab("mem", "--meminfo-file", str(path))
    assert_clean_error(result, code=5)
    assert str(path) in result.stderr


def test_read_meminfo_rejects_directory(tmp_path):
    with pytest.raises(BadInput):
        read_meminfo(tmp_path)
