"""A kernel source tree: is it one, and which version is it (as ``make kernelversion`` says)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from kernlab.errors import BadInput

_ASSIGN = re.compile(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION|NAME)\s*[:?]?=[ \t]*(.*?)\s*$", re.M)


@dataclass(frozen=True)
class TreeVersion:
    """The version fields of the top Makefile and the running kernel's release beside them."""

    tree: str
    version: str
    patchlevel: str
    sublevel: str
    extraversion: str
    name: str
    kernelversion: str
    """What ``make kernelversion`` prints: VERSION[.PATCHLEVEL[.SUBLEVEL]]EXTRAVERSION."""
    running_release: str
    """``uname -r`` of this machine."""
    same_base: bool
    """Whether the running release starts with the tree's VERSION.PATCHLEVEL."""


def kernel_tree(where: Path | str | None) -> Path:
    """The kernel tree at ``where`` (default: the current folder); BadInput if it is not one."""
    tree = Path(where) if where is not None else Path.cwd()
    if not tree.is_dir():
        raise BadInput(f"{tree} is not a folder")
    makefile = tree / "Makefile"
    try:
        text = makefile.read_text(errors="replace")
    except FileNotFoundError:
        raise BadInput(f"{tree} is not a kernel source tree: it has no top Makefile") from None
    except OSError as exc:
        raise BadInput(f"cannot read {makefile}: {exc.strerror}") from None
    fields = dict(_ASSIGN.findall(text))
    if "VERSION" not in fields or "PATCHLEVEL" not in fields:
        raise BadInput(f"{tree} is not a kernel source tree: its Makefile sets no VERSION and PATCHLEVEL")
    return tree


def tree_version(tree: Path) -> TreeVersion:
    """The version the Makefile declares, computed the way its KERNELVERSION line does."""
    text = (kernel_tree(tree) / "Makefile").read_text(errors="replace")
    fields: dict[str, str] = {}
    for key, value in _ASSIGN.findall(text):
        fields.setdefault(key, value)  # the first assignment is the one at the top
    version, patch = fields.get("VERSION", ""), fields.get("PATCHLEVEL", "")
    sub, extra = fields.get("SUBLEVEL", ""), fields.get("EXTRAVERSION", "")
    # The Makefile's rule: KERNELVERSION = $(VERSION)$(if $(PATCHLEVEL),.$(PATCHLEVEL)
    #     $(if $(SUBLEVEL),.$(SUBLEVEL)))$(EXTRAVERSION)
    text_version = version + (f".{patch}" + (f".{sub}" if sub else "") if patch else "") + extra
    running = os.uname().release
    return TreeVersion(
        str(tree),
        version,
        patch,
        sub,
        extra,
        fields.get("NAME", ""),
        text_version,
        running,
        running.startswith(f"{version}.{patch}.") or running == f"{version}.{patch}",
    )
