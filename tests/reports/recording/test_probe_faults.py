"""Faults kernlab's own work causes are not the program's (reports/recording/probe_faults.py,
fault_events.INTERRUPT_FLAGS): a probe fetching a string argument in the kernel, and perf's
user-stack walk for -K samples in interrupt context."""

from __future__ import annotations

from kernlab.recording.reader import open_recording
from kernlab.reports import faults, report
from kernlab.reports.recording.fault_events import INTERRUPT_FLAGS, KERNEL
from tests.conftest import PROGRAMS, compile_c, run_kernlab
from tests.recording.rec_util import need_tracing, record_fn_calls


def _kernel_faults(directory) -> list[tuple[int, str]]:
    return [
        (line.address, line.where.split("+")[0])
        for line in faults.build(directory).lines
        if line.mode == "kernel" and line.address < 4096
    ]


def test_a_probes_string_fetch_is_not_the_programs_fault(tmp_path):
    """open(NULL): the system call faults on address 0 (the program's EFAULT); under --functions
    the probe on libc's open and printf fetch their strings too, and a fetch from a page not yet
    present faults in the kernel with page faults disabled. The program's faults on the NULL
    page are the same with and without the probes, and no fault the listing keeps lies on a
    page a probe fetched from just before its event."""
    need_tracing()
    program = compile_c(PROGRAMS / "null_open.c", tmp_path / "null_open", ["-O0"])
    plain, probed = tmp_path / "plain", tmp_path / "probed"
    for directory, options in ((plain, ()), (probed, ("--functions",))):
        result = run_kernlab("record", *options, "-q", "-d", str(directory), "--", str(program))
        assert result.code == 0, result.stderr
    assert _kernel_faults(probed) == _kernel_faults(plain) != []
    rec = open_recording(probed)
    fetched = []
    for fmt in rec.formats.values():
        if fmt.system.startswith("kernlab") and fmt.has_field("a0p"):
            for cpu in [*rec.cpu_events(), *rec.probe_events()]:
                offsets, stamps = cpu.offsets_for({fmt.id}), cpu.stamps_for({fmt.id})
                for i in cpu.indices_of({fmt.id}):
                    values = fmt.decode(cpu.raw, offsets[i], cpu.lengths[i])
                    fetched.append((stamps[i], values["common_pid"], values["a0p"]))
    assert fetched, "the probes fetched no string"
    kept = [line for line in faults.build(probed).lines if line.mode == "kernel"]
    start = rec.command_start_ts
    for line in kept:
        ts = start + round(line.time_s * 1e9)
        for event_ts, tid, pointer in fetched:
            near = 0 <= event_ts - ts < 1_000_000 and tid == line.pid
            assert not (near and pointer & -4096 <= line.address < pointer + 4096), (line, pointer)


def test_faults_in_interrupt_context_are_not_the_programs(tmp_path):
    """-K samples with perf, whose user call-chain walk reads the task's stack in interrupt
    context and may fault there: those faults are in the recording but in no report (the
    listing and the statistics leave out the same ones)."""
    need_tracing()
    directory = record_fn_calls(tmp_path, 4)
    rec = open_recording(directory)
    fmt = rec.by_name[KERNEL]
    in_interrupt = 0
    for cpu in rec.cpu_events():
        offsets = cpu.offsets_for({fmt.id})
        for i in cpu.indices_of({fmt.id}):
            values = fmt.decode(cpu.raw, offsets[i], cpu.lengths[i])
            in_interrupt += bool(values["common_flags"] & INTERRUPT_FLAGS)
    listing = faults.build(directory)
    built = report.build(directory)
    assert built.faults is not None
    kernel_lines = sum(1 for line in listing.lines if line.mode == "kernel")
    # The listing (record by record) and the statistics (columns) leave out the same faults.
    assert (built.faults.total, built.faults.kernel) == (len(listing.lines), kernel_lines)
    events = sum(len(cpu.indices_of({fmt.id})) for cpu in rec.cpu_events())
    assert kernel_lines <= events - in_interrupt
