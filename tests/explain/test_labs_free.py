"""The lab's sentence on free around drop_caches follows what was measured: nothing dropped,
available barely moving (the cache was counted as available), or available rising."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from kernlab import explain
from kernlab.explain import labs
from kernlab.reports.labs.mmap_read import FreeChange, FreeFigures

ZERO = FreeFigures(**{f.name: 0 for f in dataclasses.fields(FreeFigures)})


def _said(cache: tuple[int, int], available: tuple[int, int]) -> str:
    change = FreeChange(
        dataclasses.replace(ZERO, buff_cache=cache[0], available=available[0]),
        dataclasses.replace(ZERO, buff_cache=cache[1], available=available[1]),
    )
    (sentence,) = labs.free_sentences(SimpleNamespace(free=change))  # type: ignore[arg-type]
    return sentence


def test_available_barely_moving_is_said_as_counted_already():
    said = _said((3_000_000, 30_000), (20_000_000, 20_150_000))
    assert "counted as available already" in said and "(+146 MiB)" in said


def test_available_rising_is_said_with_its_share():
    said = _said((3_000_000, 1_000_000), (20_000_000, 21_000_000))
    assert "50% of what was freed" in said and "counted as available already" not in said


def test_nothing_dropped_is_said_as_such():
    said = _said((500_000, 500_000), (20_000_000, 20_000_000))
    assert said.startswith("drop_caches freed nothing")


@pytest.mark.parametrize("cache", [(3_000_000, 30_000), (3_000_000, 1_000_000), (500_000, 500_000)])
def test_korean_has_each_case(cache):
    explain.set_language("ko")
    try:
        said = _said(cache, (20_000_000, 20_500_000))
    finally:
        explain.set_language("en")
    assert "drop_caches" in said and "available" in said and "freed" not in said
