"""The C library, bound once, with the prototypes of every function kernlab calls through ctypes.

mmap/munmap/mincore (page cache, paging-level probe), ptrace (recorder), mount (tracefs),
syscall (bpf and perf_event_open probes of doctor), posix_spawn and friends (recorder). The
interpreter is linked against libc, so dlopen(NULL) finds them without the ldconfig/gcc probing
of ctypes.util.find_library; that is the fallback for an interpreter that is not.
"""

from __future__ import annotations

import ctypes
from functools import cache

MAP_FAILED = ctypes.c_void_p(-1).value


@cache
def libc() -> ctypes.CDLL:
    """The process's libc with kernlab's prototypes set (errno kept for ctypes.get_errno())."""
    lib = ctypes.CDLL(None, use_errno=True)
    if not hasattr(lib, "mmap"):  # a statically linked interpreter
        from ctypes.util import find_library

        lib = ctypes.CDLL(find_library("c") or "libc.so.6", use_errno=True)
    vp, size, i, long = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_long
    lib.mmap.restype = vp
    lib.mmap.argtypes = [vp, size, i, i, i, long]
    lib.munmap.argtypes = [vp, size]
    lib.mincore.argtypes = [vp, size, ctypes.c_char_p]
    lib.ptrace.restype = long
    lib.ptrace.argtypes = [long, long, vp, vp]
    lib.syscall.restype = long
    lib.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, vp]
    return lib
