"""The shared libraries an ELF file needs, resolved the way ld.so would, without running it.

`ldd` runs the program's dynamic loader in trace mode, so it executes code from the file's
world (a hostile file can run code under ldd). Here the same answer is computed by reading
files only, following glibc's elf/dl-load.c (_dl_map_object) and elf/dl-deps.c:

* every DT_NEEDED name is matched first against the objects already loaded (their needed
  name, SONAME, path, and file identity), so each library is loaded once;
* a name with a '/' is opened as given (after $ORIGIN/$LIB/$PLATFORM expansion);
* otherwise the search is: DT_RPATH of the loading object and of the objects that loaded it
  (only if the loading object has no DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH of the loading
  object, /etc/ld.so.cache (entries for this ABI only), then the loader's system directories
  (skipped, like the cache, when the loader has DF_1_NODEFLIB);
* inside each directory the active glibc-hwcaps subdirectories are tried first, and a file of
  the wrong ELF class, byte order or machine is skipped, as ld.so skips it;
* dependencies are loaded breadth-first; the list comes out in ld.so's link-map order (the
  vDSO after the program, the dynamic loader placed after the object that first needed it).

The loader's system directories are read from the loader itself (glibc keeps them as one
string of NUL-separated paths in ld.so), falling back to the usual multiarch layout.
"""

from __future__ import annotations

import functools
import os
import re
import stat
import struct
from collections import deque
from dataclasses import dataclass, field

from kernlab.elf.ldcache import LD_SO_CACHE, LdCache, read_ld_cache
from kernlab.errors import BadInput, KernlabError
from kernlab.fileio import stat_regular_file

DF_1_NODEFLIB = 0x800
_DT_FLAGS_1 = 0x6FFFFFFB
_CPUINFO = "/proc/cpuinfo"


@dataclass(frozen=True)
class Abi:
    """What one ELF ABI means to glibc's loader (sysdeps/.../dl-cache.h and the kernel's vDSO)."""

    name: str
    cache_default: int  # _DL_CACHE_DEFAULT_ID
    cache_accepted: frozenset[int]  # flags _dl_cache_check_flags lets through
    vdso: str | None  # the vDSO's DT_SONAME, as ldd prints it
    interpreter: str  # the standard PT_INTERP path
    platform: str  # what $PLATFORM expands to (AT_PLATFORM)
    triplet: str  # Debian multiarch directory name


# (e_machine, ELF class, variant) -> Abi. Variant tells ABIs sharing a machine apart (e_flags).
ABIS: dict[tuple[int, int, str], Abi] = {
    (62, 64, ""): Abi(
        "x86-64",
        0x0303,
        frozenset({0x0303}),
        "linux-vdso.so.1",
        "/lib64/ld-linux-x86-64.so.2",
        "x86_64",
        "x86_64-linux-gnu",
    ),
    (62, 32, ""): Abi(
        "x32",
        0x0803,
        frozenset({0x0803}),
        "linux-vdso.so.1",
        "/libx32/ld-linux-x32.so.2",
        "x86_64",
        "x86_64-linux-gnux32",
    ),
    (3, 32, ""): Abi(
        "i386",
        0x0003,
        frozenset({0x0001, 0x0003}),
        "linux-gate.so.1",
        "/lib/ld-linux.so.2",
        "i686",
        "i386-linux-gnu",
    ),
    (183, 64, ""): Abi(
        "AArch64",
        0x0A03,
        frozenset({0x0A03}),
        "linux-vdso.so.1",
        "/lib/ld-linux-aarch64.so.1",
        "aarch64",
        "aarch64-linux-gnu",
    ),
    (40, 32, "hard-float"): Abi(
        "ARM hard-float",
        0x0903,
        frozenset({0x0903, 0x0003}),
        "linux-vdso.so.1",
        "/lib/ld-linux-armhf.so.3",
        "v7l",
        "arm-linux-gnueabihf",
    ),
    (40, 32, "soft-float"): Abi(
        "ARM soft-float",
        0x0B03,
        frozenset({0x0B03, 0x0003}),
        "linux-vdso.so.1",
        "/lib/ld-linux.so.3",
        "v5l",
        "arm-linux-gnueabi",
    ),
    (243, 64, ""): Abi(
        "RISC-V 64",
        0x1003,
        frozenset({0x1003}),
        "linux-vdso.so.1",
        "/lib/ld-linux-riscv64-lp64d.so.1",
        "riscv64",
        "riscv64-linux-gnu",
    ),
    (21, 64, ""): Abi(
        "PowerPC 64",
        0x0503,
        frozenset({0x0503}),
        "linux-vdso64.so.1",
        "/lib64/ld64.so.2",
        "powerpc64le",
        "powerpc64le-linux-gnu",
    ),
    (22, 64, ""): Abi(
        "s390x",
        0x0403,
        frozenset({0x0403}),
        "linux-vdso64.so.1",
        "/lib/ld64.so.1",
        "z196",
        "s390x-linux-gnu",
    ),
    (258, 64, ""): Abi(
        "LoongArch 64",
        0x1203,
        frozenset({0x1203}),
        "linux-vdso.so.1",
        "/lib64/ld-linux-loongarch-lp64d.so.1",
        "loongarch64",
        "loongarch64-linux-gnu",
    ),
}
_EF_ARM_ABI_FLOAT_HARD = 0x400

# glibc-hwcaps subdirectories for x86-64 (sysdeps/x86/dl-hwcaps-subdirs.c), best first, with
# the /proc/cpuinfo flags each level needs on top of the level below it.
X86_64_HWCAPS: list[tuple[str, frozenset[str]]] = [
    ("x86-64-v4", frozenset({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"})),
    ("x86-64-v3", frozenset({"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"})),
    ("x86-64-v2", frozenset({"cx16", "lahf_lm", "popcnt", "sse4_1", "sse4_2", "ssse3"})),
]


@dataclass(frozen=True)
class ElfIdentity:
    """The fields ld.so checks before it maps a file (elf/dl-load.c open_verify)."""

    elf_class: int  # 32 or 64
    little_endian: bool
    machine: int
    type: int
    flags: int


@dataclass(frozen=True)
class LoadedObject:
    """One line of ldd's output: a library, the vDSO or the dynamic loader."""

    name: str  # as ldd prints it first: the DT_NEEDED text, the vDSO's soname, the loader's path
    path: str | None  # the file that would be mapped (None: not found, or the vDSO)
    status: str  # "found" | "not found" | "vdso" | "interpreter"
    found_via: str | None  # which search step found it: "ld.so.cache", "RUNPATH of prog", ...
    needed_by: str | None  # the object whose DT_NEEDED loaded it
    depth: int  # 1 for the file's own DT_NEEDED entries, 2 for theirs, ...
    soname: str | None = None
    needed: list[str] = field(default_factory=list)
    realpath: str | None = None
    tried: list[str] = field(default_factory=list)  # paths tried before (or instead of) finding it


@dataclass(frozen=True)
class Dependency:
    """One DT_NEEDED entry: who needs whom, and whether that entry loaded it or found it loaded."""

    parent: str  # the needing object's name ("" for the file itself)
    name: str
    path: str | None
    loaded_here: bool


@dataclass(frozen=True)
class SearchSetup:
    """Where the search looked, besides each object's own RPATH/RUNPATH."""

    ld_library_path: list[str]
    cache: str | None  # the cache file read, None when there is none
    cache_entries: int
    system_dirs: list[str]
    system_dirs_from: str  # the loader file they were read from, or "built-in list"
    hwcaps: list[str]  # active glibc-hwcaps subdirectories, best first
    subdirs: list[str]  # tried in each directory before the directory itself, in order
    loader_glibc: str | None  # the loader's glibc release, e.g. "2.36"
    platform: str
    lib: str  # what $LIB expands to


@dataclass
class LddReport:
    """The libraries ``file`` needs, in the order ldd lists them."""

    file: str
    kind: str  # "dynamic" | "static" (no PT_DYNAMIC) | "static-pie" (dynamic, but needs nothing)
    elf_class: str
    arch: str
    abi: str
    interpreter: str | None  # PT_INTERP, or the ABI's loader for a shared library
    rpath: str | None
    runpath: str | None
    objects: list[LoadedObject]
    dependencies: list[Dependency]
    missing: list[str]
    search: SearchSetup | None


# --- reading files ----------------------------------------------------------------------------


def read_identity(path: str) -> ElfIdentity | None:
    """The ELF identity of a regular file, or None if it is not a readable ELF file."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            return None
        with open(path, "rb") as f:
            head = f.read(52)
    except OSError:
        return None
    if len(head) < 52 or head[:4] != b"\x7fELF" or head[4] not in (1, 2) or head[5] not in (1, 2):
        return None
    order = "<" if head[5] == 1 else ">"
    e_type, machine = struct.unpack_from(order + "HH", head, 16)
    flags_at = 36 if head[4] == 1 else 48
    if head[4] == 2:
        with open(path, "rb") as f:
            head = f.read(64)
        if len(head) < 64:
            return None
    (flags,) = struct.unpack_from(order + "I", head, flags_at)
    return ElfIdentity(32 if head[4] == 1 else 64, head[5] == 1, machine, e_type, flags)


def abi_of(ident: ElfIdentity) -> Abi:
    variant = ""
    if ident.machine == 40:
        variant = "hard-float" if ident.flags & _EF_ARM_ABI_FLOAT_HARD else "soft-float"
    found = ABIS.get((ident.machine, ident.elf_class, variant))
    if found is not None:
        return found
    # An ABI glibc has no special cache flags for: plain libc6 entries, the generic vDSO name.
    return Abi(
        f"e_machine {ident.machine}", 0x0003, frozenset({0x0001, 0x0003}), "linux-vdso.so.1", "", "", ""
    )


_SYSTEM_DIRS = re.compile(rb"(?:/[\x21-\x7e]+/\x00){2,}")
_GLIBC_RELEASE = re.compile(rb"release version (\d+)\.(\d+)")

# Legacy hwcap subdirectory names glibc before 2.37 still searched (sysdeps/x86/dl-hwcap.h:
# the "important" AT_HWCAP bits), with the /proc/cpuinfo flags each needs.
LEGACY_HWCAPS: dict[str, list[tuple[str, frozenset[str]]]] = {
    "x86-64": [
        ("x86_64", frozenset()),
        ("avx512_1", frozenset({"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"})),
    ],
    "i386": [("sse2", frozenset({"sse2"}))],
}


@dataclass(frozen=True)
class LoaderFacts:
    """What the dynamic loader file itself says: its built-in directories and glibc release."""

    system_dirs: list[str] | None
    glibc_version: tuple[int, int] | None


@functools.cache
def _loader_facts(loader: str, mtime_ns: int, size: int) -> LoaderFacts:
    try:
        with open(loader, "rb") as f:
            data = f.read()
    except OSError:
        return LoaderFacts(None, None)
    dirs = None
    for match in _SYSTEM_DIRS.finditer(data):
        found = [d.decode("utf-8", "replace") for d in match.group(0).split(b"\x00") if d]
        if any(d.startswith("/usr/lib") for d in found) and all(d.count("/") <= 4 for d in found):
            dirs = found
            break
    release = _GLIBC_RELEASE.search(data)
    version = (int(release.group(1)), int(release.group(2))) if release else None
    return LoaderFacts(dirs, version)


def read_loader(loader: str) -> LoaderFacts:
    """glibc's built-in search path and release, read from the loader's own bytes.

    The search path (SYSTEM_DIRS in elf/dl-load.c) is one string of directories joined by
    NULs, each ending in '/'; the run containing "/usr/lib" is it. The release comes from the
    banner ``ld.so --version`` prints. Fields are None when the loader is missing.
    """
    try:
        st = os.stat(loader)
    except OSError:
        return LoaderFacts(None, None)
    return _loader_facts(loader, st.st_mtime_ns, st.st_size)


def system_dirs_of_loader(loader: str) -> list[str] | None:
    """glibc's built-in search path, read from the loader (None when it cannot be read)."""
    return read_loader(loader).system_dirs


@functools.cache
def _cpu_flags(cpuinfo: str = _CPUINFO) -> frozenset[str]:
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def active_hwcaps(abi: Abi) -> list[str]:
    """glibc-hwcaps subdirectories this CPU supports, best first (x86-64 only: others have none)."""
    if abi.name != "x86-64" or os.uname().machine != "x86_64":
        return []
    flags = _cpu_flags()
    active = []
    # Each level includes the ones below it.
    needed: set[str] = set()
    for name, extra in reversed(X86_64_HWCAPS):
        needed |= extra
        if needed <= flags:
            active.insert(0, name)
        else:
            break
    return active


def legacy_subdirs(abi: Abi, glibc: tuple[int, int] | None) -> list[str]:
    """The tls/platform/hwcap subdirectories glibc before 2.37 tried in every directory.

    Every combination of "tls", the platform ($PLATFORM) and the important hwcap names, from
    all of them down to one (elf/dl-hwcaps.c _dl_important_hwcaps), as LD_DEBUG=libs lists:
    tls/x86_64/x86_64, tls/x86_64, tls/x86_64, tls, x86_64/x86_64, x86_64, x86_64.
    """
    if glibc is None or glibc >= (2, 37) or abi.name not in LEGACY_HWCAPS or os.uname().machine != "x86_64":
        return []
    flags = _cpu_flags()
    parts = ["tls", abi.platform] + [name for name, need in LEGACY_HWCAPS[abi.name] if need <= flags]
    n = len(parts)
    out = []
    for mask in range((1 << n) - 1, 0, -1):
        out.append("/".join(parts[k] for k in range(n) if mask & (1 << (n - 1 - k))))
    return out


def _open_elf(path: str):  # type: ignore[no-untyped-def]
    from kernlab.elf.reader import open_elf

    return open_elf(path)


@dataclass(frozen=True)
class DynamicInfo:
    """The dynamic-section entries the search needs from one object."""

    needed: tuple[str, ...]
    soname: str | None
    rpath: str | None
    runpath: str | None
    nodeflib: bool


@functools.lru_cache(maxsize=4096)
def dynamic_info(path: str, dev: int, ino: int, mtime_ns: int, size: int) -> DynamicInfo:
    """DT_NEEDED, DT_SONAME, DT_RPATH, DT_RUNPATH and DF_1_NODEFLIB of ``path``.

    Keyed by the file's identity and change time too, so libc, read for nearly every file
    when many are resolved in one process, is decoded once and a changed file is re-read.
    """
    image = _open_elf(path)
    nodeflib = any(e.tag_value == _DT_FLAGS_1 and e.value & DF_1_NODEFLIB for e in image.dynamic())
    return DynamicInfo(tuple(image.needed), image.soname, image.rpath, image.runpath, nodeflib)


# --- the search -------------------------------------------------------------------------------


@dataclass
class _Obj:
    """A loaded object while the search runs (ld.so's struct link_map, the parts it uses)."""

    name: str
    path: str | None
    status: str
    found_via: str | None
    needed_by: str | None
    depth: int
    loader: _Obj | None
    names: set[str]
    soname: str | None = None
    needed: list[str] = field(default_factory=list)
    rpath: str | None = None
    runpath: str | None = None
    nodeflib: bool = False
    file_id: tuple[int, int] | None = None
    tried: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        # ld.so prefixes a relative name with the working directory without normalising it
        # (elf/dl-object.c), so "./prog" has the origin "/cwd/.".
        if not self.path:
            return "."
        return os.path.dirname(
            self.path if self.path.startswith("/") else os.path.join(os.getcwd(), self.path)
        )


class _Resolver:
    def __init__(self, abi: Abi, ident: ElfIdentity, setup: SearchSetup, cache: LdCache | None) -> None:
        self.abi = abi
        self.ident = ident
        self.setup = setup
        self.cache = cache
        self.objects: list[_Obj] = []

    # ---- paths ----
    def expand(self, text: str, origin: str) -> str:
        """$ORIGIN, $LIB and $PLATFORM (also as ${...}), as elf/dl-load.c _dl_dst_substitute."""
        values = {"ORIGIN": origin, "LIB": self.setup.lib, "PLATFORM": self.setup.platform}

        def sub(m: re.Match[str]) -> str:
            key = m.group(1) or m.group(2)
            return values.get(key, m.group(0))

        return re.sub(r"\$\{(ORIGIN|LIB|PLATFORM)\}|\$(ORIGIN|LIB|PLATFORM)(?![A-Za-z0-9_])", sub, text)

    def path_list(self, text: str | None, origin: str, separators: str = ":") -> list[str]:
        if not text:
            return []
        parts = re.split(f"[{re.escape(separators)}]", text)
        out = []
        for part in parts:
            part = self.expand(part, origin)
            # An empty element means the current directory (fillin_rpath uses "./").
            out.append(part.rstrip("/") or ("/" if part.startswith("/") else "."))
        return out

    def matches_abi(self, path: str) -> ElfIdentity | None:
        ident = read_identity(path)
        if ident is None:
            return None
        me = self.ident
        if (ident.elf_class, ident.little_endian, ident.machine) != (
            me.elf_class,
            me.little_endian,
            me.machine,
        ):
            return None
        return ident

    def try_dirs(self, name: str, dirs: list[str], tried: list[str]) -> str | None:
        """The first file called ``name`` of this ABI in ``dirs``, subdirectories first."""
        subdirs = [f"{sub}/" for sub in self.setup.subdirs]
        for d in dirs:
            for sub in [*subdirs, ""]:
                candidate = os.path.join(d, sub, name)
                if not os.path.exists(candidate):
                    if not sub:
                        tried.append(candidate)
                    continue
                if self.matches_abi(candidate):
                    return candidate
                tried.append(candidate + " (wrong ELF class or machine)")
        return None

    # ---- the search for one name ----
    def search(self, name: str, loader: _Obj, tried: list[str]) -> tuple[str | None, str | None]:
        """(path, how it was found) for a DT_NEEDED ``name`` of ``loader``."""
        if "/" in name:
            path = self.expand(name, loader.origin)
            if os.path.exists(path) and self.matches_abi(path):
                return path, "path in DT_NEEDED"
            tried.append(path)
            return None, None
        if not loader.runpath:
            chain: _Obj | None = loader
            while chain is not None:
                if chain.rpath:
                    dirs = self.path_list(chain.rpath, chain.origin)
                    found = self.try_dirs(name, dirs, tried)
                    if found:
                        return found, f"RPATH of {chain.name or chain.path}"
                chain = chain.loader
        if self.setup.ld_library_path:
            found = self.try_dirs(name, self.setup.ld_library_path, tried)
            if found:
                return found, "LD_LIBRARY_PATH"
        if loader.runpath:
            found = self.try_dirs(name, self.path_list(loader.runpath, loader.origin), tried)
            if found:
                return found, f"RUNPATH of {loader.name or loader.path}"
        system = [d.rstrip("/") or "/" for d in self.setup.system_dirs]
        if self.cache is not None:
            cached = self.cache.lookup(
                name, self.abi.cache_accepted, self.abi.cache_default, self.setup.hwcaps
            )
            in_system_dir = cached is not None and os.path.dirname(cached) in system
            if cached and not (loader.nodeflib and in_system_dir):
                if os.path.exists(cached) and self.matches_abi(cached):
                    return cached, "ld.so.cache"
                tried.append(f"{cached} (from ld.so.cache)")
        if not loader.nodeflib:
            found = self.try_dirs(name, system, tried)
            if found:
                return found, "default directory"
        return None, None

    # ---- objects ----
    def find_loaded(self, name: str, path: str | None = None) -> _Obj | None:
        for obj in self.objects:
            if name in obj.names:
                return obj
        if path is not None:
            try:
                st = os.stat(path)
            except OSError:
                return None
            for obj in self.objects:
                if obj.file_id == (st.st_dev, st.st_ino):
                    return obj
        return None

    def load_details(self, obj: _Obj) -> None:
        """Read DT_NEEDED, SONAME, RPATH, RUNPATH and DF_1_NODEFLIB of a found object."""
        assert obj.path is not None
        try:
            st = os.stat(obj.path)
            obj.file_id = (st.st_dev, st.st_ino)
            info = dynamic_info(obj.path, st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
        except (KernlabError, OSError):
            # ld.so would fail on a library it cannot read; its dependencies stay unknown.
            return
        obj.needed = list(info.needed)
        obj.soname, obj.rpath, obj.runpath = info.soname, info.rpath, info.runpath
        obj.nodeflib = info.nodeflib
        if obj.soname:
            obj.names.add(obj.soname)


def _identity_or_fail(path: str) -> ElfIdentity:
    st = stat_regular_file(path, "an ELF file")
    if not os.access(path, os.R_OK):
        from kernlab.errors import PermissionNeeded

        raise PermissionNeeded(f"{path}: permission denied (cannot open it for reading)")
    ident = read_identity(path)
    if ident is None:
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic == b"\x7fELF":
            raise BadInput(f"{path}: truncated or damaged ELF header ({st.st_size} bytes)")
        raise BadInput(f"{path}: not an ELF file (no \\x7fELF header), so it needs no shared libraries")
    return ident


def _native_key() -> tuple[int, int, str]:
    machine = os.uname().machine
    return {
        "x86_64": (62, 64, ""),
        "i686": (3, 32, ""),
        "aarch64": (183, 64, ""),
        "riscv64": (243, 64, ""),
        "ppc64le": (21, 64, ""),
        "s390x": (22, 64, ""),
        "loongarch64": (258, 64, ""),
    }.get(machine, (0, 0, ""))


def search_setup(
    abi: Abi, interpreter: str | None, ld_library_path: str | None, cache: LdCache | None
) -> SearchSetup:
    """The search directories that do not depend on one object: env, cache, system dirs."""
    loader = interpreter or abi.interpreter
    facts = read_loader(loader) if loader else LoaderFacts(None, None)
    dirs = facts.system_dirs
    source = loader
    if not dirs:
        source = "built-in list"
        multi = [f"/lib/{abi.triplet}/", f"/usr/lib/{abi.triplet}/"] if abi.triplet else []
        # A multiarch system (Debian, Ubuntu) keeps every ABI's libraries in /lib/<triplet>.
        native = ABIS.get(_native_key())
        multiarch = os.path.isdir(multi[0]) if multi else False
        multiarch = multiarch or (native is not None and os.path.isdir(f"/usr/lib/{native.triplet}"))
        if multi and multiarch:
            dirs = [*multi, "/lib/", "/usr/lib/"]
        elif "64" in loader:
            dirs = ["/lib64/", "/usr/lib64/"]
        else:
            dirs = ["/lib/", "/usr/lib/"]
    lib = dirs[0].strip("/") or "lib"
    hwcaps = active_hwcaps(abi)
    subdirs = [f"glibc-hwcaps/{h}" for h in hwcaps] + legacy_subdirs(abi, facts.glibc_version)
    env_dirs: list[str] = []
    if ld_library_path:
        for part in re.split(r"[:;]", ld_library_path):
            env_dirs.append(part.rstrip("/") or ("/" if part.startswith("/") else "."))
    return SearchSetup(
        ld_library_path=env_dirs,
        cache=cache.path if cache else None,
        cache_entries=len(cache.entries) if cache else 0,
        system_dirs=dirs,
        system_dirs_from=source,
        hwcaps=hwcaps,
        subdirs=subdirs,
        loader_glibc=".".join(map(str, facts.glibc_version)) if facts.glibc_version else None,
        platform=abi.platform,
        lib=lib,
    )


def resolve_libraries(
    path: str | os.PathLike[str],
    ld_library_path: str | None = None,
    cache_path: str = LD_SO_CACHE,
) -> LddReport:
    """Resolve ``path``'s shared-library tree as ld.so would, reading files only.

    ``ld_library_path`` is the LD_LIBRARY_PATH to apply (pass ``os.environ.get(...)`` to use
    the caller's). Missing libraries are listed with status "not found", as ldd does.
    """
    path = os.fspath(path)
    ident = _identity_or_fail(path)
    image = _open_elf(path)
    abi = abi_of(ident)
    elf_class = image.header.elf_class
    has_dynamic = any(s.type == "DYNAMIC" for s in image.segments)
    base = LddReport(
        file=path, kind="static", elf_class=elf_class, arch=image.arch, abi=abi.name, interpreter=None,
        rpath=None, runpath=None, objects=[], dependencies=[], missing=[], search=None,
    )  # fmt: skip
    if not has_dynamic:
        return base
    needed = list(image.needed)
    base.rpath, base.runpath = image.rpath, image.runpath
    if not needed:
        base.kind = "static-pie"
        return base
    interpreter = image.interpreter or abi.interpreter or None
    cache = read_ld_cache(cache_path)
    setup = search_setup(abi, interpreter, ld_library_path, cache)
    resolver = _Resolver(abi, ident, setup, cache)

    main = _Obj(
        name="", path=path, status="main", found_via=None, needed_by=None, depth=0,
        loader=None, names={path}, needed=needed, rpath=image.rpath, runpath=image.runpath,
    )  # fmt: skip
    main.nodeflib = any(e.tag_value == _DT_FLAGS_1 and e.value & DF_1_NODEFLIB for e in image.dynamic())
    st = os.stat(path)
    main.file_id = (st.st_dev, st.st_ino)
    resolver.objects.append(main)

    rtld: _Obj | None = None
    if interpreter:
        rtld = _Obj(
            name=interpreter, path=interpreter, status="interpreter", found_via="PT_INTERP", needed_by=None,
            depth=0, loader=None, names={interpreter},
        )  # fmt: skip
        if os.path.exists(interpreter):
            resolver.load_details(rtld)
        else:
            rtld.names.add(os.path.basename(interpreter))
        resolver.objects.append(rtld)

    search_list: list[_Obj] = [main]  # ld.so's r_list: every object once, breadth-first
    load_order: list[_Obj] = []
    deps: list[Dependency] = []
    queue: deque[_Obj] = deque([main])
    while queue:
        obj = queue.popleft()
        for name in obj.needed:
            known = resolver.find_loaded(name)
            if known is None:
                tried: list[str] = []
                found, via = resolver.search(name, obj, tried)
                known = resolver.find_loaded(name, found) if found else None
                if known is not None:
                    known.names.add(name)
                else:
                    new = _Obj(
                        name=name, path=found, status="found" if found else "not found", found_via=via,
                        needed_by=obj.name or path, depth=obj.depth + 1, loader=obj, names={name},
                        tried=tried,
                    )  # fmt: skip
                    if found:
                        new.names.add(found)
                        resolver.load_details(new)
                        queue.append(new)
                    resolver.objects.append(new)
                    load_order.append(new)
                    deps.append(Dependency(obj.name, name, found, True))
                    if found:
                        # A library not found gets a placeholder in the link map, but not in
                        # the search list, so the loader's position ignores it (dl-deps.c).
                        search_list.append(new)
                    continue
            deps.append(Dependency(obj.name, name, known.path, False))
            if known not in search_list and known.status in ("found", "interpreter"):
                search_list.append(known)

    # The link map: program, vDSO, libraries in load order; ld.so itself goes right after the
    # object that precedes it in the breadth-first search list (rtld.c). When nothing needs it
    # (a library that does not even need libc), ld.so unlinks itself and ldd does not list it.
    chain: list[_Obj | str] = ["vdso", *load_order] if abi.vdso else list(load_order)
    if rtld is not None and rtld in search_list:
        before = search_list[search_list.index(rtld) - 1]
        if before is main:
            chain.insert(0, rtld)
        else:
            chain.insert(chain.index(before) + 1, rtld)

    objects: list[LoadedObject] = []
    for item in chain:
        if item == "vdso":
            objects.append(LoadedObject(abi.vdso or "", None, "vdso", "kernel", None, 0))
            continue
        assert isinstance(item, _Obj)
        objects.append(
            LoadedObject(
                name=item.name,
                path=item.path,
                status=item.status,
                found_via=item.found_via,
                needed_by=item.needed_by,
                depth=item.depth,
                soname=item.soname,
                needed=item.needed,
                realpath=os.path.realpath(item.path) if item.path and os.path.exists(item.path) else None,
                tried=item.tried if item.status == "not found" else [],
            )
        )
    base.kind = "dynamic"
    base.interpreter = interpreter
    base.objects = objects
    base.dependencies = deps
    base.missing = [o.name for o in objects if o.status == "not found"]
    base.search = setup
    return base


def ldd_lines(report: LddReport) -> list[str]:
    """The report as ldd prints it (without load addresses, which only a run can know)."""
    if report.kind == "static":
        return ["not a dynamic executable"]
    if report.kind == "static-pie":
        return ["statically linked"]
    lines = []
    for obj in report.objects:
        if obj.status == "not found":
            lines.append(f"{obj.name} => not found")
        elif obj.status in ("vdso", "interpreter") or obj.name == obj.path:
            lines.append(obj.name)
        else:
            lines.append(f"{obj.name} => {obj.path}")
    return lines


def ldd_sentence(report: LddReport) -> str:
    """One sentence saying what the tree means: how many, found where, what is missing."""
    from kernlab.catalog import say

    name = os.path.basename(report.file) or report.file
    if report.kind == "static":
        return say("ldd.sentence", parts=say("ldd.static", file=name))
    if report.kind == "static-pie":
        return say("ldd.sentence", parts=say("ldd.static_pie", file=name))
    libraries = [o for o in report.objects if o.status in ("found", "not found")]
    direct = sum(1 for d in report.dependencies if d.parent == "")
    parts = []
    if report.missing:
        parts.append(
            say(
                "ldd.missing",
                count=len(report.missing),
                total=len(libraries),
                names=", ".join(report.missing),
                file=name,
            )
        )
    else:
        counts: dict[str, int] = {}
        for o in libraries:
            counts[o.found_via or "?"] = counts.get(o.found_via or "?", 0) + 1
        via = ", ".join(say("ldd.via", count=n, how=how) for how, n in counts.items())
        key = "ldd.found_one" if len(libraries) == 1 else "ldd.found_all"
        parts.append(say(key, file=name, total=len(libraries), direct=direct, via=via))
    if report.interpreter:
        parts.append(say("ldd.loader", loader=report.interpreter))
    vdso = next((o.name for o in report.objects if o.status == "vdso"), None)
    if vdso:
        parts.append(say("ldd.vdso", vdso=vdso))
    return say("ldd.sentence", parts="; ".join(parts))
