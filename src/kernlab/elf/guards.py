"""Context managers around bulk decoding: malformed tables → one BadInput; GC paused."""

from __future__ import annotations

import gc
import struct
from collections.abc import Iterator
from contextlib import contextmanager

from kernlab.errors import BadInput, KernlabError


@contextmanager
def corrupt(source: str, what: str) -> Iterator[None]:
    """Turn a decoding failure on a malformed table into one BadInput naming it."""
    try:
        yield
    except KernlabError:
        raise
    except (struct.error, ValueError, IndexError, KeyError, OverflowError, UnicodeError) as exc:
        raise BadInput(
            f"{source}: malformed {what}: {exc}",
            key="errors.elf.malformed",
            fields={"path": source, "part": what, "reason": str(exc)},
        ) from None


@contextmanager
def no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that form no cycles.

    Each 700 new objects trigger a collection that walks all young objects, and the full
    collections walk everything: for 100k symbols that is a third of the time spent.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
