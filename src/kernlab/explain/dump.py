"""What `kernlab dump` wrote, in words."""

from __future__ import annotations

from kernlab.explain import count, say
from kernlab.reports.dump import ChromeExport, DumpReport, FoldedExport, PerfettoExport, TraceDatResult
from kernlab.units import format_bytes

__all__ = ["written_sentences"]


def written_sentences(report: DumpReport) -> list[str]:
    """One sentence per file written, and what an older recording lacked."""
    out: list[str] = []
    for result in report:
        if isinstance(result, TraceDatResult):
            out.append(
                say(
                    "dump.trace_dat",
                    path=result.path,
                    events=count("dump.n.event", result.events),
                    cpus=count("dump.n.cpu", result.cpus),
                    formats=count("dump.n.format", result.formats),
                )
            )
            if "printk_formats" in result.notes:
                out.append(say("dump.missing_printk"))
        elif isinstance(result, (ChromeExport, PerfettoExport)):
            figures = {
                "path": result.path,
                "slices": count("dump.n.slice", result.slices),
                "instants": count("dump.n.instant", result.instants),
                "threads": count("dump.n.thread", result.threads),
            }
            if isinstance(result, ChromeExport):
                out.append(say("dump.chrome", **figures))
            else:
                out.append(say("dump.perfetto", size=format_bytes(result.size), **figures))
            if result.kernel_slices:
                out.append(count("dump.kernel_zero", result.kernel_slices))
            if result.unfinished:
                out.append(count("dump.unfinished", result.unfinished))
            if result.moved:
                out.append(count("dump.moved", result.moved))
        elif isinstance(result, FoldedExport):
            out.append(
                say(
                    "dump.folded",
                    path=result.path,
                    stacks=count("dump.n.stack", result.stacks),
                    ms=f"{result.total_ns / 1e6:,.3f}",
                )
            )
            if result.clipped:
                out.append(count("dump.clipped", result.clipped))
        else:
            out.append(say("dump.text", lines=count("dump.n.line", result.lines)))
    return out
