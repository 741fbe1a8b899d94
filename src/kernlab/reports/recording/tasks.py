"""Who is who in a recording: a command name and a parent for each thread id.

Names come, most trusted last, from tracefs ``saved_cmdlines`` (the comm the kernel cached at
trace time), the recorder's process list and maps snapshots (/proc/PID/comm), and the
``sched:sched_process_fork`` (child_comm) / ``sched:sched_process_exec`` (filename) events.
Parents come from the fork events and the recorder's process list.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from kernlab.recording.reader import Recording

__all__ = ["Tasks", "read_tasks"]


@dataclass
class Tasks:
    comm: dict[int, str] = field(default_factory=dict)
    parent: dict[int, int] = field(default_factory=dict)
    processes: set[int] = field(default_factory=set)
    """Thread-group leaders the recorder saw (fork/vfork children, the root): real processes."""

    def name(self, pid: int) -> str:
        return self.comm.get(pid, "")

    def process_of(self, tid: int) -> int:
        """The process (thread-group id) of thread ``tid``.

        The recorder lists processes, not threads; a thread is created by one of its process's
        threads (sched_process_fork gives the creator), so walking the creators up to a listed
        process finds it. Without a process list every thread counts as its own process.
        """
        if not self.processes or tid in self.processes:
            return tid
        seen = {tid}
        pid = tid
        while pid in self.parent:
            pid = self.parent[pid]
            if pid in self.processes:
                return pid
            if pid in seen:
                break
            seen.add(pid)
        return tid


def read_tasks(rec: Recording) -> Tasks:
    tasks = Tasks()
    try:
        text = (rec.root / "saved_cmdlines").read_text(encoding="utf-8", errors="replace")
        for line in text.splitlines():
            pid_text, _, name = line.partition(" ")
            if pid_text.isdigit() and name:
                tasks.comm[int(pid_text)] = name
    except OSError:
        pass
    wanted = {"sched:sched_process_fork", "sched:sched_process_exec"}
    if wanted & set(rec.by_name):
        for event in rec.iter_events(wanted):
            f = event.fields
            if event.name == "sched:sched_process_fork":
                child = f.get("child_pid")
                if isinstance(child, int):
                    tasks.parent.setdefault(child, f.get("parent_pid", 0))
                    if f.get("child_comm"):
                        tasks.comm[child] = f["child_comm"]
            else:
                pid = f.get("pid")
                filename = f.get("filename")
                if isinstance(pid, int) and filename:
                    # comm is the file's basename cut to TASK_COMM_LEN-1 (15) bytes by the kernel
                    tasks.comm[pid] = os.path.basename(filename)[:15]
    # /proc/PID/comm read by the recorder is the most trusted name.
    for proc in rec.meta.processes:
        tasks.processes.add(proc.pid)
        if proc.comm:
            tasks.comm[proc.pid] = proc.comm
        if proc.ppid:
            tasks.parent[proc.pid] = proc.ppid
    for snap in rec.meta.maps:
        if snap.comm:
            tasks.comm[snap.pid] = snap.comm
    return tasks
