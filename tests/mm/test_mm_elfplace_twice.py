"""A file mapped twice: the ELF place comes from the mapping that holds the address."""

from __future__ import annotations

import ctypes
import ctypes.util
import mmap
import os
import subprocess

from kernlab.mm.elfplace import elf_place
from kernlab.proc.maps import classify_vmas, find_vma, read_maps
from tests.conftest import need_tool


def test_second_mapping_of_a_library_does_not_change_the_symbol():
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    address = ctypes.cast(libc.getpid, ctypes.c_void_p).value
    vmas = read_maps("self")
    path = find_vma(vmas, address).path
    # Map the same file again, read-only at offset 0, as an ELF reader does.
    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, prot=mmap.PROT_READ):
        vmas = read_maps("self")
        classify_vmas(vmas, os.readlink("/proc/self/exe"))
        assert sum(1 for v in vmas if v.path == path and v.offset == 0) >= 2
        place = elf_place(vmas, find_vma(vmas, address), address, mmap.PAGESIZE)
    assert place is not None
    nm = subprocess.run([need_tool("nm"), "-D", "--defined-only", path], capture_output=True, text=True)
    names_here = {
        line.split()[-1].split("@")[0]
        for line in nm.stdout.splitlines()
        if int(line.split()[0], 16) == place.elf_vaddr
    }
    assert "getpid" in names_here
