"""kernlab doctor: what this kernel and user allow, each found by trying it."""

from __future__ import annotations

import click

from kernlab.cli.common import Output, examples, output_options

EPILOG = examples(
    "kernlab doctor                 probe tracefs, events, probes, BPF, perf, /proc files",
    "kernlab doctor --json          the same as one JSON document",
    "kernlab doctor --clean         also remove instances left by killed kernlab runs",
)


@click.command("doctor", epilog=EPILOG)
@click.option("--clean", is_flag=True, help="Remove tracefs instances and uprobes left by dead kernlab runs.")
@output_options
def doctor(out: Output, clean: bool) -> None:
    """Try each tracing and memory feature kernlab uses and say what it enables.

    Exits non-zero (with the reason) when recording is impossible.
    """
    from kernlab.render.progress import progress
    from kernlab.render.views import doctor as view
    from kernlab.reports import doctor as reports

    with progress("probing the kernel"):
        report = reports.build(clean=clean)
    out.emit(report, view.show)
    refusal = reports.recording_refusal(report)
    if refusal is not None:
        raise refusal
