"""The tour's record step as printed and as an HTML page: the part of the call tree around the
rename is replay's own lines, and the page draws the call tree with calltree.py."""

from __future__ import annotations

from types import SimpleNamespace

from kernlab.render.html.tour import tour_page
from kernlab.render.views import replay
from kernlab.render.views.tour import rename_lines
from kernlab.reports import tour
from tests.reports.test_tour import _renaming


def _step() -> tour.RecordStep:
    report = _renaming()
    return tour.RecordStep(
        command=("mv", "a", "b"),
        exit_code=0,
        report=SimpleNamespace(syscalls=None, faults=None, fault_counter_check=None),  # type: ignore[arg-type]
        syscalls=12,
        kinds=3,
        renames=(("renameat2", 1),),
        faults=1,
        major_faults=0,
        renamed=True,
        functions=True,
        kernel_depth=5,
        fstype="tmpfs",
        mount_point="/tmp",
        replay=report,
        rename=tour.rename_tree(report, "tmpfs"),
    )


def test_rename_lines_are_a_block_of_replays_lines():
    step = _step()
    assert step.replay is not None
    lines = rename_lines(step)
    whole = replay.tree_lines(step.replay)
    assert lines[0] == replay.HEADER
    body = lines[1 + len(replay.kernel_header(step.replay)) :]
    start = whole.index(body[0])
    assert whole[start : start + len(body)] == body
    assert len(body) < len(whole)  # getopt_long, before the rename, is left out
    assert body[0].endswith('rename("a", "b") {')
    assert any('renameat2(olddfd=AT_FDCWD, oldname="a"' in line for line in body)
    assert any(line.endswith("shmem_rename2() {") for line in body)
    assert body[-1].endswith("} = 0; /* rename */")


def test_no_tree_no_lines():
    step = _step()
    assert rename_lines(tour.RecordStep(**{**step.__dict__, "rename": None})) == []


def test_tour_page_draws_the_call_tree_of_the_recording():
    step = _step()
    record = next(s for s in tour.STEPS if s.name == "record")
    page = tour_page([tour.StepResult(record, "ran", data=step)])
    html = "\n".join(page.parts)
    assert page.figures == 1  # calltree.py's figure (the recording's own are absent here)
    assert 'class="calltree"' in html  # and its text tree
    assert "renameat2(olddfd=AT_FDCWD, oldname=&quot;a&quot;" in html or 'oldname="a"' in html
    assert "do_renameat2 → vfs_rename → shmem_rename2" in html  # the step's paragraph
