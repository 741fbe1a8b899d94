"""`kernlab dump`: export a recording to trace-cmd's trace.dat or ftrace's text form."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from kernlab.cli.common import Output, examples, output_options, recording_dir_option


@dataclass
class TextDumpResult:
    path: str
    lines: int
    events: int


def write_text(rec: Any, target: Path) -> TextDumpResult:
    from kernlab.analysis.ftrace_text import ftrace_lines
    from kernlab.analysis.tasks import read_tasks
    from kernlab.errors import BadInput

    comms = read_tasks(rec).comm
    count = 0
    try:
        with open(target, "w", encoding="utf-8") as fh:
            for line in ftrace_lines(rec, comms):
                fh.write(line)
                fh.write("\n")
                count += 1
    except IsADirectoryError:
        raise BadInput(f"{target} is a directory; give a file name for the text") from None
    except OSError as exc:
        raise BadInput(f"cannot write {target}: {exc.strerror or exc}") from None
    return TextDumpResult(str(target), count, rec.event_total)


def render(results: Any, out: Output) -> None:
    from kernlab.catalog import say

    for result in results:
        if hasattr(result, "formats"):
            out.sentence(
                say(
                    "dump.trace_dat",
                    path=result.path,
                    events=result.events,
                    cpus=result.cpus,
                    formats=result.formats,
                )
            )
            if "printk_formats" in result.notes:
                out.sentence(say("dump.missing_printk"))
        else:
            out.sentence(say("dump.text", lines=result.lines))


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
    from kernlab.errors import BadInput
    from kernlab.recording.reader import open_recording
    from kernlab.tracing.tracedat import write_trace_dat

    if trace_dat is None and text is None:
        raise BadInput("say what to write: --trace-dat FILE and/or --text FILE")
    rec = open_recording(directory)
    results: list[Any] = []
    if trace_dat is not None:
        results.append(write_trace_dat(rec, trace_dat))
    if text is not None:
        if str(text) == "-":
            import sys

            from kernlab.analysis.ftrace_text import ftrace_lines
            from kernlab.analysis.tasks import read_tasks

            for line in ftrace_lines(rec, read_tasks(rec).comm):
                sys.stdout.write(line + "\n")
            return
        results.append(write_text(rec, text))
    out.emit(results, render)
