"""The search itself: ld.so's _dl_map_object and dl-deps.c, by reading files only.

* every DT_NEEDED name is matched first against the objects already loaded (their needed
  name, SONAME, path, and file identity), so each library is loaded once;
* a name with a '/' is opened as given (after $ORIGIN/$LIB/$PLATFORM expansion);
* otherwise the search is: DT_RPATH of the loading object and of the objects that loaded it
  (only if the loading object has no DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH of the loading
  object, /etc/ld.so.cache (entries for this ABI only), then the loader's system directories
  (skipped, like the cache, when the loader has DF_1_NODEFLIB);
* inside each directory the loader's search subdirectories are tried first, and a file of
  the wrong ELF class, byte order or machine is skipped, as ld.so skips it;
* dependencies are loaded breadth-first; the list comes out in ld.so's link-map order (the
  vDSO after the program, the dynamic loader placed after the object that first needed it).
"""

from __future__ import annotations

import mmap
import os
import re
from collections import deque
from dataclasses import dataclass, field, replace

from kernlab.elf.filemap import map_file
from kernlab.elf.ldcache import LD_SO_CACHE, LdCache, read_ld_cache
from kernlab.elf.ldd.abi import Abi, ElfIdentity, abi_of, read_identity
from kernlab.elf.ldd.model import Dependency, LoadedObject, Resolution, SearchSetup
from kernlab.elf.ldd.objects import dynamic_info, nodeflib, open_image
from kernlab.elf.ldd.setup import search_setup
from kernlab.errors import BadInput, KernlabError, PermissionNeeded

__all__ = ["resolve_libraries"]


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
        # ldd itself turns a bare file name into "./name" before handing it to ld.so.
        path = self.path if "/" in self.path else f"./{self.path}"
        return os.path.dirname(path if path.startswith("/") else os.path.join(os.getcwd(), path))


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
            # A library not found stays in the link map as a placeholder, but ld.so skips such
            # "faked" maps when matching names (dl-load.c, l_faked): every later DT_NEEDED on
            # it is searched for again, from that loader's paths, and ldd lists each miss.
            if name in obj.names and obj.status != "not found":
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
    # The reader's own refusals first, so `kernlab ldd` and `kernlab elf` say the same thing
    # about the same bad file: a directory, a FIFO or device (never opened for a writer to
    # come), an empty file.
    mapped, _size = map_file(path)
    if isinstance(mapped, mmap.mmap):
        mapped.close()
    if not os.access(path, os.R_OK):
        raise PermissionNeeded(
            f"{path}: permission denied (cannot open it for reading)",
            key="errors.permission_denied",
            fields={"path": path},
        )
    ident = read_identity(path)
    if ident is None:
        st = os.stat(path)
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic == b"\x7fELF":
            # The reader names what is wrong (unknown class or byte order, a header cut short);
            # only if it finds nothing is the header called damaged. (Imported here: `kernlab
            # ldd --help` must not pay for the ELF reader.)
            from kernlab.elf.reader import open_elf

            open_elf(path)
            raise BadInput(
                f"{path}: truncated or damaged ELF header ({st.st_size} bytes)",
                key="errors.ldd.damaged_header",
                fields={"path": path, "file_size": st.st_size},
            )
        raise BadInput(
            f"{path}: not an ELF file (no \\x7fELF header), so it needs no shared libraries",
            key="errors.ldd.not_elf",
            fields={"path": path},
        )
    return ident


def resolve_libraries(
    path: str | os.PathLike[str],
    ld_library_path: str | None = None,
    cache_path: str = LD_SO_CACHE,
) -> Resolution:
    """Resolve ``path``'s shared-library tree as ld.so would, reading files only.

    ``ld_library_path`` is the LD_LIBRARY_PATH to apply (pass ``os.environ.get(...)`` to use
    the caller's). Missing libraries are listed with status "not found", as ldd does.
    """
    path = os.fspath(path)
    ident = _identity_or_fail(path)
    image = open_image(path)
    abi = abi_of(ident)
    elf_class = image.header.elf_class
    has_dynamic = any(s.type == "DYNAMIC" for s in image.segments)
    base = Resolution(
        file=path, kind="static", elf_class=elf_class, arch=image.arch, abi=abi.name, interpreter=None,
        rpath=None, runpath=None, objects=[], dependencies=[], missing=[], search=None,
    )  # fmt: skip
    if not has_dynamic:
        return base
    needed = list(image.needed)
    base = replace(base, rpath=image.rpath, runpath=image.runpath)
    if not needed:
        return replace(base, kind="static-pie")
    interpreter = image.interpreter or abi.interpreter or None
    cache = read_ld_cache(cache_path)
    setup = search_setup(abi, interpreter, ld_library_path, cache)
    resolver = _Resolver(abi, ident, setup, cache)

    main = _Obj(
        name="", path=path, status="main", found_via=None, needed_by=None, depth=0,
        loader=None, names={path}, needed=needed, rpath=image.rpath, runpath=image.runpath,
    )  # fmt: skip
    main.nodeflib = nodeflib(image)
    if setup.ld_library_path:
        # ld.so expands $ORIGIN, $LIB and $PLATFORM in LD_LIBRARY_PATH once, for the program
        # (dl-load.c _dl_init_paths substitutes with the main link map).
        setup = replace(
            setup, ld_library_path=[resolver.expand(d, main.origin) for d in setup.ld_library_path]
        )
        resolver.setup = setup
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
    return replace(
        base,
        kind="dynamic",
        interpreter=interpreter,
        objects=objects,
        dependencies=deps,
        missing=list(dict.fromkeys(o.name for o in objects if o.status == "not found")),
        search=setup,
    )
