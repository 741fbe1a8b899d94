"""Navigating a kernel source tree: system-call definitions, operations tables, symbols.

The pieces, one job each:

* :mod:`.lexer` turns C text into "code only" text (comments, strings and preprocessor lines
  blanked, every newline kept, so line numbers stay true);
* :mod:`.parse` finds what one file defines: functions, structs/unions/enums, typedefs, macros,
  ``SYSCALL_DEFINEn``/``COMPAT_SYSCALL_DEFINEn``, and ``.field = function`` bindings inside
  initialised tables (with the table's name and type), plus the identifiers it uses; in a ``.S``
  file, the entry macros (``SYM_FUNC_START``, ``SYM_CODE_START`` …) and global labels;
* :mod:`.macros` lists the kernel's definition macros (``DEFINE_IDTENTRY*``, ``DEFINE_MUTEX``,
  ``DEFINE_PER_CPU``, ``EXPORT_SYMBOL`` …) and what each invocation defines;
* :mod:`.index` builds that for a whole tree in parallel, stores it in the cache directory
  (sharded by name, so a query reads only a small part) and, when files change, parses only
  those again (kept beside the shards until the next whole build);
* :mod:`.store` keeps the two biggest tables (macros, identifier uses) as flat arrays keyed by
  CRC-32, checked against the source at query time;
* :mod:`.fresh` walks the tree without reading it and tells which files were added, removed or
  changed since the index saw them (each folder's and file's identity: size, mtime, inode,
  ctime);
* :mod:`.query` answers ``syscall``, ``ops``, ``def``, ``refs`` from the index;
* :mod:`.tree` finds the tree's top from any folder in it, and reads its version the way
  ``make kernelversion`` prints it.
"""
