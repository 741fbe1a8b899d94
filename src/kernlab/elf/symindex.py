"""Address → symbol, as objdump's ``<sym+0x..>``: a sorted index of the symbols that name code
or data, built once per image."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable

from kernlab.elf.model import Section, Symbol

# Symbols whose value is an address (TLS values are offsets into the TLS block).
_ADDRESS_KINDS = frozenset({"FUNC", "OBJECT", "IFUNC", "NOTYPE"})


def _symbol_rank(sym: Symbol) -> tuple[int, int, int]:
    # At one address prefer a sized symbol, then a global one, then a function.
    return (sym.size > 0, sym.bind in ("GLOBAL", "WEAK"), sym.type in ("FUNC", "IFUNC"))


class AddressIndex:
    """The best symbol at each address, sorted by address."""

    def __init__(self, tables: Iterable[list[Symbol]], thumb: bool) -> None:
        """``tables`` in increasing priority (.dynsym, then .symtab: richer, with local
        functions, it wins at equal addresses); ``thumb``: ARM, whose FUNC values have bit 0
        set for Thumb code."""
        best: dict[int, Symbol] = {}
        for symbols in tables:
            for sym in symbols:
                if sym.type not in _ADDRESS_KINDS or sym.shndx in ("UND", "ABS", "COM") or not sym.name:
                    continue
                if sym.type == "NOTYPE" and (sym.name.startswith("$") or sym.name.startswith(".L")):
                    continue  # ARM/AArch64 mapping symbols and local labels mark code, not functions
                value = sym.value & ~1 if thumb and sym.type == "FUNC" else sym.value
                old = best.get(value)
                if old is None or _symbol_rank(sym) >= _symbol_rank(old):
                    best[value] = sym
        self.addrs = sorted(best)
        self.syms = [best[a] for a in self.addrs]

    def lookup(self, vaddr: int, section_for: Callable[[int], Section | None]) -> tuple[Symbol, int] | None:
        """The symbol containing ``vaddr`` and the offset into it; otherwise the nearest
        preceding symbol when it is in the same section (``section_for`` finds that)."""
        addrs, syms = self.addrs, self.syms
        i = bisect.bisect_right(addrs, vaddr) - 1
        if i < 0:
            return None
        # A containing symbol may start before a nearer, unsized one (labels inside functions).
        for j in range(i, max(i - 64, -1), -1):
            sym = syms[j]
            if sym.size and addrs[j] <= vaddr < addrs[j] + sym.size:
                return sym, vaddr - addrs[j]
        sym = syms[i]
        here = section_for(vaddr)
        if here is not None and sym.section not in (None, here.name):
            return None
        return sym, vaddr - addrs[i]
