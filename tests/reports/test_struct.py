"""reports.struct: a structure's layout from the running kernel's BTF, checked against bpftool;
its sentence (explain.struct) built from the report in either language."""

from __future__ import annotations

import pytest

from kernlab import explain
from kernlab.errors import BadInput
from kernlab.explain import struct as explain_struct
from kernlab.reports import struct
from tests.source.test_btf_layout import RawDump, bpftool_dump, need_vmlinux_btf


@pytest.fixture(scope="module")
def raw() -> RawDump:
    need_vmlinux_btf()
    return bpftool_dump()


@pytest.mark.parametrize("name", ["list_head", "mm_struct", "task_struct"])
def test_build_equals_bpftool(raw, name):
    expected = raw.first_named(name)
    report = struct.build(name)
    assert report.size == int(expected.attrs["size"])
    assert report.type_id == expected.id
    assert report.member_count == len(expected.members)
    assert [(m.name, m.offset_bytes) for m in report.members] == raw.flat_members(expected)
    assert report.cachelines == -(-report.size // report.cacheline_size)


def test_build_with_a_cacheline_counts_lines_of_that_size(raw):
    size = int(raw.first_named("task_struct").attrs["size"])
    report = struct.build("task_struct", cacheline=128)
    assert report.cacheline_size == 128 and report.cachelines == -(-size // 128)


def test_an_id_that_is_not_a_definition_of_the_name_is_bad_input(raw):
    other = raw.first_named("list_head").id
    with pytest.raises(BadInput, match="is not a definition"):
        struct.build("mm_struct", type_id=other)


def test_sentence_is_made_from_the_report_in_the_language_asked(raw):
    report = struct.build("mm_struct")
    english = explain_struct.layout_sentence(report)
    assert f"{report.size:,} bytes" in english
    if report.anonymous_blocks:
        inside = sum(1 for m in report.members if m.via_anonymous)
        assert f"{inside} of its {len(report.members)} fields" in english
    explain.set_language("ko")
    try:
        korean = explain_struct.layout_sentence(report)
    finally:
        explain.set_language("en")
    assert korean != english and f"{report.size}바이트" in korean.replace(",", "")
