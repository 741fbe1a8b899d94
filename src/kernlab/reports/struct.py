"""`kernlab struct NAME`: one kernel structure's layout from BTF.

The result is the layout itself (:class:`~kernlab.source.btf_layout.StructLayout`): members at
their offsets, holes, padding and cache lines are already figures, and ``--json`` has been
exactly those fields since the command was written.
"""

from __future__ import annotations

from kernlab.source.btf import VMLINUX_BTF, load_btf
from kernlab.source.btf_layout import StructLayout, struct_layout

__all__ = ["StructReport", "build"]

StructReport = StructLayout


def build(
    name: str,
    *,
    expand: bool = False,
    btf_path: str = VMLINUX_BTF,
    type_id: int | None = None,
    cacheline: int | None = None,
) -> StructReport:
    """The layout of struct/union ``name`` in ``btf_path`` (a module's BTF is read on top of
    vmlinux); ``type_id`` picks one of several structures sharing the name."""
    return struct_layout(load_btf(btf_path), name, expand=expand, cacheline=cacheline, type_id=type_id)
