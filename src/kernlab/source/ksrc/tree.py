"""A kernel source tree: where its top is, and which version it is (as ``make kernelversion`` says)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from kernlab.errors import BadInput

__all__ = ["NotAKernelTree", "TreeVersion", "kernel_tree", "tree_version"]

_ASSIGN = re.compile(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION|NAME)\s*[:?]?=[ \t]*(.*?)\s*$", re.M)


class NotAKernelTree(BadInput):
    """Neither the folder nor any folder above it is the top of a kernel source tree."""


@dataclass(frozen=True)
class TreeVersion:
    """The version fields of the top Makefile."""

    tree: str
    version: str
    patchlevel: str
    sublevel: str
    extraversion: str
    name: str
    kernelversion: str
    """What ``make kernelversion`` prints: VERSION[.PATCHLEVEL[.SUBLEVEL]]EXTRAVERSION."""


def kernel_tree(where: Path | str | None) -> Path:
    """The top of the kernel tree holding ``where`` (default: the current folder).

    Found as git finds ``.git``: ``where`` itself, else the nearest folder above it whose Makefile
    sets VERSION and PATCHLEVEL. Only the top Makefile sets them (``fs/Makefile`` sets neither),
    so a query works from any folder of the tree. ``where`` is returned as given when it is the
    top, so the tree is named the way the user named it.
    """
    start = Path(where) if where is not None else Path.cwd()
    if not start.is_dir():
        raise BadInput(
            f"{start} is not a folder",
            path=start,
            key="errors.source.not_folder",
            fields={"path": str(start)},
        )
    if _is_top(start):
        return start
    for folder in Path(os.path.abspath(start)).parents:
        if _is_top(folder):
            return folder
    raise NotAKernelTree(
        f"{start} is not inside a kernel source tree: no Makefile setting VERSION and PATCHLEVEL "
        "in it or in any folder above it",
        path=start,
        key="errors.source.not_kernel_tree",
        fields={"path": str(start)},
    )


def _is_top(folder: Path) -> bool:
    makefile = folder / "Makefile"
    try:
        text = makefile.read_text(errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return False
    except OSError as exc:
        raise BadInput(
            f"cannot read {makefile}: {exc.strerror}",
            path=makefile,
            key="errors.source.cannot_read",
            fields={"path": str(makefile), "reason": exc.strerror},
        ) from exc
    fields = dict(_ASSIGN.findall(text))
    return "VERSION" in fields and "PATCHLEVEL" in fields


def tree_version(tree: Path) -> TreeVersion:
    """The version the top Makefile of ``tree`` declares, computed the way its KERNELVERSION line does."""
    text = (tree / "Makefile").read_text(errors="replace")
    fields: dict[str, str] = {}
    for key, value in _ASSIGN.findall(text):
        fields.setdefault(key, value)  # the first assignment is the one at the top
    version, patch = fields.get("VERSION", ""), fields.get("PATCHLEVEL", "")
    sub, extra = fields.get("SUBLEVEL", ""), fields.get("EXTRAVERSION", "")
    # The Makefile's rule: KERNELVERSION = $(VERSION)$(if $(PATCHLEVEL),.$(PATCHLEVEL)
    #     $(if $(SUBLEVEL),.$(SUBLEVEL)))$(EXTRAVERSION)
    text_version = version + (f".{patch}" + (f".{sub}" if sub else "") if patch else "") + extra
    return TreeVersion(str(tree), version, patch, sub, extra, fields.get("NAME", ""), text_version)
