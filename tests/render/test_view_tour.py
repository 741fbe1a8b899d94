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


def _mmap_result() -> tour.StepResult:
    """The mmap-vs-read step, measured here without a recording (a third of a second)."""
    from kernlab.reports.labs import mmap_read

    step = next(s for s in tour.STEPS if s.name == "mmap_vs_read")
    lab = mmap_read.build(size=1 << 20, no_trace=True, shared_write=False)
    return tour.StepResult(step, "ran", data=tour.MmapStep(lab))


def test_mmap_step_shows_the_labs_table_and_sentences():
    from functools import partial

    from kernlab.explain import labs as lab_explain
    from kernlab.explain import tour as explain_tour
    from kernlab.render.html.capture import captured
    from kernlab.render.output import Output
    from kernlab.render.views import tour as view

    result = _mmap_result()
    assert isinstance(result.data, tour.MmapStep)
    lab = result.data.lab
    printed = captured(partial(view.show_step, result, Output()))
    # the lab's four runs, as the lab's own table labels them, and its sentences as the paragraph
    for run in lab.runs:
        assert lab_explain.run_name(run) in printed
    assert lab_explain.label("data_faults") in printed
    assert " ".join(lab_explain.mmap_sentences(lab)) == explain_tour.paragraph(result)

    page = tour_page([result])
    html = "\n".join(page.parts)
    assert page.figures == 1  # the lab's figure of the four runs
    assert all(lab_explain.run_name(r) in html for r in lab.runs)
    assert lab_explain.mmap_sentences(lab)[0].split(" (")[0] in html


def test_tour_page_draws_kernlabs_own_hello(tmp_path):
    """Without a compiler the hello step reads kernlab's tiny ELF: no sections, one segment."""
    from kernlab.elf import tiny
    from kernlab.reports import elf as elf_reports

    program = tiny.write_tiny_hello(tmp_path / "hello")
    report = elf_reports.build(program, ("header", "segments"))
    assert report.header is not None and report.segments is not None
    hello = tour.HelloStep(
        compiler=None,
        source=None,
        program=str(program),
        output="hello, world\n",
        elf=report,
        entry=report.header.entry,
        start=None,
        main=None,
        entry_is_start=False,
        interpreter=None,
        load_flags=("R E",),
        origin="kernlab",
        size=program.stat().st_size,
    )
    step = next(s for s in tour.STEPS if s.name == "hello")
    page = tour_page(
        [tour.StepResult(step, "ran", data=hello)],
        elf=elf_reports.build(program, ("header", "segments", "sections")),
    )
    html = "\n".join(page.parts)
    assert page.figures == 1  # the ELF layout, its one segment alone
    assert "kernlab wrote a hello world itself" in html and f"{report.header.entry:#x}" in html
    assert "0x0000000000400000" in html  # the segment's VirtAddr, as readelf -lW writes it
