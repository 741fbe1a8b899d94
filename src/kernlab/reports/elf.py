"""`kernlab elf FILE`: what an ELF file is — its summary and each part readelf shows."""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass

from kernlab.elf.model import DynamicEntry, ElfHeader, ElfSummary, Note, Section, Segment, Symbol
from kernlab.elf.reader import ElfImage, open_elf
from kernlab.elf.summary import summarize
from kernlab.elf.symtab import SymbolColumns

__all__ = ["REPORT_PARTS", "ElfReport", "build", "from_image"]

REPORT_PARTS = ("header", "segments", "sections", "symbols", "dynamic", "notes")


@dataclass(frozen=True)
class ElfReport:
    """Everything `kernlab elf` shows; parts the user did not ask for are None.

    A symbol table too large to turn into :class:`Symbol` objects quickly is kept as its
    columns (``symbol_tables``) and ``symbols`` is None: the JSON writer streams them.
    """

    summary: ElfSummary
    header: ElfHeader | None = None
    segments: tuple[Segment, ...] | None = None
    sections: tuple[Section, ...] | None = None
    symbols: tuple[Symbol, ...] | None = None
    dynamic: tuple[DynamicEntry, ...] | None = None
    notes: tuple[Note, ...] | None = None
    _symbol_tables: tuple[SymbolColumns, ...] = ()

    @property
    def symbol_tables(self) -> tuple[SymbolColumns, ...]:
        """The symbol tables as columns, when they were asked for and kept that way (else empty)."""
        return self._symbol_tables


def from_image(
    image: ElfImage,
    parts: Collection[str] = REPORT_PARTS,
    *,
    columns_above: int | None = None,
) -> ElfReport:
    """The report of an opened file: its summary and each of ``parts``.

    With ``columns_above``, a file with more symbols than that keeps them as columns
    (:attr:`ElfReport.symbol_tables`) instead of building one object per symbol.
    """
    columns: tuple[SymbolColumns, ...] = ()
    symbols: tuple[Symbol, ...] | None = None
    if "symbols" in parts:
        tables = tuple(image.symbol_columns())
        if columns_above is not None and sum(t.count for t in tables) > columns_above:
            columns = tables
        else:
            symbols = tuple(image.symbols())
    return ElfReport(
        summary=summarize(image),
        header=image.header if "header" in parts else None,
        segments=tuple(image.segments) if "segments" in parts else None,
        sections=tuple(image.sections) if "sections" in parts else None,
        symbols=symbols,
        dynamic=tuple(image.dynamic()) if "dynamic" in parts else None,
        notes=tuple(image.notes()) if "notes" in parts else None,
        _symbol_tables=columns,
    )


def build(
    path: str | os.PathLike[str],
    parts: Collection[str] = REPORT_PARTS,
    *,
    columns_above: int | None = None,
) -> ElfReport:
    """Open ``path`` (an ELF file, or a compressed kernel image) and report ``parts`` of it."""
    return from_image(open_elf(path), parts, columns_above=columns_above)
