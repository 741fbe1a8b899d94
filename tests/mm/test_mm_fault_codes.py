"""x86 page-fault error codes, checked against the kernel's own enum (from BTF)."""

from __future__ import annotations

import re
import subprocess

import pytest

from kernlab.explain.faults import code_summary, code_words
from kernlab.mm.fault_codes import X86_PF_BITS, decode_error_code
from tests.conftest import need_tool


def _btf_enum(name: str) -> dict[str, int]:
    bpftool = need_tool("bpftool")
    try:
        text = subprocess.run(
            [bpftool, "btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"bpftool cannot read /sys/kernel/btf/vmlinux: {exc.stderr.strip()}")
    body = re.search(r"enum " + re.escape(name) + r" \{(.*?)\};", text, re.S)
    if body is None:
        pytest.skip(f"enum {name} is not in this kernel's BTF")
    return {m[1]: int(m[2], 0) for m in re.finditer(r"(\w+) = (\w+)", body[1])}


def test_bit_table_equals_the_running_kernels_enum():
    kernel = _btf_enum("x86_pf_error_code")
    ours = {enum_name: mask for mask, _short, enum_name, *_ in X86_PF_BITS}
    # Every bit the kernel defines is decoded, with the kernel's value.
    for name, value in kernel.items():
        assert ours.get(name) == value, name


@pytest.mark.parametrize(
    ("code", "summary", "flags"),
    [
        (0x7, "user write to a present page (protection violation)", ("P", "W", "U")),
        (0x6, "user write to a not-present page", ("W", "U")),
        (0x4, "user read from a not-present page", ("U",)),
        (0x14, "user instruction fetch from a not-present page", ("U", "I")),
        (0x0, "kernel read from a not-present page", ()),
    ],
)
def test_course_codes(code, summary, flags):
    fault = decode_error_code(code)
    assert code_summary(fault) == summary
    assert fault.flags == flags
    assert fault.present == bool(code & 1) and fault.write == bool(code & 2) and fault.user == bool(code & 4)


def test_every_bit_combination_decodes_consistently():
    for code in range(128):
        fault = decode_error_code(code)
        assert set(fault.flags) == {short for mask, short, *_ in X86_PF_BITS if code & mask}
        assert ("faults.x86.not_present" in fault.keys) != bool(code & 1)
        assert ("not-present" in code_words(fault)) != bool(code & 1)


def test_unknown_bits_are_named_not_dropped():
    fault = decode_error_code(1 << 20 | 0x6)
    assert any("0x100000" in w for w in code_words(fault))


def test_arm64_data_abort_write_translation_fault():
    # ESR: EC=0x24 (data abort from EL0), WnR, DFSC=0x07 (translation fault, level 3)
    fault = decode_error_code((0x24 << 26) | (1 << 6) | 0x07, arch="aarch64")
    assert code_summary(fault) == "user write to a not-present page"
    assert "translation fault at level 3" in code_words(fault)
