"""kernlab on Debian's stock kernels (6.1 and 6.12) booted under qemu, 5- and 4-level paging.

Each guest boots once per module and writes what it saw into a shared folder; the checks then
run on the host against the guest's own files (its tracefs listings, kallsyms, BTF, the
recording it made, strace's table of the same command), as the tools in the guest would.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.vm.guest import missing_tools, run_in_guest, stock_release

pytestmark = [pytest.mark.vm, pytest.mark.slow, pytest.mark.timeout(900)]  # a boot can take minutes


@pytest.fixture(scope="module", params=["6.1", "6.12"])
def guest(request: pytest.FixtureRequest, stock_guests: dict[tuple[str, bool], Path]) -> Path:
    return stock_guests[(request.param, True)]


@pytest.fixture(scope="module")
def guest_4level(stock_guests: dict[tuple[str, bool], Path]) -> Path:
    return stock_guests[("6.1", False)]


def _capabilities(out: Path) -> dict[str, dict]:
    doctor = json.loads((out / "doctor.json").read_text())
    return {c["name"]: c for c in doctor["capabilities"]}


def test_doctor_says_where_each_tracer_works(guest):
    caps = _capabilities(guest)
    top = (guest / "top_tracers.txt").read_text().split()
    inside = (guest / "instance_tracers.txt").read_text().split()
    for tracer in ("function", "function_graph"):
        cap = caps[f"{tracer} tracer"]
        assert cap["in_instance"] == (tracer in inside), cap
        if tracer not in inside:
            # Only at the top level (6.1's function_graph): the truth is "top level only".
            assert cap["top_level"] == (tracer in top), cap
            assert cap["ok"] == (tracer in top), cap
            if tracer in top:
                assert "top level only" in cap["detail"], cap


def test_doctor_says_kprobes_are_defined_at_the_top_level(guest):
    cap = _capabilities(guest)["kprobes"]
    top_files = (guest / "top_files.txt").read_text().split()
    instance_files = (guest / "instance_files.txt").read_text().split()
    assert "kprobe_events" not in instance_files
    assert cap["ok"] == ("kprobe_events" in top_files), cap
    if cap["ok"]:
        assert cap["top_level"] is True and cap["in_instance"] is True, cap


def _settings(text: str) -> str:
    # On 6.1 enabling any event, even in an instance, makes the kernel allocate the global ring
    # buffer at its configured size (tracing_update_buffers): "7 (expanded: 1408)" becomes the
    # size itself. The setting is unchanged; only memory the kernel was told to use is allocated.
    return re.sub(r"^\d+ \(expanded: (\d+)\)$", r"\1 (allocated)", text, flags=re.M)


def test_no_tracefs_setting_is_left_behind(guest):
    before = _settings((guest / "state_before.txt").read_text())
    after = _settings((guest / "state_after.txt").read_text())
    configured = re.search(r"== buffer_size_kb\n(\d+) \(allocated\)\n", before)
    allocated = re.search(r"== buffer_size_kb\n(\d+)\n", after)
    if configured and allocated:
        # 6.1 allocated the global buffer (its size rounded up to whole pages); 6.12 does not.
        assert 0 <= int(allocated.group(1)) - int(configured.group(1)) <= 8, after
        after = after.replace(allocated.group(0), configured.group(0))
    assert after == before


def test_record_in_the_guest_matches_strace(guest):
    from kernlab.reports import report

    assert (guest / "record.code").read_text().strip() == "0", (guest / "record.err").read_text()
    built = report.build(guest / "rec")
    assert built.syscalls is not None
    got = {r.name: (r.calls, r.errors) for r in built.syscalls.combined.rows if r.calls}
    expected: dict[str, tuple[int, int]] = {}
    for line in (guest / "strace.txt").read_text().splitlines():
        parts = line.split()
        if len(parts) < 5 or not parts[0][0].isdigit() or parts[-1] == "total":
            continue
        expected[parts[-1]] = (int(parts[3]), int(parts[4]) if len(parts) == 6 else 0)
    assert expected, "strace printed no table"
    assert got == expected, {
        k: (got.get(k), expected.get(k)) for k in set(got) | set(expected) if got.get(k) != expected.get(k)
    }
    check = built.fault_counter_check
    if check is not None and check.own:
        # Within the host tests' tolerance: execve's get_user_pages faults have no event.
        assert abs(check.difference or 0) <= max(3, check.own // 100), check


def _vtop(out: Path) -> tuple[dict, int, int, int]:
    vtop = json.loads((out / "vtop.json").read_text())
    present, pfn = (int(x) for x in (out / "pagemap.txt").read_text().split())
    _pid, addr = (out / "hold.txt").read_text().split()
    return vtop, int(addr, 16), present, pfn


def test_five_level_paging_in_the_guest(guest):
    kernel = json.loads((guest / "kernel.json").read_text())
    assert kernel["paging"]["levels_in_use"] == 5
    vtop, address, present, pfn = _vtop(guest)
    assert address >= 1 << 47, "the mmap hint above 2^47 was granted"
    assert vtop["paging"]["levels"] == 5
    indices = vtop["split"]["indices"]
    assert [i["level"] for i in indices] == ["PGD", "P4D", "PUD", "PMD", "PTE"]
    # Each index is the address's own bits for that level: 9 bits a level above the page offset.
    assert [i["index"] for i in indices] == [(address >> (12 + 9 * k)) & 511 for k in (4, 3, 2, 1, 0)]
    assert present == 1 and vtop["pagemap"]["pfn"] == pfn


def test_four_level_paging_in_the_guest(guest_4level):
    kernel = json.loads((guest_4level / "kernel.json").read_text())
    assert kernel["paging"]["levels_in_use"] == 4
    vtop, address, present, pfn = _vtop(guest_4level)
    assert address < 1 << 47, "4-level paging cannot grant a hint above 2^47"
    assert vtop["paging"]["levels"] == 4
    assert [i["level"] for i in vtop["split"]["indices"]] == ["PGD", "PUD", "PMD", "PTE"]
    assert present == 1 and vtop["pagemap"]["pfn"] == pfn


@pytest.mark.parametrize("name", ["task_struct", "mm_struct", "vm_area_struct"])
def test_struct_of_the_guest_kernel_equals_bpftool(guest, name):
    from kernlab.reports import struct
    from tests.source.test_btf_layout import bpftool_dump

    btf = guest / "vmlinux.btf"
    if not btf.exists():
        pytest.skip("the guest kernel has no /sys/kernel/btf/vmlinux")
    raw = bpftool_dump(str(btf))
    expected = raw.first_named(name)
    report = struct.build(name, btf_path=str(btf))
    assert report.size == int(expected.attrs["size"])
    assert [(m.name, m.offset_bytes) for m in report.members] == raw.flat_members(expected)


def test_kaslr_offset_is_kallsyms_minus_the_link_address(guest, tmp_path):
    # Debian's /boot/System.map is a stub (the real one is in the -dbg package): the link address
    # of _text comes from the image itself, extracted by the kernel's own scripts/extract-vmlinux
    # and read by readelf (the first LOAD segment starts at _text).
    release = (guest / "release.txt").read_text().strip()
    tarball = Path("/usr/src/linux-source-6.1.tar.xz")
    if not tarball.exists():
        pytest.skip(f"{tarball} is missing (.ci/run installs linux-source-6.1)")
    script = tmp_path / "extract-vmlinux"
    with tarfile.open(tarball) as tar:
        member = tar.extractfile("linux-source-6.1/scripts/extract-vmlinux")
        assert member is not None
        script.write_bytes(member.read())
    script.chmod(0o755)
    vmlinux = tmp_path / "vmlinux"
    with vmlinux.open("wb") as fh:
        subprocess.run([str(script), f"/boot/vmlinuz-{release}"], stdout=fh, check=True, timeout=300)
    headers = subprocess.run(
        ["readelf", "-lW", str(vmlinux)], capture_output=True, text=True, check=True
    ).stdout
    linked = next(int(line.split()[2], 16) for line in headers.splitlines() if line.split()[:1] == ["LOAD"])
    running = next(
        int(line.split()[0], 16)
        for line in (guest / "kallsyms").read_text().splitlines()
        if line.split()[2:3] == ["_text"]
    )
    kernel = json.loads((guest / "kernel.json").read_text())
    assert kernel["kaslr"]["offset"] == running - linked


def test_guest_harness_reports_the_exit_status(tmp_path):
    reason = missing_tools()
    if reason:
        pytest.skip(reason)
    release = stock_release("6.1") or stock_release("6.12")
    if release is None:
        pytest.skip("no stock kernel installed")
    run = run_in_guest(release, f"uname -r > {tmp_path}/release\nexit 3\n", shared_dir=tmp_path, memory="1G")
    assert run.code == 3, run.output[-2000:]
    assert (tmp_path / "release").read_text().strip() == release


PAHOLE_MEMBER = re.compile(
    r"^\t[^\t}].*?\b(\w+)(?:\[\d*\])*(?::\d+)?;\s+/\*\s+(\d+)(?::\s*(\d+))?\s+\d+\s+\*/"
)


def pahole_layout(btf: Path, name: str) -> tuple[int, int, int, dict[str, int]]:
    """(size, cachelines, members, {top-level member: byte offset}) as pahole prints them."""
    out = subprocess.run(
        ["pahole", "-F", "btf", "-C", name, str(btf)], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    summary = re.search(r"/\* size: (\d+), cachelines: (\d+), members: (\d+) \*/", out)
    assert summary is not None, out[-500:]
    offsets = {}
    for line in out.splitlines():
        m = re.match(
            r"^\t[^\t}].*?\b(\w+)(?:\[\d*\])*(?::\d+)?;\s+/\*\s+(\d+)(?::\s*(\d+))?\s+\d+\s+\*/", line
        )
        if m:
            # A bitfield is "byte:bit" (bits into its storage unit): the byte it starts in.
            offsets[m.group(1)] = (int(m.group(2)) * 8 + int(m.group(3) or 0)) // 8
    size, cachelines, members = (int(g) for g in summary.groups())
    return size, cachelines, members, offsets


@pytest.mark.parametrize("name", ["task_struct", "mm_struct", "vm_area_struct"])
def test_struct_of_the_guest_kernel_equals_pahole(guest, name):
    from kernlab.reports import struct

    if shutil.which("pahole") is None:
        pytest.skip("pahole is not installed (.ci/run installs dwarves)")
    btf = guest / "vmlinux.btf"
    if not btf.exists():
        pytest.skip("the guest kernel has no /sys/kernel/btf/vmlinux")
    size, cachelines, members, offsets = pahole_layout(btf, name)
    report = struct.build(name, btf_path=str(btf))
    assert (report.size, report.cachelines, report.member_count) == (size, cachelines, members)
    ours = {m.name: m.offset_bytes for m in report.members}
    assert offsets and all(ours.get(member) == offset for member, offset in offsets.items()), {
        k: (ours.get(k), v) for k, v in offsets.items() if ours.get(k) != v
    }
