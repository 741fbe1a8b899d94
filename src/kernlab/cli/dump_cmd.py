"""`kernlab dump`: export a recording to trace-cmd's trace.dat or ftrace's text form."""

from __future__ import annotations

from pathlib import Path

import click

from kernlab.cli.common import Output, examples, output_options, recording_dir_option


@click.command(
    "dump",
    epilog=examples(
        "kernlab dump --trace-dat trace.dat && trace-cmd report trace.dat",
        "kernlab dump -d /tmp/ls.data --text ls.trace.txt",
        "kernlab dump --text - | less",
    ),
)
@recording_dir_option
@click.option(
    "--trace-dat", "trace_dat", type=click.Path(path_type=Path), help="Write a trace-cmd trace.dat (v6) here."
)
@click.option(
    "--text", "text", type=click.Path(path_type=Path), help="Write ftrace's text form here ('-' for stdout)."
)
@output_options
def dump(directory: Path, trace_dat: Path | None, text: Path | None, out: Output) -> None:
    """Export a recording so other tools open it.

    --trace-dat writes trace-cmd's file format version 6 (the raw pages, header_page,
    header_event, every event format, kallsyms, printk formats, saved cmdlines): `trace-cmd
    report` and KernelShark read it. --text writes the lines `cat trace` would have printed,
    which Perfetto UI also imports.
    """
    from kernlab.recording.reader import open_recording
    from kernlab.render.views import dump as view
    from kernlab.reports import dump as reports

    to_stdout = text is not None and str(text) == "-"
    if to_stdout:
        # The text is the output: written as it is made, with no sentence after it.
        rec = open_recording(directory)
        if trace_dat is not None:
            reports.build(rec, trace_dat=trace_dat)
        view.warn_truth(reports.truth(rec))
        view.stream_lines(reports.text_lines(rec))
        return
    out.emit(reports.build(directory, trace_dat=trace_dat, text=text), view.show)
