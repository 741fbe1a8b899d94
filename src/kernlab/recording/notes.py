"""The recorder's notes (what it could not do) as catalog keys with their fields.

Readers make no sentences: a note is the key of a sentence of the catalog (``record.note.*``)
and the figures and names it is filled with, worded by explain/ in the language in force when it
is printed. Its English text is filled here too, from the template the English catalog holds
(tests/recording/test_notes.py checks the two agree): ``meta.json`` keeps that text under
``notes`` as it always has, for older kernlab and for other readers, and the key and fields
beside it under ``note_phrases``. A recording made before there were keys has plain strings
only, printed as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Note", "note", "note_from_dict", "per_call_syscalls_note"]


@dataclass(frozen=True)
class Note:
    """One note: its catalog key, the fields that fill it, and its English text."""

    key: str
    """``record.note.<name>`` (``.one``/``.many`` where the English verb agrees with a count)."""
    fields: dict[str, str | int]
    text: str
    """The note in English, as ``meta.json``'s ``notes`` keeps it."""


def note(key: str, english: str, /, **fields: str | int) -> Note:
    """The note ``key`` filled with ``fields``; ``english`` is the English catalog's template
    for the key, word for word (the text kept in ``meta.json``)."""
    return Note(key, dict(fields), english.format(**fields))


def note_from_dict(data: Any) -> Note:
    """A note as ``meta.json`` keeps it; TypeError when it is not one (a damaged file)."""
    if not isinstance(data, dict):
        raise TypeError("a note phrase is not an object")
    key, fields, text = data.get("key"), data.get("fields", {}), data.get("text")
    if not isinstance(key, str) or not isinstance(text, str) or not isinstance(fields, dict):
        raise TypeError("a note phrase lacks its key, fields or text")
    for name, value in fields.items():
        if not isinstance(name, str) or isinstance(value, bool) or not isinstance(value, (str, int)):
            raise TypeError(f"note field {name!r} is neither text nor a number")
    return Note(key, dict(fields), text)


def per_call_syscalls_note(left_out: list[str], missing: int) -> Note:
    """What per-call system-call events leave out (recording/arming.py writes its text into
    ``formats/syscall_events.json``; the reader adds it to the notes)."""
    if missing:
        return note(
            "record.note.per_call_syscalls_missing",
            "system calls recorded through the per-call syscalls:* events, leaving out {left_out} "
            "(the probes' own); not recorded: numbers with no such event ({n} of the table here) or "
            "past the table, 32-bit (compat) calls, rt_sigreturn's return",
            left_out=", ".join(left_out),
            n=missing,
        )
    return note(
        "record.note.per_call_syscalls",
        "system calls recorded through the per-call syscalls:* events, leaving out {left_out} "
        "(the probes' own); not recorded: numbers with no such event or past the table, 32-bit "
        "(compat) calls, rt_sigreturn's return",
        left_out=", ".join(left_out),
    )
