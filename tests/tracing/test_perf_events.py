"""tracing/perf_events.py: perf records read back by the perf_event.h layout, and a live
sampler's call chains compared with what `perf script` names for the same kernel addresses."""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import pytest

from kernlab.tracing import perf_events as pe

SAMPLE = 9
LOST = 2


def _sample(ip: int, pid: int, tid: int, time: int, cpu: int, period: int, chain: list[int]) -> bytes:
    body = struct.pack("=QIIQIIQQ", ip, pid, tid, time, cpu, 0, period, len(chain))
    body += struct.pack(f"={len(chain)}Q", *chain)
    return struct.pack("=IHH", SAMPLE, 1, 8 + len(body)) + body


def test_parse_hand_built_records() -> None:
    kernel = [0xFFFFFFFF81000010, 0xFFFFFFFF81000020]
    user = [0x401000, 0x402000]
    chain = [pe.CONTEXT_KERNEL, *kernel, pe.CONTEXT_USER, *user]
    lost = struct.pack("=IHH", LOST, 0, 24) + struct.pack("=QQ", 7, 13)
    throttle = struct.pack("=IHH", 5, 0, 32) + bytes(24)
    data = _sample(kernel[0], 10, 11, 12345, 1, 250000, chain) + lost + throttle
    data += _sample(0x401000, 10, 12, 12400, 0, 250000, [pe.CONTEXT_USER, *user])
    counts = pe.RecordCounts()
    samples = list(pe.parse_records(data + b"\x09\x00", counts))
    assert [(s.tid, s.time, s.cpu, s.period) for s in samples] == [
        (11, 12345, 1, 250000),
        (12, 12400, 0, 250000),
    ]
    assert pe.split_chain(samples[0].callchain) == (kernel, user)
    assert pe.split_chain(samples[1].callchain) == ([], user)
    assert (counts.samples, counts.lost, counts.throttled, counts.cut) == (2, 13, 1, 2)


def test_parse_calibration_layout() -> None:
    record = struct.pack("=IHH", SAMPLE, 0, 24) + struct.pack("=IIQ", 5, 6, 999)
    (s,) = pe.parse_records(record * 1, None, pe.CALIBRATION_TYPE)
    assert (s.pid, s.tid, s.time, s.callchain) == (5, 6, 999, ())


def test_offset_of_finds_the_common_shift() -> None:
    trace = [1000, 5000, 9000, 20000, 50000]
    perf = [t + 777_000 + j for j, t in enumerate(trace[1:4])]  # a subset, stamped 777 µs later
    assert abs(pe.offset_of(perf, trace) - 777_001) <= 2
    assert pe.offset_of([5], [1]) is None


def _need_perf() -> str:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    if not Path("/usr/bin/perf").exists():
        pytest.skip("perf is not installed")
    return "/usr/bin/perf"


def _perf_fds() -> int:
    """perf event descriptors this process holds (anon inodes named ``[perf_event]``)."""
    n = 0
    for f in Path("/proc/self/fd").iterdir():
        try:
            n += "perf_event" in os.readlink(f)
        except OSError:
            continue  # the descriptor of the listing itself, closed by now
    return n


def test_live_chains_name_what_perf_names(tmp_path: Path, build_c) -> None:  # type: ignore[no-untyped-def]
    """The kernel frames of the sampler's chains are the addresses `perf script` resolves for a
    run of the same program: every kernel function perf shows under read, the sampler sees too."""
    perf = _need_perf()
    prog = build_c("ks_proc_maps", ["-O2"])
    before = _perf_fds()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        os.read(r, 1)
        os.execv(str(prog), [str(prog), "3000"])
    os.close(r)
    sampler = pe.Sampler([pid], tmp_path / "s", tracefs=Path("/sys/kernel/tracing"))
    try:
        sampler.open()
        sampler.enable()
        sampler.start_draining()
        os.write(w, b"x")
        os.waitpid(pid, 0)
    finally:
        sampler.close()
    assert _perf_fds() == before, "a perf descriptor was left open"
    kallsyms = {}
    for line in Path("/proc/kallsyms").read_text().splitlines():
        a, kind, name = line.split()[:3]
        if kind in "tTwW" and int(a, 16):
            kallsyms[int(a, 16)] = name
    addrs = sorted(kallsyms)
    import bisect

    def name(address: int) -> str:
        return kallsyms[addrs[bisect.bisect_right(addrs, address) - 1]]

    ours: set[str] = set()
    counts = pe.RecordCounts()
    for f in sorted((tmp_path / "s").glob("cpu*.raw")):
        for s in pe.parse_records(f.read_bytes(), counts):
            assert s.tid == pid
            kernel, _user = pe.split_chain(s.callchain)
            names = [name(a) for a in kernel]
            if "ksys_read" in names:
                ours.update(names[: names.index("ksys_read")])
    calibration = list(
        pe.parse_records((tmp_path / "s" / pe.CALIBRATION_FILE).read_bytes(), None, pe.CALIBRATION_TYPE)
    )
    assert len(calibration) >= 8 and all(c.tid == pid for c in calibration)
    assert counts.samples > 50, counts

    data = tmp_path / "perf.data"
    subprocess.run(
        [perf, "record", "-q", "-F", "4000", "-g", "-o", str(data), str(prog), "3000"],
        check=True,
        capture_output=True,
    )
    script = subprocess.run(
        [perf, "script", "-i", str(data), "-F", "ip,sym"], capture_output=True, text=True, check=True
    ).stdout
    theirs: set[str] = set()
    for block in script.split("\n\n"):
        names = [
            line.split()[1].split("+")[0] for line in block.strip().splitlines() if len(line.split()) > 1
        ]
        if "ksys_read" in names:
            theirs.update(names[: names.index("ksys_read")])
    core = {"vfs_read", "seq_read", "seq_read_iter", "show_map", "show_map_vma"}
    assert core <= theirs, theirs
    assert core <= ours, ours
