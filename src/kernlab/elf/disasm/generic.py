"""AArch64, ARM and RISC-V instructions: capstone's text with objdump's targets and numbers.

AArch64 as objdump writes it: ``bl 400510 <puts@plt>``, ``#imm`` offsets in decimal inside
brackets.
"""

from __future__ import annotations

import re
from typing import Any

from kernlab.elf.disasm.symbols import Symbolizer

__all__ = ["GenericFormatter"]


class GenericFormatter:
    """capstone's text for AArch64/ARM/RISC-V, with objdump's targets and decimal offsets."""

    # Instructions whose immediate is an address (besides capstone's jump and call groups).
    ADDRESS_OPERANDS = frozenset({"adr", "adrp"})
    # Jumps through a register, whose immediate is an offset from that register.
    REGISTER_JUMPS = frozenset({"jalr", "jr", "c.jr", "c.jalr"})

    def __init__(self, arch: str, symbolizer: Symbolizer) -> None:
        self.arch = arch
        self.sym = symbolizer
        self.section: str | None = None

    def format(self, insn: Any) -> tuple[str, str, int | None, str | None, str | None]:
        from capstone import CS_GRP_CALL, CS_GRP_JUMP

        mn, ops = insn.mnemonic, insn.op_str
        target = target_name = None
        branch = insn.group(CS_GRP_JUMP) or insn.group(CS_GRP_CALL) or mn in self.ADDRESS_OPERANDS
        if branch and mn not in self.REGISTER_JUMPS:
            # A direct target is the last operand, an immediate: capstone makes it absolute on
            # ARM and AArch64 but leaves RISC-V's relative to the instruction.
            match = re.search(r"(?P<lead>^|, )#?(?P<address>-?0x[0-9a-f]+|-?\d+)$", ops)
            if match:
                target = int(match["address"], 0)
                if self.arch.startswith("riscv"):
                    target = (insn.address + target) & ((1 << 64) - 1)
                target_name = self.sym.name(target, self.section)
                named = f"{target:x} <{target_name}>" if target_name else f"{self.sym.bare_prefix}{target:x}"
                ops = ops[: match.start()] + match["lead"] + named
        comment = None
        if self.arch == "aarch64":
            ops, comment = _aarch64_immediates(mn, ops)
        return mn, ops, target, target_name, comment


_A64_IMM = re.compile(r"(?P<pre>^|, )#(?P<neg>-?)(?P<num>0x[0-9a-f]+|\d+)(?P<post>\]?!?)")
_A64_SHIFTS = (
    "lsl",
    "lsr",
    "asr",
    "ror",
    "msl",
    "sxtw",
    "uxtw",
    "sxtx",
    "uxtx",
    "sxtb",
    "uxtb",
    "sxth",
    "uxth",
)


def _aarch64_immediates(mn: str, ops: str) -> tuple[str, str | None]:
    """GNU objdump's AArch64 numbers: offsets in decimal inside and right after brackets
    (``[sp, #16]``, ``[sp], #16``), other immediates in hex, shift amounts in decimal, and a
    ``// #64`` comment after a mov of a constant."""
    out: list[str] = []
    depth = 0
    comment = None
    pieces = re.split(r"(\[|\])", ops)
    after_bracket = False
    for piece in pieces:
        if piece == "[":
            depth += 1
        elif piece == "]":
            depth -= 1
            after_bracket = True
        elif piece:

            def repl(m: re.Match[str], inside: bool = depth > 0 or after_bracket) -> str:
                value = int(m["num"], 0) * (-1 if m["neg"] else 1)
                before = m.string[: m.start()].rstrip(", ").split(" ")[-1] if m.start() else ""
                if inside or before in _A64_SHIFTS:
                    text = str(value)
                else:
                    text = f"-{-value:#x}" if value < 0 else f"{value:#x}"
                return f"{m['pre']}#{text}{m['post']}"

            piece = _A64_IMM.sub(repl, piece)
            after_bracket = False if depth == 0 and not piece.startswith(",") else after_bracket
        out.append(piece)
    text = "".join(out)
    match = re.fullmatch(r"(\w+), #(-?0x[0-9a-f]+)", text)
    if mn in ("mov", "movz", "movn") and match:
        comment = f"// #{int(match[2], 0)}"
    return text, comment
