"""`kernlab kernel` for a person: release, config facts, symbol addresses and KASLR, each with
the sentence that says what it means."""

from __future__ import annotations

from kernlab.explain import kernel as explain
from kernlab.render.output import Output
from kernlab.render.terminal import format_hex, print_fields, print_heading, print_table
from kernlab.reports.kernel import KernelReport

__all__ = ["show"]


def show(report: KernelReport, out: Output) -> None:
    rel = report.release
    print_fields(
        [("Release (uname -r)", rel.release), ("Version (uname -v)", rel.version), ("Machine", rel.machine)]
        + ([("/proc/version", rel.proc_version)] if rel.proc_version else []),
        title="Running kernel",
    )
    out.sentence(explain.release_sentence(report))

    print_heading(f"Config ({report.config_source or 'not found'})")
    if report.config:
        print_table(
            ["option", "value", "what it decides"],
            [
                (f.option, "(absent)" if f.value is None else f.value, explain.config_meaning(f.option))
                for f in report.config
            ],
        )
    missing_config = explain.config_sentence(report)
    if missing_config is not None:
        out.sentence(missing_config)
    out.sentence(explain.paging_sentence(report))

    _symbols(report)
    out.sentences(explain.symbol_sentences(report))

    k = report.kaslr
    print_heading("KASLR")
    print_fields(
        [
            ("_text at run time", "-" if k.runtime_text is None else format_hex(k.runtime_text)),
            ("_text link address", "-" if k.link_text is None else format_hex(k.link_text)),
            ("offset", "unknown" if k.offset is None else format_hex(k.offset)),
            ("method", k.method),
        ]
    )
    out.sentence(explain.kaslr_sentence(report))


def _symbols(report: KernelReport) -> None:
    print_heading(f"Symbols ({report.kallsyms_path})")
    text = report.address("_text")
    print_table(
        ["symbol", "address", "type", "from _text"],
        [
            (
                s.name,
                "-" if s.address is None else format_hex(s.address),
                s.type or "",
                "" if s.address is None or text is None else f"+{format_hex(s.address - text)}",
            )
            for s in report.symbols
        ],
        right=["from _text"],
    )
