from collections.abc import Callable, Mapping

from kernlab.elf.disasm.model import SyscallNote
from kernlab.elf.disasm.symbols import NamerTables

def known_texts(
    records: bytes,
    code: bytes,
    base: int,
    plain: dict[bytes, str],
    heads: dict[int, str],
    targets: dict[int, str],
    name_target: Callable[[int], str],
    mask: int,
    fills: tuple[
        bool,
        Mapping[bytes, object],
        dict[bytes, tuple[int, str, int]],
        dict[int, str | None],
        Callable[[int], str | None],
        str,
        NamerTables | None,
    ]
    | None = None,
    /,
) -> tuple[list[tuple[int, bytes, str, SyscallNote | None]], list[int]]: ...
def set_tables(map1: bytes, map2: bytes, folded: bytes, vex_imm8: bytes, legacy: bytes, /) -> None: ...
def measure(raw: bytes, mode64: bool, /) -> tuple[int, int, int, tuple[tuple[int, int, int], ...]] | None: ...
def name(tables: NamerTables | None, address: int, /) -> str | None: ...
