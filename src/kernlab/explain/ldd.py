"""What `kernlab ldd`'s tree means: how many libraries, found where, what is missing."""

from __future__ import annotations

import os

from kernlab.explain import count, say
from kernlab.reports.ldd import LddReport

__all__ = ["ldd_sentence"]


def ldd_sentence(report: LddReport) -> str:
    """One sentence saying what the tree means: how many, found where, what is missing."""
    name = os.path.basename(report.file) or report.file
    if report.kind == "static":
        return say("ldd.sentence", parts=say("ldd.static", file=name))
    if report.kind == "static-pie":
        return say("ldd.sentence", parts=say("ldd.static_pie", file=name))
    # A library missing for several objects is listed once per object (as ldd does), and one
    # missing for the program may still be found for a library, by that library's RUNPATH:
    # either way it is one library.
    found = [o for o in report.objects if o.status == "found"]
    libraries = list(dict.fromkeys([*(o.name for o in found), *report.missing]))
    direct = sum(1 for d in report.dependencies if d.parent == "")
    parts = []
    if report.missing:
        parts.append(
            say(
                "ldd.missing",
                count=len(report.missing),
                libraries=count("ldd.n.library", len(libraries)),
                names=", ".join(report.missing),
                file=name,
            )
        )
    else:
        counts: dict[str, int] = {}
        for o in found:
            counts[o.found_via or "?"] = counts.get(o.found_via or "?", 0) + 1
        via = ", ".join(say("ldd.via", count=n, how=how) for how, n in counts.items())
        parts.append(count("ldd.found", len(libraries), file=name, direct=direct, via=via))
    if report.interpreter:
        parts.append(say("ldd.loader", loader=report.interpreter))
    vdso = next((o.name for o in report.objects if o.status == "vdso"), None)
    if vdso:
        parts.append(say("ldd.vdso", vdso=vdso))
    return say("ldd.sentence", parts="; ".join(parts))
