"""An error's one line in the language asked for: the catalog's sentence when the error names one.

A :class:`~kernlab.errors.KernlabError` keeps its English text (``str(error)``) and may name the
same message as a catalog key with fields. English prints the error's own text, so the English
line never changes; another language says the key, and an error without a key stays English
(better than a half-translated line).
"""

from __future__ import annotations

from kernlab.catalog import DEFAULT_LANGUAGE, language, say
from kernlab.errors import KernlabError

__all__ = ["error_line", "interrupted_line", "message"]


def message(error: KernlabError) -> str:
    """What went wrong, without the "kernlab: error:" prefix."""
    if error.key is None or language() == DEFAULT_LANGUAGE:
        return str(error)
    fields: dict[str, object] = {}
    for name, value in error.fields.items():
        # A "_key" field holds a catalog key of its own ("an ELF file"), said in this language.
        if name.endswith("_key") and isinstance(value, str):
            fields[name.removesuffix("_key")] = say(value)
        else:
            fields[name] = value
    try:
        return say(error.key, **fields)
    except (KeyError, IndexError, ValueError):
        # A key or field the catalog lacks must not hide the error itself: say it in English.
        return str(error)


def error_line(error: KernlabError) -> str:
    """``kernlab: error: MESSAGE`` (``kernlab: 오류: …`` in Korean)."""
    return say("common.error_prefix", message=message(error))


def interrupted_line() -> str:
    """The line printed on Ctrl-C."""
    return say("common.error_prefix", message=say("common.interrupted"))
