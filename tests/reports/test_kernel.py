"""reports.kernel: the result of `kernlab kernel`, checked against uname, sysctl and the files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kernlab.errors import NotSupported
from kernlab.reports import kernel
from tests.conftest import need_tool
from tests.kernel.test_kernel_info import kallsyms_lines, zcat_config


def test_build_equals_uname_sysctl_and_kallsyms():
    report = kernel.build()
    assert report.release.release == os.uname().release
    sysctl = need_tool("sysctl")
    value = subprocess.run([sysctl, "-n", "kernel.kptr_restrict"], capture_output=True, text=True)
    assert report.kptr_restrict == int(value.stdout)
    lines = kallsyms_lines()
    by_name = {parts[2]: parts for parts in reversed(lines)}
    assert report.kallsyms_hidden == all(int(parts[0], 16) == 0 for parts in lines[:50])
    for symbol in report.symbols:
        assert (symbol.type is None) == (symbol.name not in by_name), symbol.name
        if not report.kallsyms_hidden and symbol.name in by_name:
            assert symbol.address == int(by_name[symbol.name][0], 16)
    expected_missing = (
        () if report.kallsyms_hidden else tuple(s.name for s in report.symbols if s.name not in by_name)
    )
    assert report.missing_symbols == expected_missing


def test_config_facts_are_the_ones_zcat_shows():
    config = zcat_config()
    report = kernel.build()
    assert [f.option for f in report.config] == list(kernel.CONFIG_FACTS)
    for fact in report.config:
        assert fact.value == config.get(fact.option)
        assert report.config_value(fact.option) == fact.value


def test_syscall_table_version_is_the_shipped_tables():
    # The data file kernlab ships for this machine (or x86_64's, the fallback) names its release.
    import json
    from importlib import resources

    machine = os.uname().machine
    data = resources.files("kernlab.syscalls").joinpath("data")
    name = f"{machine}.json" if data.joinpath(f"{machine}.json").is_file() else "x86_64.json"
    shipped = json.loads(data.joinpath(name).read_text())["kernel_version"]
    assert kernel.build().syscall_table_version == shipped


def test_hidden_kallsyms_gives_no_addresses_and_no_missing_symbols(tmp_path: Path):
    fake = tmp_path / "kallsyms"
    fake.write_text("0000000000000000 T _text\n0000000000000000 T start_kernel\n")
    report = kernel.build(str(fake))
    assert report.kallsyms_hidden and report.kallsyms_path == str(fake)
    assert all(s.address is None for s in report.symbols)
    assert report.missing_symbols == ()
    assert report.kaslr.offset is None and report.kaslr.unknown_reason


def test_a_named_config_is_read_and_a_missing_one_raises(tmp_path: Path):
    saved = tmp_path / "config"
    saved.write_text("CONFIG_PGTABLE_LEVELS=5\n# CONFIG_KPROBES is not set\nCONFIG_RANDOMIZE_BASE=y\n")
    report = kernel.build(config_path=str(saved))
    assert report.config_source == str(saved) and report.config_error is None
    assert report.config_value("CONFIG_PGTABLE_LEVELS") == "5" and report.paging.configured_levels == 5
    assert report.config_value("CONFIG_KPROBES") == "n"
    assert report.config_value("CONFIG_UPROBES") is None
    assert report.kaslr.randomize_base is True
    with pytest.raises(NotSupported):
        kernel.build(config_path=str(tmp_path / "missing"))
