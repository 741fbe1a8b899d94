"""reports.faults: the per-fault listing, checked against the report's fault statistics."""

from __future__ import annotations

from collections import Counter

import pytest

from kernlab.errors import BadInput
from kernlab.mm.fault_codes import decode_error_code
from kernlab.reports import faults, report
from tests.reports.test_report import recorded  # noqa: F401  (the shared recording)


def test_listing_and_statistics_count_the_same_faults(recorded):  # noqa: F811
    listing = faults.build(recorded)
    stats = report.build(recorded).faults
    assert stats is not None
    assert listing.total_faults == stats.total == len(listing.lines)
    assert listing.first_anon_writes == stats.first_anon_writes
    assert listing.kernel_mode == stats.kernel
    by_kind = Counter(ln.vma_kind for ln in listing.lines)
    assert dict(by_kind) == {row.label: row.count for row in stats.by_vma}


def test_every_error_code_is_decoded_once(recorded):  # noqa: F811
    listing = faults.build(recorded)
    assert set(listing.codes) == {ln.error_code for ln in listing.lines}
    for code, decoded in listing.codes.items():
        assert decoded == decode_error_code(code, listing.arch)


def test_area_filter_and_refusal(recorded):  # noqa: F811
    kind = faults.build(recorded).lines[0].vma_kind
    only = faults.build(recorded, vma_kinds={kind})
    assert only.lines and {ln.vma_kind for ln in only.lines} == {kind}
    with pytest.raises(BadInput, match="not an area kind"):
        faults.build(recorded, vma_kinds={"no-such-area"})
