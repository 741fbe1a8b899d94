"""`kernlab kernel` and kernlab.kernel against uname, zcat /proc/config.gz and /proc/kallsyms."""

from __future__ import annotations

import gzip
import os
import subprocess
from pathlib import Path

import pytest

from kernlab.errors import BadInput, NotSupported
from kernlab.kernel import lookup_kallsyms, read_kallsyms, read_kernel_config
from kernlab.kernel.config import parse_config
from kernlab.reports.kernel import CONFIG_FACTS
from kernlab.reports.kernel import build as kernel_summary
from tests.conftest import assert_clean_error, need_tool, run_kernlab

PROC_CONFIG = Path("/proc/config.gz")


def zcat_config() -> dict[str, str]:
    """The config as the shell sees it: ``zcat /proc/config.gz``, set and unset options."""
    if not PROC_CONFIG.exists():
        pytest.skip("/proc/config.gz is missing (kernel built without CONFIG_IKCONFIG_PROC)")
    need_tool("zcat")
    text = subprocess.run(["zcat", str(PROC_CONFIG)], capture_output=True, text=True, check=True).stdout
    out = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            key, value = line.split("=", 1)
            out[key] = value.strip('"')
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            out[line[2:].split()[0]] = "n"
    return out


def kallsyms_lines() -> list[list[str]]:
    try:
        return [line.split() for line in Path("/proc/kallsyms").read_text().splitlines()]
    except OSError as exc:
        pytest.skip(f"/proc/kallsyms is not readable: {exc}")


def test_config_equals_zcat():
    assert read_kernel_config() == zcat_config()


def test_config_from_a_gzip_or_plain_file(tmp_path):
    text = 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="text"\nCONFIG_D=0x10\n'
    (tmp_path / "plain").write_text(text)
    (tmp_path / "packed.gz").write_bytes(gzip.compress(text.encode()))
    expected = {"CONFIG_A": "y", "CONFIG_B": "n", "CONFIG_C": "text", "CONFIG_D": "0x10"}
    assert read_kernel_config(str(tmp_path / "plain")) == expected
    assert read_kernel_config(str(tmp_path / "packed.gz")) == expected
    assert parse_config(text) == expected


def test_config_errors(tmp_path):
    with pytest.raises(NotSupported):
        read_kernel_config(str(tmp_path / "missing"))
    with pytest.raises(BadInput):
        read_kernel_config(str(tmp_path))
    broken = tmp_path / "broken.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(BadInput):
        read_kernel_config(str(broken))


def test_kallsyms_addresses_equal_the_file():
    lines = kallsyms_lines()
    by_name: dict[str, list[str]] = {}
    for parts in lines:
        by_name.setdefault(parts[2], parts)
    table = read_kallsyms()
    assert len(table) == len(lines)
    for name in ("_stext", "_text", "start_kernel", "do_syscall_64", "entry_SYSCALL_64"):
        if name not in by_name:
            continue
        entry = table.get(name)
        assert (
            entry is not None
            and entry.address == int(by_name[name][0], 16)
            and entry.type == by_name[name][1]
        )
    found = lookup_kallsyms(["start_kernel", "no_such_symbol_here"])
    assert found["no_such_symbol_here"] is None
    if "start_kernel" in by_name:
        assert found["start_kernel"].address == int(by_name["start_kernel"][0], 16)


def test_hidden_addresses_are_detected(tmp_path):
    fake = tmp_path / "kallsyms"
    fake.write_text(
        "0000000000000000 T _text\n0000000000000000 T start_kernel\n0000000000000000 t helper [mod]\n"
    )
    table = read_kallsyms(str(fake))
    assert table.hidden and table.get("helper").module == "mod"
    summary = kernel_summary(str(fake))
    assert summary.kallsyms_hidden and summary.kaslr.offset is None
    assert all(s.address is None for s in summary.symbols)
    result = run_kernlab("kernel", "--kallsyms", str(fake))
    assert result.code == 0, result.stderr
    assert "kptr_restrict" in " ".join(result.stdout.split())


def test_cli_json_equals_uname_zcat_and_kallsyms():
    result = run_kernlab("kernel", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    uname_r = subprocess.run(["uname", "-r"], capture_output=True, text=True, check=True).stdout.strip()
    assert doc["release"]["release"] == uname_r
    assert doc["release"]["machine"] == os.uname().machine
    if PROC_CONFIG.exists():
        config = zcat_config()
        facts = {f["option"]: f["value"] for f in doc["config"]}
        assert set(facts) == set(CONFIG_FACTS)
        for option, value in facts.items():
            assert value == config.get(option), option
        levels = config.get("CONFIG_PGTABLE_LEVELS")
        assert doc["paging"]["configured_levels"] == (int(levels) if levels else None)
    by_name = {parts[2]: parts for parts in reversed(kallsyms_lines())}
    hidden = all(int(parts[0], 16) == 0 for parts in kallsyms_lines()[:50])
    assert doc["kallsyms_hidden"] == hidden
    for sym in doc["symbols"]:
        if sym["name"] not in by_name:
            assert sym["address"] is None
        elif not hidden:
            assert sym["address"] == int(by_name[sym["name"]][0], 16), sym["name"]


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the link address formula is x86_64's")
def test_kaslr_offset_is_text_minus_the_link_address():
    doc = run_kernlab("kernel", "--json").json()
    kaslr = doc["kaslr"]
    if doc["kallsyms_hidden"]:
        assert kaslr["offset"] is None
        return
    config = zcat_config()
    start = int(config.get("CONFIG_PHYSICAL_START", "0x1000000"), 0)
    align = int(config.get("CONFIG_PHYSICAL_ALIGN", "0x200000"), 0)
    link = 0xFFFFFFFF80000000 + (start + align - 1) // align * align
    text = next(int(p[0], 16) for p in kallsyms_lines() if p[2] == "_text")
    assert kaslr["link_text"] == link
    assert kaslr["runtime_text"] == text
    assert kaslr["offset"] == text - link


def test_cli_human_output_ends_with_sentences():
    result = run_kernlab("kernel")
    assert result.code == 0, result.stderr
    flat = " ".join(result.stdout.split())
    assert os.uname().release in flat
    assert "vmlinux is an ELF file like hello's a.out" in flat
    assert "KASLR" in flat
    quiet = run_kernlab("kernel", "--quiet")
    assert "→" not in quiet.stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("kernel", "--kallsyms", "/nonexistent/kallsyms"), 6),
        (("kernel", "--kallsyms", "/"), 3),
        (("kernel", "--kallsyms", "/etc/hostname"), 3),
        (("kernel", "--config", "/nonexistent/config"), 6),
        (("kernel", "--config", "/"), 3),
    ],
)
def test_bad_files_are_one_clean_line(args, code):
    assert_clean_error(run_kernlab(*args), code)
