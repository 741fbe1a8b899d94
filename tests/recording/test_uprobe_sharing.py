"""`record --functions` puts the probes whose fetch arguments are the same on one uprobe event
(Linux 5.7+), since the kernel ends each event's disabling with an RCU grace period: a program
calling 30 distinct library functions gets a handful of events, not two per function — read in
``uprobe_events`` while the program waits — and its tree is the same as with one event per
function (the layout kept for kernels that refuse a second probe on an event) and as
``uftrace record -P .``'s of the same binary."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from kernlab.recording.functions import read_function_table
from kernlab.reports import replay as reports
from tests.conftest import compile_or_skip
from tests.recording.rec_util import TRACEFS, need_tracing
from tests.recording.test_libcall_plt import _names_only, _per_thread

CALLS = """
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int text_part(const char *s) {
    char buf[64];
    int n = atoi(s) + (int)atol(s) + (int)strtol(s, NULL, 10) + (int)strtoul(s, NULL, 10);
    n += strcmp(s, "12") + strncmp(s, "1", 1) + (strchr(s, '2') != NULL) + (strrchr(s, '1') != NULL);
    n += (strstr(s, "2") != NULL) + (int)strspn(s, "12") + (int)strcspn(s, "x");
    strcpy(buf, s);
    strcat(buf, s);
    memset(buf + 8, 0, 4);
    n += memcmp(buf, s, 2);
    return n;
}

int char_part(void) {
    return toupper('a') + tolower('A') + (isalpha('a') != 0) + (isdigit('1') != 0) + abs(-3) + (int)labs(-4L);
}

int misc_part(void) {
    int v[4] = {3, 1, 2, 0}, key = 2;
    qsort(v, 4, sizeof v[0], cmp);
    int *hit = bsearch(&key, v, 4, sizeof v[0], cmp);
    srand(1);
    div_t d = div(7, 2);
    ldiv_t l = ldiv(7L, 2L);
    return (hit != NULL) + rand() % 2 + d.quot + (int)l.rem + (getpid() > 0) + (getppid() > 0)
        + (time(NULL) > 0) + (getpagesize() > 0) + (isatty(99) != 0);
}

int main(int argc, char **argv) {
    if (argc > 1)
        getchar();
    printf("%d\\n", text_part("12") + char_part() + misc_part());
    return 0;
}
"""

BUILDS = {"pie": ["-pie", "-fPIE"], "non-pie": ["-no-pie", "-fno-PIE"], "no-plt": ["-fno-plt"]}

PER_EVENT = (
    "import sys; from kernlab.tracing import uprobes; "
    "uprobes.UprobeGroup.can_append = lambda *a, **k: False; "
    "from kernlab.cli.main import main; sys.argv[0] = 'kernlab'; main()"
)
"""kernlab as a kernel refusing a second probe on an event sees it: one event per function."""


def _build(tmp_path: Path, build: str) -> Path:
    source = tmp_path / "many_calls.c"
    source.write_text(CALLS)
    flags = ["-O0", "-fno-builtin", *BUILDS[build]]
    return compile_or_skip(source, tmp_path / f"many_calls-{build}", flags, build)


def _lines_of(prog: Path) -> list[str]:
    path = TRACEFS / "uprobe_events"
    return [ln for ln in path.read_text().splitlines() if "kernlab_" in ln and f" {prog}:0x" in ln]


def _running(prog: Path) -> bool:
    """Whether a process runs ``prog`` (kernlab releases the command after defining its probes)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "exe").resolve() == prog.resolve():
                    return True
            except OSError:
                continue
    return False


@pytest.mark.parametrize("build", list(BUILDS))
def test_few_events_same_tree(tmp_path, build):
    need_tracing()
    prog = _build(tmp_path, build)
    ours = tmp_path / "k.data"
    recording = subprocess.Popen(
        [sys.executable, "-m", "kernlab", "record", "--functions", "-q", "-d", str(ours), "--",
         str(prog), "wait"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _running(prog) and recording.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = _lines_of(prog)  # the program runs once every probe is defined
        assert recording.stdin is not None
        recording.stdin.write("\n")
        recording.stdin.close()
        assert recording.wait(timeout=120) == 0, recording.stderr.read() if recording.stderr else ""
    finally:
        if recording.poll() is None:
            recording.kill()
            recording.wait()
    assert not _lines_of(prog), "every probe removed"
    table = read_function_table(ours)
    assert table is not None
    imports = {f.name for f in table.functions if f.library}
    assert len(imports) >= 30 and table.shared, sorted(imports)
    # The kernel's own list: how many probes, on how many events, grouped by kind and fetch args.
    events = Counter(ln.split()[0] for ln in lines)
    kinds = {(ln.split()[0][0], " ".join(ln.split()[2:])) for ln in lines}
    assert len(lines) >= 2 * len(imports), lines
    # One event per kind and fetch arguments (a call site's exit, a plain probe, apart from the
    # entries): at most two per (kind, fetch args), never one per function.
    per_kind = Counter(
        (ln.split()[0][0], " ".join(ln.split()[2:])) for ln in {ln.split()[0]: ln for ln in lines}.values()
    )
    assert max(per_kind.values()) <= 2 and len(events) <= 8 and len(kinds) <= 6, events
    assert max(events.values()) >= len(imports)
    # The same tree as one event per function, and as uftrace's of the same binary.
    per_event = tmp_path / "p.data"
    done = subprocess.run(
        [sys.executable, "-c", PER_EVENT, "record", "--functions", "-q", "-d", str(per_event), "--",
         str(prog), "wait"],
        input="\n", capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    layout = read_function_table(per_event)
    assert layout is not None and not layout.shared
    mine = _names_only(reports.build(ours))
    assert mine == _names_only(reports.build(per_event))
    assert sum(line.strip().endswith(("();", "() {")) for line in mine[0]) >= 33
    if subprocess.run(["which", "uftrace"], capture_output=True).returncode == 0:
        theirs = tmp_path / "u.data"
        subprocess.run(
            ["uftrace", "record", "--no-event", "-P", ".", "-d", str(theirs), str(prog), "wait"],
            input=b"\n",
            check=True,
            capture_output=True,
        )
        uftrace = subprocess.run(
            ["uftrace", "replay", "-d", str(theirs)], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        assert mine == _per_thread(uftrace)


def test_records_told_by_address_under_any_bias():
    """The bias found from the addresses themselves: a PIE's page-aligned bias, a thread with one
    ambiguous address taking its process's, an address of no probe left out."""
    from kernlab.recording.functions import FunctionFilters, FunctionTable, ProbedFunction, SharedProbes

    functions = [
        ProbedFunction(f"f{i}", 0x1000 + 0x10 * i, 0x1000 + 0x10 * i, 0, "g:s0", "g:s1") for i in range(4)
    ]
    functions.append(ProbedFunction("far", 0x2010, 0x2010, 0, "g:s0", "g:s1"))  # f1's place a page on
    shared = {
        "g:s0": [[f.address, i, 0] for i, f in enumerate(functions)],
        "g:s1": [[f.address, i, 1] for i, f in enumerate(functions)],
    }
    table = FunctionTable("/bin/x", True, ".symtab", "g", functions, FunctionFilters(), shared=shared)
    bias = 0x55AA_0000_0000
    hits = [("g:s0", 1, bias + 0x1000), ("g:s0", 1, bias + 0x1030), ("g:s1", 1, bias + 0x1030)]
    hits += [("g:s0", 2, bias + 0x1010), ("g:s0", 1, bias + 0x5555)]
    assert SharedProbes(table).resolve(hits) == [(0, False), (3, False), (3, True), (1, False), None]
