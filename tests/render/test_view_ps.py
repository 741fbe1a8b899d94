# ruff: noqa: E501  (golden text: lines as long as the view prints them)
"""views.ps: reports of fixed figures printed in-process, compared with golden text."""

from __future__ import annotations

from kernlab.proc.process import ProcessInfo
from kernlab.render.output import Output
from kernlab.render.views import ps as view
from kernlab.reports.ps import KthreadFamilyRow, KthreadsReport, PsReport

PROCESSES = (
    ProcessInfo(1, 0, "S", "systemd", 0, "root", 22712, 13312, 40213, 211, 1, 0x400100, False),
    ProcessInfo(2, 0, "S", "kthreadd", 0, "root", 0, 0, 0, 0, 1, 0x208040, True),
    ProcessInfo(812, 1, "S", "[bracketed]", 1000, "ann", 1290304, 51200, 90210, 3, 12, 0x400000, False),
)


def ps_report() -> PsReport:
    return PsReport(count=3, kernel_threads=1, missing=(99999,), processes=PROCESSES)


def kthreads_report() -> KthreadsReport:
    kworkers = (
        "kworker/0:0H-events_highpri",
        "kworker/u8:1-events_unbound",
        "kworker/1:2-events",
        "kworker/R-kblockd",
        "kworker/0:1-mm_percpu_wq",
    )
    families = (
        KthreadFamilyRow("kworker", 5, 3, kworkers),
        KthreadFamilyRow("ksoftirqd", 2, 2, ("ksoftirqd/0", "ksoftirqd/1")),
        KthreadFamilyRow("kthreadd", 1, 0, ("kthreadd",)),
    )
    pools = {"per_cpu": 2, "highpri": 1, "unbound": 1, "rescuer": 1, "dying": 0, "unknown": 0, "running": 1}
    return KthreadsReport(8, families, pools)


PS_GOLDEN = """\
PID PPID USER S     VSZ   RSS MINFLT MAJFLT THR K COMMAND
  1    0 root S   22712 13312  40213    211   1   systemd
  2    0 root S       0     0      0      0   1 K kthreadd
812    1 ann  S 1290304 51200  90210      3  12   [bracketed]
Where each column comes from

 column    source
 ───────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
 PID       /proc/PID: the thread-group ID
 PPID      /proc/PID/stat field 4: the parent's PID (0 for PID 1 and kthreadd)
 USER      /proc/PID/status Uid: effective UID, named from the password database
 S         /proc/PID/stat field 3: R running, S sleeping, D uninterruptible, I idle kernel thread, Z zombie, T stopped
 VSZ       /proc/PID/status VmSize (= /proc/PID/stat field 23 vsize / 1024): mm->total_vm in KiB, every mapped page
 RSS       /proc/PID/status VmRSS = RssAnon + RssFile + RssShmem: resident pages, summed exactly (stat field 24 is an approximate read of the same per-CPU counters)
 MINFLT    /proc/PID/stat field 10 (minflt): faults served without I/O
 MAJFLT    /proc/PID/stat field 12 (majflt): faults that read a page from a file or swap
 THR       /proc/PID/stat field 20 (num_threads)
 K         /proc/PID/stat field 9 (flags) has PF_KTHREAD (0x00200000): a kernel thread
 COMMAND   /proc/PID/stat field 2 = /proc/PID/comm: the full task name (kworkers add their workqueue)

→ PID 99999: no such process (it does not exist or exited).
→ VSZ is what a process allocated, RSS what it touched: [bracketed] (PID 812) has 1.2 GiB of address space but only 50 MiB in RAM (96% never touched or not resident).
→ Faults: [bracketed] (PID 812) took the most minor faults, 90,210 (page in RAM or zero-filled, no I/O); across all processes, 214 major faults had to read pages from a file or swap.
→ 1 of 3 tasks is a kernel thread (K): VSZ and RSS are 0 because it has no user address space (task->mm is NULL).
"""

KTHREADS_GOLDEN = """\
Kernel threads (PF_KTHREAD) by family

 family      threads   per-CPU   names (full, from /proc/PID/comm)
 ───────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────────
 kworker           5         3   kworker/0:0H-events_highpri, kworker/u8:1-events_unbound, kworker/1:2-events, kworker/R-kblockd, … (+1)
 ksoftirqd         2         2   ksoftirqd/0, ksoftirqd/1
 kthreadd          1         0   kthreadd

→ 8 kernel threads in 3 families; 5 of them are bound to one CPU each (their name ends in /N or kworker/N:).
→ kworker (5): workqueue workers that run deferred work items (work_struct) queued by drivers and subsystems.
→ ksoftirqd (2): one per CPU, runs softirqs (network receive, timers, tasklets) when they arrive faster than interrupt exit can handle.
→ kthreadd (1): parent of every kernel thread; kthread_create() asks it to fork new ones.
→ kworkers by pool — per-CPU: 2; high-priority per-CPU (H): 1; unbound (u): 1; rescuers (R-): 1; being destroyed: 0.
→ kworker/N:M is worker M of CPU N's normal pool (nice 0): bound to CPU N, it runs the work items queued on that CPU by per-CPU workqueues.
→ kworker/N:MH is worker M of CPU N's high-priority pool (nice -20): bound to CPU N, it runs the work of WQ_HIGHPRI workqueues.
→ kworker/uN:M is worker M of unbound pool N (N numbers the pool, not a CPU): it runs the work of WQ_UNBOUND workqueues on any CPU the pool allows.
→ kworker/R-WQ is the rescuer of workqueue WQ: every workqueue created with WQ_MEM_RECLAIM gets one, and it sleeps until memory pressure keeps a new worker from being created, then runs that workqueue's stuck work so that reclaim can go on (before Linux 6.10 a rescuer was named WQ alone).
→ After a worker's name, +WQ names the workqueue (or the set_worker_desc() text) of the work item it is running now, -WQ that of the last one it ran, and no suffix means it has run none yet; running now: 1.
"""


def test_listing_with_sources_golden(capsys):
    view.show(ps_report(), Output(), explain_columns=True)
    assert capsys.readouterr().out == PS_GOLDEN


def test_kthreads_golden(capsys):
    view.show_kthreads(kthreads_report(), Output())
    assert capsys.readouterr().out == KTHREADS_GOLDEN


def test_quiet_listing_is_the_table_alone(capsys):
    view.show(ps_report(), Output(quiet=True))
    assert capsys.readouterr().out == PS_GOLDEN[: PS_GOLDEN.index("Where each")]


def test_no_process_matched(capsys):
    from kernlab.reports.ps import PsReport

    view.show(PsReport(0, 0, (), ()), Output())
    assert capsys.readouterr().out.splitlines()[-1] == "→ No process matched."
