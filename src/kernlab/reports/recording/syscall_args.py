"""Turn the six raw argument registers of ``raw_syscalls:sys_enter`` into strace-like text.

Argument *names and C types* come from the kernel itself: the format file of
``syscalls:sys_enter_<name>`` (one per SYSCALL_DEFINE) in the recording, or, when the recording
has none, the running kernel's tracefs. How a value is shown follows from its type and name
(pointers in hex, ``int`` sign-extended from the register, ``umode_t`` in octal) and, for the
flag and command arguments of the common calls, from the tables below: the uapi headers' values
(include/uapi/asm-generic/fcntl.h, mman-common.h, linux/sched.h, linux/fcntl.h, linux/fs.h,
linux/stat.h) listed in strace's order (its src/xlat/*.in), and printed as strace's
``printflags`` prints them — names in table order, a multi-bit name only when all its bits are
set, leftover bits in hex, 0 as ``0`` (or the table's zero name, ``PROT_NONE``, ``F_OK``).

The strings behind path arguments are not in the registers: ``kernlab record`` captures them
with BPF (recording/path_strings.py) and :class:`StringMatcher` gives each call its own.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from kernlab.errors import BadInput, KernlabError
from kernlab.recording.path_strings import (
    MAX_STRING,
    PathStrings,
    StringRecord,
    exec_masks,
    is_string_argument,
)
from kernlab.recording.reader import Recording
from kernlab.tracing import tracefs
from kernlab.tracing.formats import EventFormat, parse_format

__all__ = [
    "OPEN_FLAGS",
    "OPEN_FLAGS_ARM",
    "ArgFormatter",
    "ArgSpec",
    "StringMatcher",
    "bit_names",
    "quote_string",
]

Flags = list[tuple[str, int]]
"""A flag table in strace's order: (name, value)."""

# open(2) flags, asm-generic values (x86_64, riscv64 ...), in strace's open_mode_flags order;
# O_ACCMODE (the low two bits) is printed first, apart.
OPEN_FLAGS: Flags = [
    ("O_CREAT", 0o100),
    ("O_EXCL", 0o200),
    ("O_NOCTTY", 0o400),
    ("O_TRUNC", 0o1000),
    ("O_APPEND", 0o2000),
    ("O_NONBLOCK", 0o4000),
    ("O_SYNC", 0o4010000),  # __O_SYNC|O_DSYNC, before O_DSYNC
    ("__O_SYNC", 0o4000000),
    ("O_DSYNC", 0o10000),
    ("O_DIRECT", 0o40000),
    ("O_LARGEFILE", 0o100000),
    ("O_NOFOLLOW", 0o400000),
    ("O_NOATIME", 0o1000000),
    ("O_CLOEXEC", 0o2000000),
    ("O_PATH", 0o10000000),
    ("O_TMPFILE", 0o20200000),  # __O_TMPFILE|O_DIRECTORY, before O_DIRECTORY
    ("__O_TMPFILE", 0o20000000),
    ("O_DIRECTORY", 0o200000),
    ("FASYNC", 0o20000),
]
# arm/arm64 move four bits (arch/arm64/include/uapi/asm/fcntl.h)
_ARM_VALUES = {
    "O_DIRECTORY": 0o40000,
    "O_NOFOLLOW": 0o100000,
    "O_DIRECT": 0o200000,
    "O_LARGEFILE": 0o400000,
    "O_TMPFILE": 0o20040000,
}
OPEN_FLAGS_ARM: Flags = [(name, _ARM_VALUES.get(name, value)) for name, value in OPEN_FLAGS]
OPEN_ACCESS: dict[int, str] = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR", 3: "O_ACCMODE"}
O_CREAT_OR_TMPFILE = 0o100 | 0o20000000

PROT_FLAGS: Flags = [
    ("PROT_NONE", 0),
    ("PROT_READ", 0x1),
    ("PROT_WRITE", 0x2),
    ("PROT_EXEC", 0x4),
    ("PROT_SEM", 0x8),
    ("PROT_GROWSDOWN", 0x01000000),
    ("PROT_GROWSUP", 0x02000000),
]
MAP_TYPES: dict[int, str] = {1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}
MAP_TYPE_MASK = 0xF
MAP_HUGE_SHIFT = 26
MAP_HUGE_MASK = 0x3F
# strace's mmap_flags order (x86_64 / asm-generic values)
MAP_FLAGS: Flags = [
    ("MAP_DROPPABLE", 0x8),
    ("MAP_FIXED", 0x10),
    ("MAP_ANONYMOUS", 0x20),
    ("MAP_32BIT", 0x40),
    ("MAP_ABOVE4G", 0x80),
    ("MAP_NORESERVE", 0x4000),
    ("MAP_POPULATE", 0x8000),
    ("MAP_NONBLOCK", 0x10000),
    ("MAP_GROWSDOWN", 0x100),
    ("MAP_DENYWRITE", 0x800),
    ("MAP_EXECUTABLE", 0x1000),
    ("MAP_LOCKED", 0x2000),
    ("MAP_STACK", 0x20000),
    ("MAP_HUGETLB", 0x40000),
    ("MAP_SYNC", 0x80000),
    ("MAP_FIXED_NOREPLACE", 0x100000),
]
_X86_ONLY_MAP = {"MAP_32BIT", "MAP_ABOVE4G"}
MREMAP_FLAGS: Flags = [("MREMAP_MAYMOVE", 1), ("MREMAP_FIXED", 2), ("MREMAP_DONTUNMAP", 4)]
CLONE_FLAGS: Flags = [
    ("CLONE_VM", 0x100),
    ("CLONE_FS", 0x200),
    ("CLONE_FILES", 0x400),
    ("CLONE_SIGHAND", 0x800),
    ("CLONE_PIDFD", 0x1000),
    ("CLONE_PTRACE", 0x2000),
    ("CLONE_VFORK", 0x4000),
    ("CLONE_PARENT", 0x8000),
    ("CLONE_THREAD", 0x10000),
    ("CLONE_NEWNS", 0x20000),
    ("CLONE_SYSVSEM", 0x40000),
    ("CLONE_SETTLS", 0x80000),
    ("CLONE_PARENT_SETTID", 0x100000),
    ("CLONE_CHILD_CLEARTID", 0x200000),
    ("CLONE_UNTRACED", 0x800000),
    ("CLONE_CHILD_SETTID", 0x1000000),
    ("CLONE_NEWCGROUP", 0x2000000),
    ("CLONE_NEWUTS", 0x4000000),
    ("CLONE_NEWIPC", 0x8000000),
    ("CLONE_NEWUSER", 0x10000000),
    ("CLONE_NEWPID", 0x20000000),
    ("CLONE_NEWNET", 0x40000000),
    ("CLONE_IO", 0x80000000),
]
CSIGNAL = 0xFF
AT_FLAGS: Flags = [
    ("AT_SYMLINK_NOFOLLOW", 0x100),
    ("AT_REMOVEDIR", 0x200),
    ("AT_SYMLINK_FOLLOW", 0x400),
    ("AT_NO_AUTOMOUNT", 0x800),
    ("AT_EMPTY_PATH", 0x1000),
    ("AT_RECURSIVE", 0x8000),
]
UNLINKAT_FLAGS: Flags = [("AT_REMOVEDIR", 0x200)]
FACCESSAT_FLAGS: Flags = [("AT_SYMLINK_NOFOLLOW", 0x100), ("AT_EACCESS", 0x200), ("AT_EMPTY_PATH", 0x1000)]
STATX_SYNC_TYPES: Flags = [
    ("AT_STATX_SYNC_AS_STAT", 0),
    ("AT_STATX_FORCE_SYNC", 0x2000),
    ("AT_STATX_DONT_SYNC", 0x4000),
]
AT_STATX_SYNC_TYPE = 0x6000
STATX_MASKS: Flags = [
    ("STATX_ALL", 0xFFF),
    ("STATX_BASIC_STATS", 0x7FF),
    ("STATX_TYPE", 0x1),
    ("STATX_MODE", 0x2),
    ("STATX_NLINK", 0x4),
    ("STATX_UID", 0x8),
    ("STATX_GID", 0x10),
    ("STATX_ATIME", 0x20),
    ("STATX_MTIME", 0x40),
    ("STATX_CTIME", 0x80),
    ("STATX_INO", 0x100),
    ("STATX_SIZE", 0x200),
    ("STATX_BLOCKS", 0x400),
    ("STATX_BTIME", 0x800),
    ("STATX_MNT_ID", 0x1000),
    ("STATX_DIOALIGN", 0x2000),
    ("STATX_MNT_ID_UNIQUE", 0x4000),
    ("STATX_SUBVOL", 0x8000),
    ("STATX_WRITE_ATOMIC", 0x10000),
    ("STATX_DIO_READ_ALIGN", 0x20000),
]
RENAME_FLAGS: Flags = [("RENAME_NOREPLACE", 1), ("RENAME_EXCHANGE", 2), ("RENAME_WHITEOUT", 4)]
ACCESS_MODES: Flags = [("F_OK", 0), ("R_OK", 4), ("W_OK", 2), ("X_OK", 1)]
FD_FLAGS: Flags = [("FD_CLOEXEC", 1)]
FCNTL_COMMANDS: dict[int, str] = {
    0: "F_DUPFD",
    1: "F_GETFD",
    2: "F_SETFD",
    3: "F_GETFL",
    4: "F_SETFL",
    5: "F_GETLK",
    6: "F_SETLK",
    7: "F_SETLKW",
    8: "F_SETOWN",
    9: "F_GETOWN",
    10: "F_SETSIG",
    11: "F_GETSIG",
    15: "F_SETOWN_EX",
    16: "F_GETOWN_EX",
    17: "F_GETOWNER_UIDS",
    36: "F_OFD_GETLK",
    37: "F_OFD_SETLK",
    38: "F_OFD_SETLKW",
    1024: "F_SETLEASE",
    1025: "F_GETLEASE",
    1026: "F_NOTIFY",
    1027: "F_DUPFD_QUERY",
    1028: "F_CREATED_QUERY",
    1029: "F_CANCELLK",
    1030: "F_DUPFD_CLOEXEC",
    1031: "F_SETPIPE_SZ",
    1032: "F_GETPIPE_SZ",
    1033: "F_ADD_SEALS",
    1034: "F_GET_SEALS",
    1035: "F_GET_RW_HINT",
    1036: "F_SET_RW_HINT",
    1037: "F_GET_FILE_RW_HINT",
    1038: "F_SET_FILE_RW_HINT",
}
# fcntl commands strace prints without their third argument
FCNTL_NO_ARG = frozenset({1, 3, 9, 11, 1025, 1029, 1032, 1034, 1028})
SEEK_WHENCE: dict[int, str] = {0: "SEEK_SET", 1: "SEEK_CUR", 2: "SEEK_END", 3: "SEEK_DATA", 4: "SEEK_HOLE"}
MADVISE: dict[int, str] = {
    0: "MADV_NORMAL",
    1: "MADV_RANDOM",
    2: "MADV_SEQUENTIAL",
    3: "MADV_WILLNEED",
    4: "MADV_DONTNEED",
    8: "MADV_FREE",
    9: "MADV_REMOVE",
    10: "MADV_DONTFORK",
    11: "MADV_DOFORK",
    12: "MADV_MERGEABLE",
    13: "MADV_UNMERGEABLE",
    14: "MADV_HUGEPAGE",
    15: "MADV_NOHUGEPAGE",
    16: "MADV_DONTDUMP",
    17: "MADV_DODUMP",
    18: "MADV_WIPEONFORK",
    19: "MADV_KEEPONFORK",
    20: "MADV_COLD",
    21: "MADV_PAGEOUT",
    22: "MADV_POPULATE_READ",
    23: "MADV_POPULATE_WRITE",
    24: "MADV_DONTNEED_LOCKED",
    25: "MADV_COLLAPSE",
    100: "MADV_HWPOISON",
    101: "MADV_SOFT_OFFLINE",
    102: "MADV_GUARD_INSTALL",
    103: "MADV_GUARD_REMOVE",
}
# file type bits of a mode (mknod): S_IFMT and its names
S_IFMT = 0o170000
FILE_TYPES: dict[int, str] = {
    0o140000: "S_IFSOCK",
    0o120000: "S_IFLNK",
    0o100000: "S_IFREG",
    0o060000: "S_IFBLK",
    0o040000: "S_IFDIR",
    0o020000: "S_IFCHR",
    0o010000: "S_IFIFO",
}
# signal numbers shared by x86, arm, arm64, riscv (asm-generic/signal.h)
SIGNALS: dict[int, str] = {
    1: "SIGHUP",
    2: "SIGINT",
    3: "SIGQUIT",
    4: "SIGILL",
    5: "SIGTRAP",
    6: "SIGABRT",
    7: "SIGBUS",
    8: "SIGFPE",
    9: "SIGKILL",
    10: "SIGUSR1",
    11: "SIGSEGV",
    12: "SIGUSR2",
    13: "SIGPIPE",
    14: "SIGALRM",
    15: "SIGTERM",
    16: "SIGSTKFLT",
    17: "SIGCHLD",
    18: "SIGCONT",
    19: "SIGSTOP",
    20: "SIGTSTP",
    21: "SIGTTIN",
    22: "SIGTTOU",
    23: "SIGURG",
    24: "SIGXCPU",
    25: "SIGXFSZ",
    26: "SIGVTALRM",
    27: "SIGPROF",
    28: "SIGWINCH",
    29: "SIGIO",
    30: "SIGPWR",
    31: "SIGSYS",
}
AT_FDCWD = -100

# (syscall name, argument name) -> how to show it
ARG_STYLES: dict[tuple[str, str], str] = {
    ("open", "flags"): "open",
    ("openat", "flags"): "open",
    ("open", "mode"): "open_mode",
    ("openat", "mode"): "open_mode",
    ("creat", "mode"): "mode",
    ("mkdir", "mode"): "mode",
    ("mkdirat", "mode"): "mode",
    ("chmod", "mode"): "mode",
    ("fchmod", "mode"): "mode",
    ("fchmodat", "mode"): "mode",
    ("fchmodat2", "mode"): "mode",
    ("mknod", "mode"): "file_mode",
    ("mknodat", "mode"): "file_mode",
    ("umask", "mask"): "mode",
    ("mmap", "prot"): "prot",
    ("mprotect", "prot"): "prot",
    ("pkey_mprotect", "prot"): "prot",
    ("mmap", "flags"): "map",
    ("mmap", "addr"): "address",
    ("mmap", "off"): "hex",
    ("munmap", "addr"): "address",
    ("mprotect", "start"): "address",
    ("pkey_mprotect", "start"): "address",
    ("madvise", "start"): "address",
    ("mremap", "addr"): "address",
    ("mremap", "new_addr"): "address",
    ("brk", "brk"): "address",
    ("mremap", "flags"): "mremap",
    ("madvise", "behavior"): "madvise",
    ("clone", "clone_flags"): "clone",
    ("unshare", "unshare_flags"): "unshare",
    ("access", "mode"): "access",
    ("faccessat", "mode"): "access",
    ("faccessat2", "mode"): "access",
    ("faccessat2", "flags"): "faccessat",
    ("newfstatat", "flag"): "at",
    ("fstatat64", "flag"): "at",
    ("statx", "flags"): "statx",
    ("statx", "mask"): "statx_mask",
    ("unlinkat", "flag"): "unlinkat",
    ("fchownat", "flag"): "at",
    ("utimensat", "flags"): "at",
    ("linkat", "flags"): "at",
    ("execveat", "flags"): "at",
    ("name_to_handle_at", "flag"): "at",
    ("fchmodat2", "flags"): "at",
    ("renameat2", "flags"): "rename",
    ("fcntl", "cmd"): "fcntl_cmd",
    ("fcntl", "arg"): "fcntl_arg",
    ("lseek", "whence"): "whence",
    ("dup3", "flags"): "o_flags",
    ("pipe2", "flags"): "o_flags",
}
FD_NAMES = frozenset({"fd", "dfd", "oldfd", "newfd", "olddfd", "newdfd", "epfd", "fd_in", "fd_out", "pidfd"})
SIZE_NAMES = frozenset({"count", "len", "size", "bufsiz", "nbytes", "length", "vlen", "iovcnt", "nr", "pos"})


def bit_names(value: int, table: Flags) -> list[str]:
    """strace's printflags: names of the flags set in ``value``, in table order (a multi-bit
    flag only when all its bits are set, its bits then taken), and the leftover bits in hex.
    A zero-valued name (PROT_NONE, F_OK) stands for a value of 0; otherwise 0 gives []."""
    names: list[str] = []
    left = value
    for name, mask in table:
        if (mask == 0 and value == 0) or (mask and left & mask == mask):
            names.append(name)
            left &= ~mask
        if not left and names:
            break
    if left:
        names.append(f"{left:#x}")
    return names


def _flags(value: int, table: Flags) -> str:
    return "|".join(bit_names(value, table)) or "0"


def quote_string(data: bytes, truncated: bool = False) -> str:
    """A C string as strace quotes it: \\" \\\\ \\t \\n \\v \\f \\r, printable ASCII as is, any other
    byte in octal (three digits when a digit follows), ``...`` after a string cut short."""
    out = ['"']
    specials = {0x22: '\\"', 0x5C: "\\\\", 0x09: "\\t", 0x0A: "\\n", 0x0B: "\\v", 0x0C: "\\f", 0x0D: "\\r"}
    for i, byte in enumerate(data):
        if byte in specials:
            out.append(specials[byte])
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            following = data[i + 1] if i + 1 < len(data) else None
            if following is not None and 0x30 <= following <= 0x37:
                out.append(f"\\{byte:03o}")
            else:
                out.append(f"\\{byte:o}")
    out.append('"')
    if truncated:
        out.append("...")
    return "".join(out)


@dataclass(frozen=True)
class ArgSpec:
    """One argument: its name and C type, from sys_enter_<name>/format."""

    name: str
    type: str
    signed: bool
    size: int


def _signed(value: int, bits: int) -> int:
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


class ArgFormatter:
    """Formats one call's arguments; caches each syscall's ArgSpecs."""

    def __init__(self, rec: Recording | None, machine: str = "x86_64") -> None:
        self._rec = rec
        self._specs: dict[str, list[ArgSpec] | None] = {}
        self.from_live_kernel = False
        """True once some argument names had to come from the running kernel's tracefs."""
        self.open_flags = OPEN_FLAGS_ARM if machine.startswith(("aarch64", "arm")) else OPEN_FLAGS
        x86 = machine in ("x86_64", "i386", "i686")
        self.map_flags = MAP_FLAGS if x86 else [(n, v) for n, v in MAP_FLAGS if n not in _X86_ONLY_MAP]
        self.machine = machine

    def _event_names(self, name: str) -> list[str]:
        # The event is named after SYSCALL_DEFINE (newstat), not always the table name (stat).
        names = [name]
        from kernlab.syscalls.tables import lookup

        try:
            function = lookup(name, self.machine).function
        except KernlabError:  # a name or arch the tables do not know: the table name only
            return names
        if function and function not in names:
            names.append(function)
        return names

    def _load_format(self, name: str) -> EventFormat | None:
        for event in self._event_names(name):
            fmt = self._load_one(event)
            if fmt is not None:
                return fmt
        return None

    def _load_one(self, name: str) -> EventFormat | None:
        event = f"sys_enter_{name}"
        if self._rec is not None:
            fmt = self._rec.syscall_format(event)
            if fmt is not None or self._rec.has_syscall_formats:
                return fmt
        # An older recording without the formats: this machine's, and the listing says so.
        raw = tracefs.read_live_file(f"events/syscalls/{event}/format")
        if raw is None:
            return None
        try:
            fmt = parse_format(raw.decode("utf-8", errors="replace"), "syscalls")
        except BadInput:
            return None
        self.from_live_kernel = True
        return fmt

    def specs(self, name: str) -> list[ArgSpec] | None:
        if name not in self._specs:
            fmt = self._load_format(name)
            if fmt is None:
                self._specs[name] = None
            else:
                self._specs[name] = [
                    ArgSpec(f.name, f.type, f.signed, f.size)
                    for f in fmt.payload_fields
                    if f.name != "__syscall_nr"
                ]
        return self._specs[name]

    def format_value(
        self, syscall: str, spec: ArgSpec, value: int, values: tuple[int, ...] = ()
    ) -> str | None:
        """One argument as strace spells it; None when strace leaves it out (openat's mode
        without O_CREAT/O_TMPFILE, fcntl's arg of F_GETFD ...). ``values`` are all the call's
        registers, for an argument whose meaning depends on another."""
        style = ARG_STYLES.get((syscall, spec.name))
        if style is not None:
            return self._styled(style, syscall, value, values)
        ctype = spec.type
        if "*" in ctype:
            return "NULL" if value == 0 else f"{value:#x}"
        if spec.name in FD_NAMES:
            fd = _signed(value, 32)
            return "AT_FDCWD" if fd == AT_FDCWD else str(fd)
        if "umode_t" in ctype or spec.name == "mode":
            return _mode(value)
        if ctype in ("int", "pid_t", "long", "off_t", "loff_t", "key_serial_t", "timer_t", "clockid_t"):
            return str(_signed(value, 32 if ctype in ("int", "pid_t", "clockid_t", "timer_t") else 64))
        if spec.name in SIZE_NAMES or ctype in ("size_t", "unsigned int", "u32", "unsigned"):
            return str(value)
        return f"{value:#x}" if value > 0xFFFF else str(value)

    def _styled(self, style: str, syscall: str, value: int, values: tuple[int, ...]) -> str | None:
        value32 = value & 0xFFFFFFFF
        if style == "open":
            rest = bit_names(value32 & ~3, self.open_flags)
            return "|".join([OPEN_ACCESS[value32 & 3], *rest])
        if style == "open_mode":
            # open(filename, flags, mode), openat(dfd, filename, flags, mode)
            where = 1 if syscall == "open" else 2
            flags = values[where] if len(values) > where else O_CREAT_OR_TMPFILE
            return _mode(value) if flags & O_CREAT_OR_TMPFILE else None
        if style == "o_flags":
            return _flags(value32, self.open_flags)
        if style == "mode":
            return _mode(value)
        if style == "address":
            return "NULL" if value == 0 else f"{value:#x}"
        if style == "hex":
            return f"{value:#x}" if value else "0"
        if style == "file_mode":
            return _file_mode(value)
        if style == "prot":
            return _flags(value, PROT_FLAGS)
        if style == "map":
            return self._map_flags(value)
        if style == "mremap":
            return _flags(value, MREMAP_FLAGS)
        if style == "madvise":
            return MADVISE.get(_signed(value, 32), str(_signed(value, 32)))
        if style in ("clone", "unshare"):
            signal = value & CSIGNAL if style == "clone" else 0
            names = (
                bit_names(value & ~CSIGNAL, CLONE_FLAGS)
                if style == "clone"
                else bit_names(value, CLONE_FLAGS)
            )
            if signal:
                names.append(SIGNALS.get(signal, str(signal)))
            return "|".join(names) or "0"
        if style == "access":
            return "|".join(bit_names(value32, ACCESS_MODES))
        if style == "faccessat":
            return _flags(value32, FACCESSAT_FLAGS)
        if style == "at":
            return _flags(value32, AT_FLAGS)
        if style == "unlinkat":
            return _flags(value32, UNLINKAT_FLAGS)
        if style == "statx":
            names = bit_names(value32 & AT_STATX_SYNC_TYPE, STATX_SYNC_TYPES)
            if value32 & ~AT_STATX_SYNC_TYPE:
                names += bit_names(value32 & ~AT_STATX_SYNC_TYPE, AT_FLAGS)
            return "|".join(names)
        if style == "statx_mask":
            return _flags(value32, STATX_MASKS)
        if style == "rename":
            return _flags(value32, RENAME_FLAGS)
        if style == "whence":
            return SEEK_WHENCE.get(value32, str(value32))
        if style == "fcntl_cmd":
            return FCNTL_COMMANDS.get(value32, f"{value32:#x}")
        if style == "fcntl_arg":
            cmd = values[1] & 0xFFFFFFFF if len(values) > 1 else -1
            if cmd in FCNTL_NO_ARG:
                return None
            if cmd == 2:  # F_SETFD
                return _flags(value, FD_FLAGS)
            if cmd == 4:  # F_SETFL
                return "|".join([OPEN_ACCESS[value32 & 3], *bit_names(value32 & ~3, self.open_flags)])
            if cmd == 10:  # F_SETSIG
                return SIGNALS.get(value32, str(value32))
            if cmd in (0, 1030, 1031, 8):  # F_DUPFD, F_DUPFD_CLOEXEC, F_SETPIPE_SZ, F_SETOWN
                return str(_signed(value, 32))
            return "NULL" if value == 0 else f"{value:#x}"
        raise ValueError(f"unknown argument style {style}")

    def _map_flags(self, value: int) -> str:
        names = [MAP_TYPES.get(value & MAP_TYPE_MASK, f"{value & MAP_TYPE_MASK:#x}")]
        huge = value & (MAP_HUGE_MASK << MAP_HUGE_SHIFT)
        rest = value & ~MAP_TYPE_MASK & ~huge
        if rest:
            names += bit_names(rest, self.map_flags)
        if huge:
            names.append(f"{huge >> MAP_HUGE_SHIFT}<<MAP_HUGE_SHIFT")
        return "|".join(names)

    def string_args(self, syscall: str) -> list[int]:
        """Indices of the arguments that are C strings (file names ...), as the recorder picks them."""
        specs = self.specs(syscall) or []
        return [i for i, spec in enumerate(specs) if is_string_argument(spec.type, spec.name)]

    def format_args(
        self, syscall: str, values: tuple[int, ...], strings: dict[int, StringRecord] | None = None
    ) -> str:
        """``dfd=AT_FDCWD, filename="/etc/ld.so.cache", flags=O_RDONLY|O_CLOEXEC`` — or the raw
        registers when names are unknown. A string argument shows its captured text when
        ``strings`` has it (and its read succeeded), else its address."""
        specs = self.specs(syscall)
        if specs is None:
            return ", ".join(f"{v:#x}" for v in values)
        parts = []
        for index, (spec, value) in enumerate(zip(specs, values, strict=False)):
            record = strings.get(index) if strings else None
            if record is not None and record.length > 0:
                text: str | None = quote_string(record.data, truncated=record.length >= MAX_STRING)
            else:
                text = self.format_value(syscall, spec, value, values)
            if text is not None:
                parts.append(f"{spec.name}={text}")
        return ", ".join(parts)


def _octal(value: int) -> str:
    """C's ``%#03o``: octal with a leading 0, at least three digits (``000``, ``007``, ``0644``)."""
    text = f"0{value:o}" if value else "0"
    return text.rjust(3, "0")


def _mode(value: int) -> str:
    """A umode_t as strace prints it (print_numeric_umode_t: an unsigned short in ``%#03o``)."""
    return _octal(value & 0xFFFF)


def _file_mode(value: int) -> str:
    """mknod's mode as strace's print_symbolic_mode_t: ``S_IFREG|0644``, set-id bits by name."""
    value &= 0xFFFF
    kind = FILE_TYPES.get(value & S_IFMT) if value & S_IFMT else ""
    if kind is None:
        return _octal(value)
    names = [kind] if kind else []
    names += [n for n, bit in (("S_ISUID", 0o4000), ("S_ISGID", 0o2000), ("S_ISVTX", 0o1000)) if value & bit]
    return "|".join([*names, _octal(value & 0o777)])


class StringMatcher:
    """Gives each recorded call the strings captured at its entry.

    Matching is per thread and per system call, in order: the k-th ``openat`` a thread entered in
    the trace is the k-th ``openat`` of that thread the BPF program saw, because both come from
    the one ``sys_enter`` tracepoint and a thread makes one call at a time. The trace clock
    (``local`` by default) and BPF's CLOCK_MONOTONIC are different clocks, so time is used only to
    cut the edges: records from before tracing was turned on (``meta.start_time_ns``, taken just
    before) or after it was turned off are dropped. Each pair is then checked: the pointer the BPF
    program read must equal the register in the trace record; on a mismatch (a record lost on
    either side) the next few records are searched for the one that agrees, and a call none
    agrees with keeps its address.
    """

    LOOKAHEAD = 8

    def __init__(self, strings: PathStrings, start_ns: int = 0, end_ns: int = 0, machine: str = "") -> None:
        self.matched = 0
        self.unmatched = 0
        self._queues: dict[tuple[int, int], deque[dict[int, StringRecord]]] = {}
        # Exec names sent without their call (EXEC_UNBOUND): per thread, in order, for the
        # thread's execve/execveat calls that no record read at the exit (a failed one) matches.
        self._execs: dict[int, deque[StringRecord]] = {}
        self._exec_masks = exec_masks(machine) if machine else {}
        calls: dict[tuple[int, int], dict[int, StringRecord]] = {}
        order: list[tuple[int, int]] = []
        for rec in sorted(strings.records, key=lambda r: r.ktime_ns):
            if (start_ns and rec.ktime_ns < start_ns) or (end_ns and rec.ktime_ns > end_ns):
                continue
            if rec.unbound:
                self._execs.setdefault(rec.tid, deque()).append(rec)
                continue
            # The records of one call share its tid and its one ktime stamp.
            key = (rec.tid, rec.ktime_ns)
            if key not in calls:
                calls[key] = {}
                order.append(key)
            known = calls[key].get(rec.arg)
            if known is None or known.length <= 0:  # a read at exit replaces a failed one at entry
                calls[key][rec.arg] = rec
        order.sort(key=lambda k: k[1])
        for key in order:
            call = calls[key]
            nr = next(iter(call.values())).nr
            self._queues.setdefault((key[0], nr), deque()).append(call)

    def take(self, tid: int, nr: int, args: tuple[int, ...]) -> dict[int, StringRecord] | None:
        """The strings of this call (the next of ``tid``'s calls ``nr``); None when none matches."""
        queue = self._queues.get((tid, nr))
        for i, call in enumerate(queue or ()):
            if i >= self.LOOKAHEAD:
                break
            if all(index < len(args) and args[index] == rec.pointer for index, rec in call.items()):
                assert queue is not None
                for _ in range(i):
                    queue.popleft()  # captured for calls the trace does not have
                queue.popleft()
                self.matched += 1
                return call
        execs = self._execs.get(tid)
        if execs and nr in self._exec_masks:
            bound = execs.popleft().bind(nr, args, self._exec_masks[nr])
            self.matched += 1
            return {bound.arg: bound}
        self.unmatched += 1
        return None
