"""`kernlab report` says what the address-space timeline found, as the faults listing and the
kernel see it: a write to 0x1000 (no VMA; the program dies of SIGSEGV: exit status 139) and a
child's writes after fork (copy-on-write), in English and in Korean."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kernlab.mm.fault_codes import CAUSE_COW
from kernlab.reports import faults
from tests.conftest import PROGRAMS, compile_c, run_kernlab
from tests.recording.rec_util import need_tracing


@pytest.fixture(scope="module")
def program(tmp_path_factory) -> Path:
    need_tracing()
    return compile_c(PROGRAMS / "flt_timeline.c", tmp_path_factory.mktemp("as") / "flt_timeline", ["-O1"])


def test_report_shows_the_fault_in_no_vma_and_its_sigsegv(program, tmp_path):
    out = tmp_path / "rec"
    recorded = run_kernlab("record", "-q", "-d", str(out), "--", str(program), "segv")
    assert recorded.code == 128 + 11, recorded  # the kernel killed it with SIGSEGV
    listing = faults.build(out)
    no_vma = [ln for ln in listing.lines if ln.signal == 11]
    assert [ln.address for ln in no_vma] == [0x1000]
    text = run_kernlab("report", "-d", str(out)).stdout
    assert re.search(r"^ faults in no VMA +1$", text, re.M), text
    assert re.search(r"^ SIGSEGV delivered +1$", text, re.M), text
    assert "→ 1 fault: no VMA: the kernel sends SIGSEGV." in text
    assert re.search(
        r"The kernel sent SIGSEGV to the traced tasks (once|\d+ times) and delivered it once\.", text
    )
    assert re.search(r"\d+ calls? changed the address space during the run", text)
    ko = run_kernlab("--lang", "ko", "report", "-d", str(out)).stdout
    assert "폴트 1개: VMA 없음: 커널이 SIGSEGV를 보냅니다." in ko
    assert re.search(r"커널이 추적한 태스크에 SIGSEGV를 (한 번|\d+번) 보냈고 한 번 전달했습니다\.", ko)


def test_report_says_how_many_writes_were_copy_on_write(program, tmp_path):
    out = tmp_path / "rec"
    recorded = run_kernlab("record", "-q", "-d", str(out), "--", str(program), "cow")
    assert recorded.code == 0, recorded
    cow = sum(1 for ln in faults.build(out).lines if ln.cause == CAUSE_COW)
    assert cow >= 4  # the child's writes to the 4 pages it shares with its parent
    data = json.loads(run_kernlab("report", "-d", str(out), "--json").stdout)["faults"]
    present_writes = sum(row["count"] for row in data["write_protect"])
    text = run_kernlab("report", "-d", str(out)).stdout
    assert f"→ {cow:,} faults: copy-on-write: a write to a present page of a private area" in text
    assert f"{present_writes:,} faults were writes to a page already present" in text
