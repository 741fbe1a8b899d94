from collections.abc import Callable, Container

from kernlab.elf.disasm import SyscallNote

def block_lines(
    rows: list[tuple[int, bytes, str, SyscallNote | None]],
    width: int,
    marked: Container[int] | None,
    rare: Callable[[int, bytes, str, SyscallNote | None, int, bool], str],
    /,
) -> str: ...
