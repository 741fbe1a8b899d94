"""The recording's name lookup for raw_syscalls numbers: a number past the end of kernlab's table
is found and said as unknown to the table, with the table's version, never named."""

from __future__ import annotations

import pytest

from kernlab import catalog
from kernlab.explain import syscall as explain
from kernlab.recording.syscall_names import syscall_namer, table_series, unknown_numbers
from kernlab.syscalls.tables import table, table_info


def test_every_number_of_the_table_is_named_and_none_past_it():
    info = table_info("x86_64")
    names = syscall_namer("x86_64")
    assert names == {row.number: row.name for row in table("x86_64")}
    assert max(names) == info.last_number
    seen = [0, info.last_number, info.last_number + 1, info.last_number + 40]
    assert unknown_numbers(seen, "x86_64") == [info.last_number + 1, info.last_number + 40]
    assert unknown_numbers([info.last_number + 1], "vax") == []  # no table: nothing to compare with
    assert table_series("x86_64") == info.series == ".".join(info.kernel_version.split(".")[:2])
    assert table_series("vax") is None


@pytest.mark.parametrize("count", [1, 3])
def test_unknown_numbers_are_said_with_the_tables_version(count):
    info = table_info("x86_64")
    numbers = list(range(info.last_number + 1, info.last_number + 1 + count))
    sentence = explain.unknown_numbers(numbers, info.series)
    assert sentence is not None
    assert f"unknown to kernlab's table (newer than Linux {info.series})" in sentence
    assert all(str(n) in sentence for n in numbers)
    assert ("1 calls" not in sentence) and ("these 3 calls" in sentence if count == 3 else True)
    catalog.set_language("ko")
    try:
        korean = explain.unknown_numbers(numbers, info.series)
    finally:
        catalog.set_language("en")
    assert korean is not None and "kernlab의 표가 모르는 번호" in korean and f"Linux {info.series}" in korean
    assert explain.unknown_numbers([], info.series) is None
