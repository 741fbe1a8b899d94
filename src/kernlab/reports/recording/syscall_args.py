"""Turn the six raw argument registers of ``raw_syscalls:sys_enter`` into strace-like text.

Argument *names and C types* come from the kernel itself: the format file of
``syscalls:sys_enter_<name>`` (one per SYSCALL_DEFINE) in the recording, or, when the recording
has none, the running kernel's tracefs. How a value is shown follows from its type and name
(pointers in hex, ``int`` sign-extended from the register, ``umode_t`` in octal) and, for the
flag arguments of a few calls, from the flag tables below, which copy the uapi headers'
values (include/uapi/asm-generic/fcntl.h, mman-common.h, linux/sched.h, linux/fcntl.h).
Only the registers are recorded: strings behind pointers (file names) are not.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernlab.errors import BadInput, KernlabError
from kernlab.recording.reader import Recording
from kernlab.tracing import tracefs
from kernlab.tracing.formats import EventFormat, parse_format

__all__ = ["OPEN_FLAGS", "OPEN_FLAGS_ARM", "ArgFormatter", "ArgSpec", "bit_names"]

# open(2) flags, asm-generic values (x86_64, riscv64 ...); O_ACCMODE is the low two bits.
OPEN_FLAGS: dict[str, int] = {
    "O_CREAT": 0o100,
    "O_EXCL": 0o200,
    "O_NOCTTY": 0o400,
    "O_TRUNC": 0o1000,
    "O_APPEND": 0o2000,
    "O_NONBLOCK": 0o4000,
    "O_DSYNC": 0o10000,
    "O_ASYNC": 0o20000,
    "O_DIRECT": 0o40000,
    "O_LARGEFILE": 0o100000,
    "O_DIRECTORY": 0o200000,
    "O_NOFOLLOW": 0o400000,
    "O_NOATIME": 0o1000000,
    "O_CLOEXEC": 0o2000000,
    "O_SYNC": 0o4010000,
    "O_PATH": 0o10000000,
    "O_TMPFILE": 0o20200000,
}
# arm/arm64 move four bits (arch/arm64/include/uapi/asm/fcntl.h)
OPEN_FLAGS_ARM: dict[str, int] = {
    **OPEN_FLAGS,
    "O_DIRECTORY": 0o40000,
    "O_NOFOLLOW": 0o100000,
    "O_DIRECT": 0o200000,
    "O_LARGEFILE": 0o400000,
    "O_TMPFILE": 0o20040000,
}
OPEN_ACCESS: dict[int, str] = {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR", 3: "O_ACCMODE"}

PROT_FLAGS: dict[str, int] = {
    "PROT_READ": 0x1,
    "PROT_WRITE": 0x2,
    "PROT_EXEC": 0x4,
    "PROT_SEM": 0x8,
    "PROT_GROWSDOWN": 0x01000000,
    "PROT_GROWSUP": 0x02000000,
}
MAP_TYPES: dict[int, str] = {1: "MAP_SHARED", 2: "MAP_PRIVATE", 3: "MAP_SHARED_VALIDATE"}
MAP_FLAGS: dict[str, int] = {
    "MAP_FIXED": 0x10,
    "MAP_ANONYMOUS": 0x20,
    "MAP_GROWSDOWN": 0x100,
    "MAP_DENYWRITE": 0x800,
    "MAP_EXECUTABLE": 0x1000,
    "MAP_LOCKED": 0x2000,
    "MAP_NORESERVE": 0x4000,
    "MAP_POPULATE": 0x8000,
    "MAP_NONBLOCK": 0x10000,
    "MAP_STACK": 0x20000,
    "MAP_HUGETLB": 0x40000,
    "MAP_SYNC": 0x80000,
    "MAP_FIXED_NOREPLACE": 0x100000,
}
CLONE_FLAGS: dict[str, int] = {
    "CLONE_VM": 0x100,
    "CLONE_FS": 0x200,
    "CLONE_FILES": 0x400,
    "CLONE_SIGHAND": 0x800,
    "CLONE_PIDFD": 0x1000,
    "CLONE_PTRACE": 0x2000,
    "CLONE_VFORK": 0x4000,
    "CLONE_PARENT": 0x8000,
    "CLONE_THREAD": 0x10000,
    "CLONE_NEWNS": 0x20000,
    "CLONE_SYSVSEM": 0x40000,
    "CLONE_SETTLS": 0x80000,
    "CLONE_PARENT_SETTID": 0x100000,
    "CLONE_CHILD_CLEARTID": 0x200000,
    "CLONE_DETACHED": 0x400000,
    "CLONE_UNTRACED": 0x800000,
    "CLONE_CHILD_SETTID": 0x1000000,
    "CLONE_NEWCGROUP": 0x2000000,
    "CLONE_NEWUTS": 0x4000000,
    "CLONE_NEWIPC": 0x8000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
    "CLONE_IO": 0x80000000,
}
AT_FLAGS: dict[str, int] = {
    "AT_SYMLINK_NOFOLLOW": 0x100,
    "AT_REMOVEDIR": 0x200,
    "AT_SYMLINK_FOLLOW": 0x400,
    "AT_NO_AUTOMOUNT": 0x800,
    "AT_EMPTY_PATH": 0x1000,
}
AT_FDCWD = -100

# (syscall name, argument name) -> how to show it
ARG_STYLES: dict[tuple[str, str], str] = {
    ("open", "flags"): "open",
    ("openat", "flags"): "open",
    ("mmap", "prot"): "prot",
    ("mprotect", "prot"): "prot",
    ("pkey_mprotect", "prot"): "prot",
    ("mmap", "flags"): "map",
    ("clone", "clone_flags"): "clone",
    ("unshare", "unshare_flags"): "clone",
    ("newfstatat", "flag"): "at",
    ("statx", "flags"): "at",
    ("faccessat2", "flags"): "at",
    ("unlinkat", "flag"): "at",
    ("fchownat", "flag"): "at",
    ("utimensat", "flags"): "at",
    ("linkat", "flags"): "at",
}
FD_NAMES = frozenset({"fd", "dfd", "oldfd", "newfd", "olddfd", "newdfd", "epfd", "fd_in", "fd_out", "pidfd"})
SIZE_NAMES = frozenset({"count", "len", "size", "bufsiz", "nbytes", "length", "vlen", "iovcnt", "nr", "pos"})


@dataclass(frozen=True)
class ArgSpec:
    """One argument: its name and C type, from sys_enter_<name>/format."""

    name: str
    type: str
    signed: bool
    size: int


def bit_names(value: int, table: dict[str, int]) -> list[str]:
    """Names of the flags set in ``value`` (multi-bit flags only when all their bits are set),
    and the leftover bits in hex."""
    names = []
    left = value
    for name, mask in sorted(table.items(), key=lambda kv: -bin(kv[1]).count("1")):
        if mask and value & mask == mask and left & mask:
            names.append(name)
            left &= ~mask
    if left:
        names.append(f"{left:#x}")
    return names


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

    def format_value(self, syscall: str, spec: ArgSpec, value: int) -> str:
        style = ARG_STYLES.get((syscall, spec.name))
        if style == "open":
            access = OPEN_ACCESS[value & 3]
            rest = bit_names(value & ~3 & 0xFFFFFFFF, self.open_flags)
            return "|".join([access, *rest])
        if style == "prot":
            return "|".join(bit_names(value, PROT_FLAGS)) or "PROT_NONE"
        if style == "map":
            kind = MAP_TYPES.get(value & 0xF, f"{value & 0xF:#x}")
            return "|".join([kind, *bit_names(value & ~0xF, MAP_FLAGS)])
        if style == "clone":
            names = bit_names(value & ~0xFF, CLONE_FLAGS)
            if value & 0xFF:
                names.append(f"SIG{value & 0xFF}" if (value & 0xFF) != 17 else "SIGCHLD")
            return "|".join(names) or "0"
        if style == "at":
            return "|".join(bit_names(value, AT_FLAGS)) or "0"
        ctype = spec.type
        if "*" in ctype:
            return "NULL" if value == 0 else f"{value:#x}"
        if spec.name in FD_NAMES:
            fd = _signed(value, 32)
            return "AT_FDCWD" if fd == AT_FDCWD else str(fd)
        if "umode_t" in ctype or spec.name == "mode":
            mode = value & 0o7777
            return f"0{mode:o}" if mode else "0"
        if ctype in ("int", "pid_t", "long", "off_t", "loff_t", "key_serial_t", "timer_t", "clockid_t"):
            return str(_signed(value, 32 if ctype in ("int", "pid_t", "clockid_t", "timer_t") else 64))
        if spec.name in SIZE_NAMES or ctype in ("size_t", "unsigned int", "u32", "unsigned"):
            return str(value)
        return f"{value:#x}" if value > 0xFFFF else str(value)

    def format_args(self, syscall: str, values: tuple[int, ...]) -> str:
        """``AT_FDCWD, 0x7ffd..., O_RDONLY|O_CLOEXEC`` — or the raw registers when names are unknown."""
        specs = self.specs(syscall)
        if specs is None:
            return ", ".join(f"{v:#x}" for v in values)
        return ", ".join(
            f"{spec.name}={self.format_value(syscall, spec, value)}"
            for spec, value in zip(specs, values, strict=False)
        )
