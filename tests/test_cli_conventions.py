"""Checks every command shares: version, help with examples, catalog keys, error lines."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernlab import __version__, catalog
from kernlab.cli.main import COMMANDS, LazyGroup, cli

SRC = Path(__file__).parents[1] / "src" / "kernlab"


def test_version(kernlab):
    result = kernlab("--version")
    assert result.code == 0
    assert __version__ in result.stdout


def test_help_lists_commands_and_examples(kernlab):
    result = kernlab("--help")
    assert result.code == 0
    assert "Examples:" in result.stdout
    for name in LazyGroup(cli).list_commands(None):  # type: ignore[arg-type]
        assert name in result.stdout


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_help_ends_with_examples(kernlab, name):
    group = LazyGroup(cli)
    if name not in group.list_commands(None):  # type: ignore[arg-type]
        pytest.skip(f"{name} is not built yet")
    result = kernlab(name, "--help")
    assert result.code == 0, result.stderr
    tail = result.stdout[result.stdout.rfind("Examples:") :]
    assert "Examples:" in result.stdout and f"kernlab {name}" in tail


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_json_option(name):
    group = LazyGroup(cli)
    if name not in group.list_commands(None):  # type: ignore[arg-type]
        pytest.skip(f"{name} is not built yet")
    command = group.get_command(None, name)  # type: ignore[arg-type]
    names = {opt for p in _all_params(command) for opt in getattr(p, "opts", [])}
    assert "--json" in names


def _all_params(command):
    yield from command.params
    for sub in getattr(command, "commands", {}).values():
        yield from _all_params(sub)


def test_startup_is_fast():
    # Median of a few runs; the bare interpreter start is measured too, so a slow machine
    # does not fail the check for time kernlab does not spend.
    def median_run(args: list[str]) -> float:
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            subprocess.run(args, capture_output=True, check=True)
            times.append(time.perf_counter() - t0)
        return sorted(times)[2]

    bare = median_run([sys.executable, "-c", "pass"])
    ours = median_run([sys.executable, "-m", "kernlab", "--version"])
    assert ours - bare < 0.15, f"kernlab --version took {ours:.3f}s, bare python {bare:.3f}s"


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys; from kernlab.cli.main import main\n"
        "try:\n main(['--help'])\nexcept SystemExit: pass\n"
        "bad = [m for m in ('rich', 'elftools', 'capstone', 'psutil') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


def test_catalog_has_every_key_the_code_uses():
    used = set()
    for path in SRC.rglob("*.py"):
        used.update(re.findall(r"\bsay\(\s*[\"']([a-z0-9_.]+)[\"']", path.read_text()))
    english = catalog.sentences("en")
    missing = sorted(k for k in used if k not in english)
    assert not missing, f"sentences used in code but missing from catalog/en: {missing}"


def test_korean_keys_exist_in_english():
    english = catalog.sentences("en")
    extra = sorted(k for k in catalog.sentences("ko") if k not in english)
    assert not extra, extra


def test_unknown_command_is_a_usage_error(kernlab):
    result = kernlab("no-such-command")
    assert result.code == 2
    assert "Traceback" not in result.stderr


def test_every_sentence_has_a_korean_version_with_the_same_fields():
    import string

    def fields(template: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    english, korean = catalog.sentences("en"), catalog.sentences("ko")
    missing = sorted(k for k in english if k not in korean)
    assert not missing, f"no Korean sentence for: {missing}"
    differ = sorted(k for k in english if fields(english[k]) != fields(korean[k]))
    assert not differ, f"Korean sentences fill other fields than English: {differ}"


def test_lang_ko_switches_the_sentences(kernlab):
    english = kernlab("mem", "--meminfo-file", "/proc/meminfo")
    korean = kernlab("--lang", "ko", "mem", "--meminfo-file", "/proc/meminfo")
    assert english.code == korean.code == 0, korean.stderr
    hangul = [ch for ch in korean.stdout if "\uac00" <= ch <= "\ud7a3"]
    assert hangul, korean.stdout
    assert not [ch for ch in english.stdout if "\uac00" <= ch <= "\ud7a3"]
