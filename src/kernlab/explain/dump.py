"""What `kernlab dump` wrote, in words."""

from __future__ import annotations

from kernlab.explain import count, say
from kernlab.reports.dump import DumpReport, TraceDatResult

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
        else:
            out.append(say("dump.text", lines=count("dump.n.line", result.lines)))
    return out
