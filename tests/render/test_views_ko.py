"""Under --lang ko every title, heading, column header and field label of the syscall, vtop, dump,
kernel, churn and ksrc views is Korean; names, numbers, code and the abbreviations every tool
uses (PID, VMA, PFN, RSS, ABI, KASLR …) stay as they are.

The views' printing calls are captured, so only the words the view itself chooses are checked,
never the data it prints. Reports come from the golden tests (fixed figures) and, for vtop,
syscall and kernel, from this machine: the stack-growth, kernel-half and file-backed branches of
vtop are each taken on a live process.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kernlab import explain
from kernlab.render.output import Output
from kernlab.render.views import churn as churn_view
from kernlab.render.views import kernel as kernel_view
from kernlab.render.views import ksrc as ksrc_view
from kernlab.render.views import syscall as syscall_view
from kernlab.render.views import vtop as vtop_view
from kernlab.reports.ksrc import InfoReport, OpsReport, RefsReport
from kernlab.syscalls.errnos import Errno
from tests.render import test_view_churn, test_view_kernel, test_view_ksrc, test_view_syscall, test_view_vtop

HANGUL = re.compile(r"[가-힣]")
# Words a label may hold in every language: abbreviations and names the kernel and its tools use,
# the pagemap bit names of Documentation/admin-guide/mm/pagemap.rst, Makefile variables.
KEPT = {
    "ABI",
    "PID",
    "VMA",
    "PFN",
    "RSS",
    "RAM",
    "ELF",
    "KASLR",
    "RLIMIT_STACK",
    "kallsyms",
    "pagemap",
    "kpageflags",
    "kpagecount",
    "huge",
    "soft-dirty",
    "exclusive",
    "file/shared-anon",
    "uffd-wp",
    "uname",
    "vmlinux",
    "kernelversion",
    "VM_GROWSDOWN",
    "VERSION",
    "PATCHLEVEL",
    "SUBLEVEL",
    "EXTRAVERSION",
    "NAME",
    "kernlab",
    "vtop",
    "Linux",
    "libc's",
}


def _plain_words(label: str) -> list[str]:
    """The English words of a label: tokens of letters only that are not kept names."""
    words = []
    for token in re.split(r"[\s(),:]+", label):
        if not token or HANGUL.search(token) or token in KEPT:
            continue
        if re.fullmatch(r"[A-Za-z][A-Za-z'-]*", token):
            words.append(token)
    return words


class Labels:
    """What the view chose to print around its data: titles, headings, headers, field labels."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def add(self, text: object) -> None:
        if isinstance(text, str) and text:
            self.seen.append(text)

    def fields(self, fields: Any, *args: object, title: str | None = None, **kwargs: object) -> None:
        for label, _value in fields:
            self.add(label)
        self.add(title)

    def table(self, columns: Any, rows: object, *args: object, **kwargs: Any) -> None:
        for column in columns:
            self.add(column)
        self.add(kwargs.get("title"))
        self.add(kwargs.get("caption"))

    def heading(self, text: str, *args: object, **kwargs: object) -> None:
        self.add(text)


@pytest.fixture
def labels(monkeypatch) -> Iterator[Labels]:
    seen = Labels()
    for module in (syscall_view, vtop_view, kernel_view, churn_view, ksrc_view):
        for name, fake in (
            ("print_fields", seen.fields),
            ("print_table", seen.table),
            ("print_heading", seen.heading),
        ):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, fake)
    monkeypatch.setattr(syscall_view, "print_listing", lambda *a, **k: None)
    monkeypatch.setattr(vtop_view, "print_line", lambda *a, **k: None)
    explain.set_language("ko")
    try:
        yield seen
    finally:
        explain.set_language("en")


def _check(seen: Labels, data: frozenset[str] = frozenset()) -> None:
    """Every label is Korean apart from kept names and the data it carries (``data``)."""
    assert seen.seen, "the view printed no label at all"
    for label in seen.seen:
        english = [w for w in _plain_words(label) if w not in data]
        assert not english, f"English in a Korean label: {english} in {label!r}"


def _show(show: Callable[..., None], *args: object, **kwargs: object) -> None:
    show(*args, Output(quiet=True), **kwargs)


def test_syscall_views(labels):
    _show(syscall_view.show, test_view_syscall._description())
    enoent = Errno(2, "ENOENT", (), "No such file or directory", "No such file or directory", -2)
    _show(syscall_view.show, enoent)
    # The call's name, arch and the errno's name are data; strerror's words are glibc's.
    _check(labels, frozenset({"rename", "ENOENT", "strerror"}))


def test_syscall_views_live(labels):
    from kernlab.reports import syscall as reports

    _show(syscall_view.show, reports.build("read"))
    _show(syscall_view.show, reports.build(list_all=True))
    _show(syscall_view.show, reports.build(errno_key="EINVAL"))
    _check(labels, frozenset({"read", "EINVAL", "strerror"}))


def test_vtop_views(labels):
    _show(vtop_view.show, test_view_vtop.address_report())
    vtop_view.show_pages(test_view_vtop.pages_report(), Output(quiet=True), width=8)
    _check(labels, frozenset({"sleep"}))


def _stack_start() -> int:
    for line in Path("/proc/self/maps").read_text().splitlines():
        if line.endswith("[stack]"):
            return int(line.split("-", 1)[0], 16)
    pytest.skip("this process has no [stack] line")


def test_vtop_live_branches(labels):
    """Below the stack (the growth section), in the kernel half, and in a mapped file."""
    from kernlab.reports import vtop as reports

    _show(vtop_view.show, reports.build("self", _stack_start() - 0x10000))
    _show(vtop_view.show, reports.build("self", 0xFFFFFFFF81000000))
    text = next(
        line
        for line in Path("/proc/self/maps").read_text().splitlines()
        if " r-xp " in line and line.split()[-1].startswith("/")
    )
    _show(vtop_view.show, reports.build("self", int(text.split("-", 1)[0], 16)))
    comm = Path("/proc/self/comm").read_text().strip()
    _check(labels, frozenset({comm}))


def test_kernel_views(labels):
    _show(kernel_view.show, test_view_kernel._report())
    _check(labels)


def test_kernel_view_live(labels):
    from kernlab.reports import kernel as reports

    _show(kernel_view.show, reports.build())
    _check(labels)


def test_churn_views(labels):
    churn_view.show(test_view_churn._churn(), Output(quiet=True), top=2)
    churn_view.show_authors(test_view_churn._authors(), Output(quiet=True), top=1)
    _check(labels)


def test_ksrc_views(labels):
    _show(ksrc_view.show_syscall, test_view_ksrc._syscall(in_kallsyms=None, event=None))
    _show(ksrc_view.show_ops, OpsReport("/src/linux", "vfs_rename", (), (), test_view_ksrc.CACHED, 3))
    _show(ksrc_view.show_refs, RefsReport("/src/linux", "vfs_rename", 1, ()))
    report = InfoReport("/src/linux", "6", "1", "42", "-rc1", "Hurr", "6.1.42-rc1", "6.1.0-9-amd64", True)
    _show(ksrc_view.show_info, report)
    ksrc_view.show_index(test_view_ksrc.BUILT, Output(quiet=True))
    _check(labels, frozenset({"rename"}))


def test_english_labels_are_unchanged_words(labels):
    """The checker itself: an English label is caught, a kept name and data are not."""
    explain.set_language("en")
    _show(vtop_view.show, test_view_vtop.address_report())
    found = [w for label in labels.seen for w in _plain_words(label) if w != "sleep"]
    assert "process" in found and "address" in found
    assert _plain_words("PFN") == [] and _plain_words("soft-dirty") == []
