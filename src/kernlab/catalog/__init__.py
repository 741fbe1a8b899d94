"""One catalog of sentences, keyed by id, in every language kernlab speaks.

Sentences live in TOML files under ``catalog/<lang>/<topic>.toml`` so that each topic (elf, mem,
tracing, ...) keeps its own file, while lookups see one flat table of keys such as
``elf.segment.load_code``. A sentence is a ``str.format`` template filled from data, so the
meaning is always computed from the figures it describes:

    >>> say("common.error_prefix", message="no such file")
    'kernlab: error: no such file'

A key missing in the chosen language falls back to English; a key missing everywhere is a bug
and raises KeyError (the catalog test checks every key used in the code exists).

Korean templates write a particle as the field's format spec, in its after-consonant form —
``{name:은}``, ``{name:이}``, ``{name:을}``, ``{name:과}``, ``{name:으로}``, ``{n:,을}`` — and the
form that fits how the value is read aloud is chosen (:mod:`kernlab.catalog.korean`), never
"은(는)".
"""

from __future__ import annotations

import os
import string
import tomllib
from functools import cache
from pathlib import Path

DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "ko")

_language = os.environ.get("KERNLAB_LANG", DEFAULT_LANGUAGE)


def set_language(lang: str) -> None:
    """Choose the language of every later sentence (``en`` or ``ko``)."""
    global _language
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    _language = lang


def language() -> str:
    return _language if _language in LANGUAGES else DEFAULT_LANGUAGE


def _flatten(prefix: str, table: dict, out: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            _flatten(full, value, out)
        else:
            out[full] = str(value)


@cache
def topic_sentences(lang: str, topic: str) -> dict[str, str]:
    """The sentences of one topic file (``catalog/<lang>/<topic>.toml``), keys flattened.

    A command says sentences of one or two topics; parsing only those files keeps the ~20 ms
    of parsing all of them out of every command's start-up.
    """
    out: dict[str, str] = {}
    path = Path(__file__).parent / lang / f"{topic}.toml"
    if path.is_file():
        _flatten(topic, tomllib.loads(path.read_text(encoding="utf-8")), out)
    return out


@cache
def sentences(lang: str) -> dict[str, str]:
    """Every sentence of one language, keys flattened as ``topic.key.subkey``."""
    out: dict[str, str] = {}
    # A plain path next to this file: importlib.resources costs ~30 ms of imports at start-up,
    # and the catalog ships as ordinary package data.
    folder = Path(__file__).parent / lang
    for entry in sorted(folder.glob("*.toml")):
        out.update(topic_sentences(lang, entry.stem))
    return out


def has(key: str) -> bool:
    return key in topic_sentences(DEFAULT_LANGUAGE, key.split(".", 1)[0])


def say(key: str, /, **fields: object) -> str:
    """The sentence ``key`` in the current language, filled with ``fields``."""
    topic = key.split(".", 1)[0]
    lang = language()
    template = topic_sentences(lang, topic).get(key)
    if template is None:
        template = topic_sentences(DEFAULT_LANGUAGE, topic)[key]
        lang = DEFAULT_LANGUAGE
    if lang == "ko":
        return _KOREAN.vformat(template, (), fields)
    return template.format(**fields)


class _KoreanFormatter(string.Formatter):
    """str.format plus particles as format specs: ``{name:은}`` → "rename은" / "execve는".

    A spec may end in a particle after an ordinary spec: ``{count:,을}`` → "1,024를".
    """

    def format_field(self, value: object, format_spec: str) -> str:
        from kernlab.catalog.korean import PARTICLES, attach

        for particle in sorted(PARTICLES, key=len, reverse=True):
            if format_spec.endswith(particle):
                return attach(format(value, format_spec[: -len(particle)]), particle)
        return format(value, format_spec)


_KOREAN = _KoreanFormatter()
