"""What `kernlab kernel`'s figures mean: the release, config facts, paging, symbols and KASLR."""

from __future__ import annotations

from kernlab.explain import count, say
from kernlab.explain.vtop import paging_phrase
from kernlab.kernel.kallsyms import KALLSYMS
from kernlab.kernel.kaslr import KaslrOffset
from kernlab.reports.kernel import ImageSymbolSource, KernelImageReport, KernelReport

__all__ = [
    "config_meaning",
    "config_sentence",
    "hidden_sentence",
    "image_sentences",
    "image_symbol_sentences",
    "kaslr_method",
    "kaslr_sentence",
    "paging_sentence",
    "release_sentence",
    "size_text",
    "symbol_sentences",
]


def _hex(value: int) -> str:
    return f"0x{value:x}"


def release_sentence(report: KernelReport) -> str:
    rel = report.release
    return say(
        "kernel.release", release=rel.release, machine=rel.machine, table_version=report.syscall_table_version
    )


def config_meaning(option: str) -> str:
    """What one config option decides (a column of the config table)."""
    return say(f"kernel.config.{option}")


def config_sentence(report: KernelReport) -> str | None:
    """Why config facts are left out (None when there are some)."""
    return None if report.config else say("kernel.config_missing", error=report.config_error)


def paging_sentence(report: KernelReport) -> str:
    pg = report.paging
    configured = say("kernel.view.unknown") if pg.configured_levels is None else pg.configured_levels
    if pg.levels_in_use is not None:
        method = paging_phrase(pg.method)
        return count("kernel.paging_detected", pg.levels_in_use, configured=configured, method=method)
    la57 = say("kernel.la57_has") if pg.cpu_la57 else say("kernel.la57_lacks")
    return say("kernel.paging_config_only", configured=configured, la57_text=la57)


# kernel.kaslr words its method in English; the one it uses has a catalog line.
_KASLR_METHODS = {
    "_text in /proc/kallsyms minus __START_KERNEL_map + CONFIG_PHYSICAL_START": (
        "kernel.view.kaslr_from_kallsyms"
    ),
}


def size_text(value: int, short: str) -> str:
    """A size in bytes with its short form: "8,122,340 bytes (7.7 MiB)"."""
    return say("kernel.view.bytes", bytes=count("kernel.view.n.byte", value), size=short)


def kaslr_method(kaslr: KaslrOffset) -> str:
    """How the KASLR figures were found, in the current language."""
    key = _KASLR_METHODS.get(kaslr.method)
    return kaslr.method if key is None else say(key)


def symbol_sentences(report: KernelReport) -> list[str]:
    """Hidden addresses, where start_kernel sits, the system-call path, symbols kallsyms lacks."""
    out: list[str] = []
    if report.kallsyms_hidden:
        out.append(hidden_sentence(report))
    text = report.address("_text")
    start = report.address("start_kernel")
    if start is not None and text is not None:
        out.append(
            say("kernel.vmlinux", start_kernel=_hex(start), offset=_hex(start - text), text=_hex(text))
        )
    elif not report.kallsyms_hidden:
        out.append(say("kernel.no_start_kernel"))
    entry, do_syscall = report.address("entry_SYSCALL_64"), report.address("do_syscall_64")
    if entry is not None and do_syscall is not None:
        switch = report.address("x64_sys_call")
        via = say("kernel.via_switch") if switch is not None else say("kernel.via_table")
        out.append(say("kernel.syscall_path", entry=_hex(entry), do_syscall=_hex(do_syscall), via=via))
    missing = report.missing_symbols
    if missing and not report.kallsyms_error:
        kallsyms_all = report.config_value("CONFIG_KALLSYMS_ALL") or "unknown"
        out.append(say("kernel.kallsyms_missing", missing=", ".join(missing), kallsyms_all=kallsyms_all))
    return out


def kaslr_sentence(report: KernelReport) -> str:
    k = report.kaslr
    randomize = "unknown" if k.randomize_base is None else ("y" if k.randomize_base else "n")
    link = _hex(k.link_text or 0)
    if k.offset is None:
        reason = say(f"kernel.kaslr.reason.{k.unknown_reason or 'other'}", arch=report.release.machine)
        return say("kernel.kaslr.unknown", reason=reason)
    if k.offset == 0 and k.randomize_base is False:
        return say("kernel.kaslr.zero_off", link=link)
    if k.offset == 0:
        return say("kernel.kaslr.zero", link=link, randomize=randomize)
    return say("kernel.kaslr.moved", offset=k.offset, offset_hex=_hex(k.offset), link=link)


def hidden_sentence(report: KernelReport) -> str:
    """Why kallsyms shows zeros: the rule of kallsyms_show_value() that hid them from this process."""
    a = report.access
    kptr = "unknown" if report.kptr_restrict is None else report.kptr_restrict
    if report.kallsyms_path != KALLSYMS or a is None:
        # A saved copy: its zeros say what its reader was allowed, not what this process is.
        return say("kernel.kallsyms_hidden", path=report.kallsyms_path, kptr_restrict=kptr)
    paranoid = "unknown" if a.perf_event_paranoid is None else a.perf_event_paranoid
    cause = a.cause if a.cause in _HIDDEN_CAUSES else "unknown"
    return say(
        f"kernel.kallsyms_hidden_by.{cause}", path=report.kallsyms_path, kptr_restrict=kptr, paranoid=paranoid
    )


# The causes kallsyms_access() can find for hidden addresses; the shown_* ones cannot hide them,
# so zeros seen with those mean the rule changed under us: said as unknown.
_HIDDEN_CAUSES = ("paranoid_no_syslog", "kptr1_no_syslog", "kptr2", "syslog_in_userns", "unknown")


# ------------------------------------------------------------------------------ kernel --image


def image_sentences(report: KernelImageReport) -> list[str]:
    """What the image file is, whether it runs, and where its symbols come from."""
    from kernlab.units import format_bytes

    fields = {
        "path": report.path,
        "release": report.release or "?",
        "arch": report.arch,
        "protocol": report.boot_protocol or "?",
        "compression": report.compression or "?",
        "compressed": format_bytes(report.compressed_size or 0),
        "decompressed": format_bytes(report.decompressed_size),
        "offset": _hex(report.payload_offset or 0),
    }
    out = [say(f"kernel.image.{report.format}", **fields)]
    if report.running:
        out.append(say("kernel.image.running"))
    elif report.same_release:
        out.append(say("kernel.image.other_build", release=report.running_release))
    else:
        out.append(say("kernel.image.not_running", running=report.running_release))
    out.extend(image_symbol_sentences(report.symbols))
    return out


def image_symbol_sentences(symbols: ImageSymbolSource) -> list[str]:
    """Where a stripped kernel's names come from (also said under `kernlab disasm` of one)."""
    out: list[str] = []
    if symbols.placeholder is not None:
        out.append(
            say("kernel.image.placeholder", path=symbols.placeholder, note=symbols.placeholder_note or "")
        )
    if symbols.source == "system_map":
        out.append(count("kernel.image.symbols_map", symbols.count, path=symbols.path or "System.map"))
    elif symbols.source == "kallsyms_table":
        out.append(count("kernel.image.symbols_table", symbols.count))
    elif symbols.source == "symtab":
        out.append(count("kernel.image.symbols_symtab", symbols.count))
    else:
        out.append(say("kernel.image.symbols_none"))
    return out
