"""views.dump: one sentence per file written."""

from __future__ import annotations

from kernlab.recording.export.tracedat import TraceDatResult
from kernlab.render.output import Output
from kernlab.render.views import dump as view
from kernlab.reports.dump import TextExport


def test_view_says_what_went_into_each_file(capsys):
    report = [
        TraceDatResult("t.dat", 81920, 2, 27, 651, ["printk_formats"]),
        TextExport("t.txt", 655, 651),
    ]
    view.show(report, Output())
    assert capsys.readouterr().out == (
        "→ Wrote t.dat: 651 events on 2 CPUs with 27 event formats, trace.dat version 6; open it with "
        "`trace-cmd report t.dat` or KernelShark.\n"
        "→ The recording has no printk_formats, so this machine's were used: %s arguments of bprint "
        "events may show as addresses.\n"
        "→ Wrote 655 event lines in ftrace's text form (what `cat trace` prints); Perfetto UI and "
        "trace-cmd-style tools read it.\n"
    )


def test_text_streams_one_line_per_item(capsys):
    view.stream_lines(iter(["# tracer: nop", "#"]))
    assert capsys.readouterr().out == "# tracer: nop\n#\n"
