"""`kernlab struct` end to end: the figures it prints equal bpftool's, errors are one line."""

from __future__ import annotations

import re

import pytest

from tests.conftest import assert_clean_error, run_kernlab
from tests.source.test_btf_layout import RawDump, bpftool_dump, need_vmlinux_btf


@pytest.fixture(scope="module")
def raw() -> RawDump:
    need_vmlinux_btf()
    return bpftool_dump()


def test_btf_cli_json_matches_bpftool(raw):
    result = run_kernlab("struct", "task_struct", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    expected = raw.first_named("task_struct")
    assert doc["size"] == int(expected.attrs["size"])
    assert doc["cachelines"] == -(-doc["size"] // doc["cacheline_size"])
    assert [(m["name"], m["offset_bytes"]) for m in doc["members"]] == raw.flat_members(expected)
    assert all(isinstance(m["offset_bytes"], int) for m in doc["members"])


def test_btf_cli_human_output_like_pahole(raw):
    result = run_kernlab("struct", "mm_struct")
    assert result.code == 0, result.stderr
    expected = raw.first_named("mm_struct")
    size = int(expected.attrs["size"])
    out = result.stdout
    assert out.startswith("struct mm_struct {")
    summary = re.search(r"/\* size: (\d+), cachelines: (\d+), members: (\d+) \*/", out)
    assert summary, out
    assert int(summary.group(1)) == size
    assert int(summary.group(3)) == len(expected.members)
    # every flattened member shows up with its offset in the comment column
    for name, offset in raw.flat_members(expected):
        assert re.search(rf"\b{re.escape(name)}(\[\d+\])*(:\d+)?;\s+/\*\s+{offset}[: ]", out), name
    sentence = " ".join(out.split("→", 1)[1].split())
    assert f"{size:,} bytes" in sentence
    if any(not m[0] for m in expected.members):
        assert "anonymous" in sentence


def test_btf_cli_expand_opens_embedded_structs(raw):
    result = run_kernlab("struct", "task_struct", "--expand", "--json")
    assert result.code == 0, result.stderr
    doc = result.json()
    task = raw.first_named("task_struct")
    tasks = next(m for m in task.members if m[0] == "tasks")
    list_head = raw.resolve(tasks[1])
    assert list_head is not None and list_head.name == "list_head"
    by_path = {m["path"]: m for m in doc["members"]}
    for name, _type_id, bits, _ in list_head.members:
        assert by_path[f"tasks.{name}"]["offset_bytes"] == (tasks[2] + bits) // 8
    assert any(b["name"] == "tasks" for b in doc["blocks"])


def test_btf_cli_quiet_leaves_out_sentence():
    result = run_kernlab("struct", "list_head", "-q")
    assert result.code == 0
    assert "→" not in result.stdout


def test_btf_cli_korean_sentence(raw):
    result = run_kernlab("--lang", "ko", "struct", "list_head")
    assert result.code == 0
    size = int(raw.first_named("list_head").attrs["size"])
    assert f"{size}바이트" in result.stdout


def test_btf_cli_unknown_name_lists_close_matches():
    result = run_kernlab("struct", "task_strct")
    assert_clean_error(result, code=3)
    assert "task_struct" in result.stderr


@pytest.mark.parametrize("make", ["missing", "directory", "text", "fifo"])
def test_btf_cli_bad_btf_file(tmp_path, make):
    import os

    path = tmp_path / "x.btf"
    if make == "directory":
        path.mkdir()
    elif make == "text":
        path.write_text("hello, not BTF\n" * 4)
    elif make == "fifo":
        os.mkfifo(path)
    result = run_kernlab("struct", "task_struct", "--btf", str(path), timeout=20)
    assert_clean_error(result, code=3)


def test_btf_cli_id_picks_a_definition(raw):
    dupes = sorted(
        name
        for (kind, name), ts in raw.by_name.items()
        if kind == "STRUCT" and name and len([t for t in ts if t.members]) > 1
    )
    if not dupes:
        pytest.skip("no struct name has two definitions in this BTF")
    name = dupes[0]
    second = [t for t in raw.by_name[("STRUCT", name)] if t.members][1]
    result = run_kernlab("struct", name, "--id", str(second.id), "--json")
    assert result.code == 0, result.stderr
    assert result.json()["size"] == int(second.attrs["size"])
    wrong = run_kernlab("struct", name, "--id", "1")
    assert_clean_error(wrong, code=3)
