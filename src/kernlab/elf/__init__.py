"""ELF files: structure (reader), disassembly (disasm), shared-library resolution (ldd).

The public entry point is :func:`kernlab.elf.reader.open_elf`, which returns an
:class:`kernlab.elf.reader.ElfImage`.
"""
