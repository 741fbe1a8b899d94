"""Sentences: what a report means, in the language asked for, computed from its figures.

This package is the only importer of :mod:`kernlab.catalog`. ``explain.<command>`` turns a
report into sentences; views call it at render time, so the language is the one in force when
the output is printed, never the one in force when a file was opened. Readers and reports carry
keys and numbers only.
"""

from __future__ import annotations

from kernlab.catalog import has, language, say, set_language

__all__ = ["count", "has", "language", "say", "set_language", "text"]


def text(key: str, /, **fields: object) -> str:
    """A label or title from the catalog (a table heading, a column name) in the current language."""
    return say(key, **fields)


def count(key: str, n: int, /, **fields: object) -> str:
    """A number with its noun, as the catalog words it for one or for many: ``count("elf.n.segment",
    1)`` → "1 LOAD segment", with 2 → "2 LOAD segments" (keys ``<key>.one`` and ``<key>.many``,
    filled with ``n``; ``<key>.zero`` for 0 where the catalog has one). English needs the choice;
    Korean writes the same counter for one and many. A whole sentence whose verb agrees with the
    count is chosen the same way, its other ``fields`` filled too: ``count("record.loss", 1,
    cpus="0")`` → "1 event was lost on CPU 0 …"."""
    if n == 0 and has(f"{key}.zero"):
        # "no major fault …": a sentence that reads well for none
        return say(f"{key}.zero", n=n, **fields)
    return say(f"{key}.one" if n == 1 else f"{key}.many", n=n, **fields)
