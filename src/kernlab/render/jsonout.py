"""JSON output: one document per command, the same data the terminal shows, integers as numbers."""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import operator
import sys
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any, TextIO


@functools.cache
def _public_fields(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() rebuilds its tuple on every call; a symbol table has 100k objects.
    return tuple(f.name for f in dataclasses.fields(cls) if not f.name.startswith("_"))


@functools.cache
def _field_values(cls: type) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving the public fields' values of an instance of ``cls``, in one C call."""
    names = _public_fields(cls)
    if len(names) == 1:
        one = operator.attrgetter(names[0])
        return lambda obj: (one(obj),)
    return operator.attrgetter(*names) if names else lambda _obj: ()


_AS_THEY_ARE = frozenset({bool, int, float, str, type(None)})
"""Types written as they are (exactly these: an IntEnum is converted like any enum)."""


def to_jsonable(obj: Any) -> Any:
    """Convert dataclasses, enums, paths, bytes, sets and tuples into JSON-ready values.

    Fields whose name starts with ``_`` are private caches and are left out.
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        # The common case inline: 60,000 VMAs are 2.2 million field values.
        cls = type(obj)
        values = [v if type(v) in _AS_THEY_ARE else to_jsonable(v) for v in _field_values(cls)(obj)]
        return dict(zip(_public_fields(cls), values, strict=True))
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, Mapping):
        return {str(k): v if type(v) in _AS_THEY_ARE else to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [v if type(v) in _AS_THEY_ARE else to_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(to_jsonable(v) for v in obj)
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).hex()
    if hasattr(obj, "to_json"):
        return to_jsonable(obj.to_json())
    raise TypeError(f"cannot render {type(obj).__name__} as JSON")


def print_json(obj: Any, stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    # Indented output goes through json's pure-Python encoder, which is many times slower on
    # large documents (a whole address space); indent only for a person at a terminal.
    indent = 2 if out.isatty() else None
    # json.dumps (not json.dump) so the C encoder does the work: dump streams through the
    # pure-Python iterencode even without indentation.
    out.write(json.dumps(to_jsonable(obj), indent=indent, ensure_ascii=False))
    out.write("\n")
