"""`kernlab kernel` for a person: release, config facts, symbol addresses and KASLR, each with
the sentence that says what it means."""

from __future__ import annotations

from kernlab.explain import kernel as explain
from kernlab.explain import text as label
from kernlab.render.output import Output
from kernlab.render.terminal import format_hex, print_fields, print_heading, print_table
from kernlab.reports.kernel import KernelImageReport, KernelReport

__all__ = ["show", "show_image"]


def show(report: KernelReport, out: Output) -> None:
    rel = report.release
    print_fields(
        [
            (label("kernel.view.release"), rel.release),
            (label("kernel.view.version"), rel.version),
            (label("kernel.view.machine"), rel.machine),
        ]
        + ([("/proc/version", rel.proc_version)] if rel.proc_version else []),
        title=label("kernel.view.running_title"),
    )
    out.sentence(explain.release_sentence(report))

    print_heading(
        label("kernel.view.config_title", source=report.config_source or label("kernel.view.not_found"))
    )
    if report.config:
        absent = label("kernel.view.absent")
        print_table(
            [label("kernel.view.option"), label("kernel.view.value"), label("kernel.view.decides")],
            [
                (f.option, absent if f.value is None else f.value, explain.config_meaning(f.option))
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
            (
                label("kernel.view.text_runtime"),
                "-" if k.runtime_text is None else format_hex(k.runtime_text),
            ),
            (label("kernel.view.text_link"), "-" if k.link_text is None else format_hex(k.link_text)),
            (
                label("kernel.view.offset"),
                label("kernel.view.unknown") if k.offset is None else format_hex(k.offset),
            ),
            (label("kernel.view.method"), explain.kaslr_method(k)),
        ]
    )
    out.sentence(explain.kaslr_sentence(report))


def _symbols(report: KernelReport) -> None:
    print_heading(label("kernel.view.symbols_title", source=report.kallsyms_path))
    text = report.address("_text")
    offset = label("kernel.view.from_text")
    print_table(
        [label("kernel.view.symbol"), label("kernel.view.address"), label("kernel.view.type"), offset],
        [
            (
                s.name,
                "-" if s.address is None else format_hex(s.address),
                s.type or "",
                "" if s.address is None or text is None else f"+{format_hex(s.address - text)}",
            )
            for s in report.symbols
        ],
        right=[offset],
    )


def show_image(report: KernelImageReport, out: Output) -> None:
    """`kernlab kernel --image FILE`: the file's kernel, its packing, and whether it runs."""
    from kernlab.units import format_bytes

    def size(value: int | None) -> str:
        return "-" if value is None else explain.size_text(value, format_bytes(value))

    protocol = (
        label("kernel.view.boot_protocol", version=report.boot_protocol) if report.boot_protocol else ""
    )
    # The format (bzImage, ELF …), the compression (gzip, zstd …) and the symbol source
    # (kallsyms, System.map) are names, the same in every language.
    print_fields(
        [
            (label("kernel.view.file"), report.path),
            (label("kernel.view.format"), report.format + protocol),
            (label("kernel.view.image_release"), report.release or "-"),
            (label("kernel.view.build"), report.build or "-"),
            (label("kernel.view.banner"), report.banner or "-"),
            (label("kernel.view.compression"), report.compression or label("kernel.view.none")),
            (
                label("kernel.view.payload_offset"),
                "-" if report.payload_offset is None else format_hex(report.payload_offset),
            ),
            (
                label("kernel.view.size_in_file"),
                size(report.compressed_size if report.compression else report.file_size),
            ),
            (label("kernel.view.decompressed"), size(report.decompressed_size)),
            (label("kernel.view.machine"), report.arch),
            (label("kernel.view.entry"), format_hex(report.entry)),
            (label("kernel.view.running_release"), report.running_release),
            (
                label("kernel.view.is_running"),
                label("common.view.yes" if report.running else "common.view.no"),
            ),
            (label("kernel.view.config"), report.config or "-"),
            (label("kernel.view.symbols"), f"{report.symbols.source}, {report.symbols.count:,}"),
        ],
        title=label("kernel.view.image_title"),
    )
    out.sentences(explain.image_sentences(report))
