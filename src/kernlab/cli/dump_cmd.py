"""`kernlab dump`: export a recording to trace-cmd's trace.dat or ftrace's text form, its call
tree to Chrome/Perfetto traces and folded stacks, and its tables to Parquet.

Over 100 lines because six export formats each need their options and their one-line checks
(which go together, which need a --functions recording); the exports themselves live in
kernlab.recording.export and kernlab.reports.dump.
"""

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
        "kernlab record --functions -K 5 -- ./prog && kernlab dump --perfetto prog.pftrace",
        "kernlab dump --chrome prog.json          open it in Perfetto UI or chrome://tracing",
        "kernlab dump --folded - | flamegraph.pl > prog.svg",
        'kernlab dump -d a.data --parquet a.pq && kernlab sql --parquet a.pq "SELECT * FROM faults"',
    ),
)
@recording_dir_option
@click.option(
    "--trace-dat", "trace_dat", type=click.Path(path_type=Path), help="Write a trace-cmd trace.dat (v6) here."
)
@click.option(
    "--text", "text", type=click.Path(path_type=Path), help="Write ftrace's text form here ('-' for stdout)."
)
@click.option(
    "--chrome",
    "chrome",
    type=click.Path(path_type=Path),
    help="Write the call tree as Chrome Trace Event JSON here.",
)
@click.option(
    "--perfetto",
    "perfetto",
    type=click.Path(path_type=Path),
    help="Write the call tree as a Perfetto protobuf trace here.",
)
@click.option(
    "--folded",
    "folded",
    type=click.Path(path_type=Path),
    help="Write folded stacks (ns) for flame graphs here ('-' for stdout).",
)
@click.option(
    "--parquet",
    "parquet",
    type=click.Path(path_type=Path, file_okay=False),
    metavar="OUT_DIR",
    help="Write one Parquet file per table (syscalls, faults, sched, tasks, functions, kernel_paths) here.",
)
@output_options
def dump(
    directory: Path,
    trace_dat: Path | None,
    text: Path | None,
    chrome: Path | None,
    perfetto: Path | None,
    folded: Path | None,
    parquet: Path | None,
    out: Output,
) -> None:
    """Export a recording so other tools open it.

    --trace-dat writes trace-cmd's file format version 6 (the raw pages, header_page,
    header_event, every event format, kallsyms, printk formats, saved cmdlines): `trace-cmd
    report` and KernelShark read it. --text writes the lines `cat trace` would have printed,
    which Perfetto UI also imports.

    For a recording made with `record --functions` (or -K DEPTH), the tree `kernlab replay`
    shows: --chrome as Trace Event Format JSON and --perfetto as Perfetto's own protobuf (both
    open in Perfetto UI; functions and system calls are slices, kernel functions zero-length
    slices at the time their path was seen, page faults instants), --folded as folded stacks
    weighted by self time in nanoseconds for flamegraph.pl, inferno or speedscope.

    --parquet OUT_DIR writes the recording's tables (docs/PARQUET.md) for `kernlab sql`, DuckDB,
    Spark or any Parquet reader.
    """
    if parquet is not None:
        from kernlab.render.views import sql as sql_view
        from kernlab.reports import parquet as parquet_reports

        out.emit(parquet_reports.build(directory, out_dir=parquet), sql_view.show_export)
        return
    from kernlab.errors import BadInput
    from kernlab.recording.reader import open_recording
    from kernlab.render.views import dump as view
    from kernlab.reports import dump as reports

    text_out = text is not None and str(text) == "-"
    folded_out = folded is not None and str(folded) == "-"
    if text_out and folded_out:
        raise BadInput(
            "only one of --text and --folded can go to stdout ('-')", key="errors.cli.one_to_stdout"
        )
    if text_out or folded_out:
        # The text is the output: written as it is made, with no sentence after it.
        rec = open_recording(directory)
        lines = reports.folded_text(rec) if folded_out else reports.text_lines(rec)
        files = {
            "trace_dat": trace_dat,
            "text": None if text_out else text,
            "chrome": chrome,
            "perfetto": perfetto,
            "folded": None if folded_out else folded,
        }
        if any(f is not None for f in files.values()):  # the other files asked for, written first
            reports.build(rec, **files)
        view.warn_truth(reports.truth(rec))
        view.stream_lines(lines)
        return
    out.emit(
        reports.build(
            directory, trace_dat=trace_dat, text=text, chrome=chrome, perfetto=perfetto, folded=folded
        ),
        view.show,
    )
