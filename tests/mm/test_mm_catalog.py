"""The sentences of vtop, pagecache and faults exist in Korean with the same fields."""

from __future__ import annotations

import string

import pytest

from kernlab import catalog

TOPICS = ("vtop", "pagecache", "faults")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("topic", TOPICS)
def test_korean_has_every_key_with_the_same_fields(topic):
    en = {k: v for k, v in catalog.sentences("en").items() if k.startswith(topic + ".")}
    ko = catalog.sentences("ko")
    assert en
    for key, template in en.items():
        assert key in ko, key
        assert _fields(ko[key]) == _fields(template), key


def test_fault_summary_in_korean():
    from kernlab.explain.faults import code_summary
    from kernlab.mm.fault_codes import decode_error_code

    catalog.set_language("ko")
    try:
        assert "쓰기" in code_summary(decode_error_code(0x6))
    finally:
        catalog.set_language("en")
