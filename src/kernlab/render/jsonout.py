"""JSON output: one document per command, the same data the terminal shows, integers as numbers."""

from __future__ import annotations

import dataclasses
import enum
import functools
import json
import sys
from collections.abc import Mapping
from pathlib import PurePath
from typing import Any, TextIO


@functools.cache
def _public_fields(cls: type) -> tuple[str, ...]:
    # dataclasses.fields() rebuilds its tuple on every call; a symbol table has 100k objects.
    return tuple(f.name for f in dataclasses.fields(cls) if not f.name.startswith("_"))


def to_jsonable(obj: Any) -> Any:
    """Convert dataclasses, enums, paths, bytes, sets and tuples into JSON-ready values.

    Fields whose name starts with ``_`` are private caches and are left out.
    """
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    names = _public_fields(type(obj)) if dataclasses.is_dataclass(obj) and not isinstance(obj, type) else None
    if names is not None:
        return {name: to_jsonable(getattr(obj, name)) for name in names}
    if isinstance(obj, enum.Enum):
        return to_jsonable(obj.value)
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
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
