"""The shared libraries an ELF file needs, resolved the way ld.so would, without running it.

`ldd` runs the program's dynamic loader in trace mode, so it executes code from the file's
world (a hostile file can run code under ldd). Here the same answer is computed by reading
files, following glibc's elf/dl-load.c and elf/dl-deps.c. One module per job:

* :mod:`.abi` — which ABI a file is for (ELF class, machine, float ABI) and what that means
  to the loader (cache flags, vDSO name, standard PT_INTERP);
* :mod:`.loader` — what the loader file holds (its built-in directories, its glibc release);
* :mod:`.loader_help` — the search list the loader prints with ``--help`` (glibc 2.33+), the
  only source that agrees with it on which hwcap subdirectories this CPU gets;
* :mod:`.subdirs` — the subdirectories tried in every directory, from that list or a fallback;
* :mod:`.setup` — the search directories shared by every object;
* :mod:`.objects` — the dynamic entries read from each object;
* :mod:`.resolve` — the breadth-first search and ld.so's link-map order;
* :mod:`.model` — what comes out (:class:`Resolution`).
"""

from __future__ import annotations

from kernlab.elf.ldd.abi import ABIS, Abi, ElfIdentity, abi_of, read_identity
from kernlab.elf.ldd.loader import LoaderFacts, read_loader, system_dirs_of_loader
from kernlab.elf.ldd.loader_help import LoaderSearchList, loader_search_list, parse_loader_help
from kernlab.elf.ldd.model import Dependency, LoadedObject, Resolution, SearchSetup
from kernlab.elf.ldd.resolve import resolve_libraries
from kernlab.elf.ldd.setup import search_setup
from kernlab.elf.ldd.subdirs import legacy_combinations, search_subdirs

__all__ = [
    "ABIS",
    "Abi",
    "Dependency",
    "ElfIdentity",
    "LoadedObject",
    "LoaderFacts",
    "LoaderSearchList",
    "Resolution",
    "SearchSetup",
    "abi_of",
    "legacy_combinations",
    "loader_search_list",
    "parse_loader_help",
    "read_identity",
    "read_loader",
    "resolve_libraries",
    "search_setup",
    "search_subdirs",
    "system_dirs_of_loader",
]
