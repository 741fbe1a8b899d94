"""Sentences: what a report means, in the language asked for, computed from its figures.

This package is the only importer of :mod:`kernlab.catalog`. ``explain.<command>`` turns a
report into sentences; views call it at render time, so the language is the one in force when
the output is printed, never the one in force when a file was opened. Readers and reports carry
keys and numbers only.
"""

from __future__ import annotations

from kernlab.catalog import has, language, say, set_language

__all__ = ["has", "language", "say", "set_language", "text"]


def text(key: str, /, **fields: object) -> str:
    """A label or title from the catalog (a table heading, a column name) in the current language."""
    return say(key, **fields)
