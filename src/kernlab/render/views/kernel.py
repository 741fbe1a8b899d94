"""`kernlab kernel` for a person: release, config facts, symbol addresses and KASLR, each with
the sentence that says what it means."""

from __future__ import annotations

from kernlab.explain import kernel as explain
from kernlab.render.output import Output
from kernlab.render.terminal import format_hex, print_fields, print_heading, print_table
from kernlab.reports.kernel import KernelImageReport, KernelReport

__all__ = ["show", "show_image"]


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


def show_image(report: KernelImageReport, out: Output) -> None:
    """`kernlab kernel --image FILE`: the file's kernel, its packing, and whether it runs."""
    from kernlab.units import format_bytes

    def size(value: int | None) -> str:
        return "-" if value is None else f"{value:,} bytes ({format_bytes(value)})"

    print_fields(
        [
            ("File", report.path),
            (
                "Format",
                report.format + (f", boot protocol {report.boot_protocol}" if report.boot_protocol else ""),
            ),
            ("Release", report.release or "-"),
            ("Build (uname -v)", report.build or "-"),
            ("Banner", report.banner or "-"),
            ("Compression", report.compression or "none"),
            ("Payload offset", "-" if report.payload_offset is None else format_hex(report.payload_offset)),
            ("Size in the file", size(report.compressed_size if report.compression else report.file_size)),
            ("Decompressed (vmlinux)", size(report.decompressed_size)),
            ("Machine", report.arch),
            ("Entry point", format_hex(report.entry)),
            ("Running kernel (uname -r)", report.running_release),
            ("Is the running kernel", "yes" if report.running else "no"),
            ("Config", report.config or "-"),
            ("Symbols", f"{report.symbols.source}, {report.symbols.count:,}"),
        ],
        title="Kernel image",
    )
    out.sentences(explain.image_sentences(report))
