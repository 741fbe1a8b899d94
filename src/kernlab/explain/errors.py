"""An error's one line in the language asked for: the catalog's sentence when the error names one.

A :class:`~kernlab.errors.KernlabError` keeps its English text (``str(error)``) and may name the
same message as a catalog key with fields. English prints the error's own text, so the English
line never changes; another language says the key, and an error without a key stays English
(better than a half-translated line).
"""

from __future__ import annotations

from collections.abc import Mapping

from kernlab.catalog import DEFAULT_LANGUAGE, has, language, say
from kernlab.errors import KernlabError

__all__ = ["error_line", "interrupted_line", "keyed_message", "message"]


def message(error: KernlabError) -> str:
    """What went wrong, without the "kernlab: error:" prefix."""
    return keyed_message(str(error), error.key, error.fields)


def keyed_message(english: str, key: str | None, fields: Mapping[str, object]) -> str:
    """An error kept in a report (its English text, key and fields) in the current language."""
    if key is None or language() == DEFAULT_LANGUAGE:
        return english
    try:
        return say(key, **_said(fields))
    except (KeyError, IndexError, ValueError):
        # A key or field the catalog lacks must not hide the error itself: say it in English.
        return english


def _is_phrase(value: object) -> bool:
    """A key with its own fields (the doctor's Phrase), known by shape: errors sit below it."""
    key, fields = getattr(value, "key", None), getattr(value, "fields", None)
    return isinstance(key, str) and isinstance(fields, Mapping)


def _said(fields: Mapping[str, object]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in fields.items():
        if name.endswith("_key") and isinstance(value, str):
            # A "_key" field holds a catalog key of its own ("an ELF file"), said in this language.
            out[name.removesuffix("_key")] = say(value)
        elif isinstance(getattr(value, "key", None), str) and isinstance(
            getattr(value, "fields", None), Mapping
        ):
            # A phrase (a key and its own fields, such as the doctor's reason): said in turn,
            # or in its English when this language cannot fill it.
            try:
                out[name] = say(value.key, **_said(value.fields)) if value.key else str(value)  # type: ignore[attr-defined]
            except (KeyError, IndexError, ValueError):
                out[name] = str(value)
        else:
            out[name] = value
    errno = fields.get("errno")
    if "strerror" in fields and isinstance(errno, str) and has(f"oserror.{errno}"):
        out["strerror"] = say(f"oserror.{errno}")  # the C library's English, in this language
    return out


def error_line(error: KernlabError) -> str:
    """``kernlab: error: MESSAGE`` (``kernlab: 오류: …`` in Korean)."""
    return say("common.error_prefix", message=message(error))


def interrupted_line() -> str:
    """The line printed on Ctrl-C."""
    return say("common.error_prefix", message=say("common.interrupted"))
