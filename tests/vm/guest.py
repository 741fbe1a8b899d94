"""Boot a stock distribution kernel under qemu with this machine's root as the guest's root.

virtme-ng (`vng --run KERNEL --exec …`) does the booting: the host's filesystem is the guest's
root (read-only, with overlays), so kernlab, Python and the oracles are the host's own. The
kernels are Debian's stock amd64 ones of two generations, resolved at run time from what
`linux-image-amd64` and `linux-image-6.12-amd64` depend on (never a hard-coded version).
Acceleration is found by trying: KVM when a guest really boots with it, else TCG.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

# The metapackages whose dependency names the stock kernel of each generation.
GENERATIONS = {"6.1": "linux-image-amd64", "6.12": "linux-image-6.12-amd64"}
BOOT_TIMEOUT_S = 420
EXIT_MARK = "KERNLAB-GUEST-EXIT="


@dataclass(frozen=True)
class GuestRun:
    release: str
    code: int | None  # the guest command's exit status (None: the guest never reported one)
    output: str


def missing_tools() -> str | None:
    """Why VM tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root (the guest runs kernlab's tracing as root)"
    for tool, package in (
        ("vng", "virtme-ng (pip)"),
        ("qemu-system-x86_64", "qemu-system-x86"),
        ("busybox", "busybox-static"),
    ):
        if shutil.which(tool) is None:
            return f"{tool} is not installed ({package}; .ci/run installs it)"
    return None


@functools.cache
def stock_release(generation: str) -> str | None:
    """The kernel release the generation's metapackage depends on, if its image is installed."""
    metapackage = GENERATIONS[generation]
    try:
        out = subprocess.run(
            ["apt-cache", "depends", metapackage], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"Depends: linux-image-(\S+?)(?:-unsigned)?\s*$", out, re.M)
    if not match:
        return None
    release = match.group(1)
    return release if Path(f"/boot/vmlinuz-{release}").exists() else None


@functools.cache
def acceleration() -> tuple[str, ...]:
    """vng options for the fastest accelerator that really boots a guest here.

    /dev/kvm may exist while nested KVM fails (qemu: "failed to set MSR 0x10a"), so the answer
    comes from booting, not from the device node.
    """
    release = stock_release("6.1") or stock_release("6.12")
    if release is None or not os.path.exists("/dev/kvm"):
        return ("--disable-kvm",)
    command = ["vng", "--run", f"/boot/vmlinuz-{release}", "--memory", "1G", "--exec", "echo kvm-boots"]
    return () if "kvm-boots" in _run_group(command, 90) else ("--disable-kvm",)


def _run_group(command: list[str], timeout: float) -> str:
    """Run vng; its output (stdout and stderr through one pipe, as the guest prints them).

    vng, virtme-run and qemu form one process group of their own: on a timeout (a hung guest)
    the whole group is killed, so no qemu outlives the test.
    """
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        output = f"(guest killed after {timeout:.0f} s)"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return output


def run_in_guest(
    release: str,
    script: str,
    *,
    shared_dir: Path,
    five_level: bool = True,
    cpus: int = 2,
    memory: str = "2G",
    timeout: float = BOOT_TIMEOUT_S,
) -> GuestRun:
    """Boot ``release`` and run the bash ``script``; ``shared_dir`` is writable from the guest.

    The guest's output is captured through a pipe (writing qemu's stdout and stderr to one file
    lost the start of it); the script's exit status comes back as a marker line, since vng
    does not return it.
    """
    command = [
        "vng",
        "--verbose",  # the kernel's console too: an oops or panic is then in the failure's text
        "--run",
        f"/boot/vmlinuz-{release}",
        *acceleration(),
        "--cpus",
        str(cpus),
        "--memory",
        memory,
        "--rwdir",
        str(shared_dir),
    ]
    if not five_level:
        # TCG's default `-cpu max` has LA57; taking it away gives the guest 4-level paging.
        command.append("--qemu-opts=-cpu max,-la57")  # "=": the value starts with a dash
    if "--disable-kvm" in acceleration():
        # Multi-threaded TCG lets one vCPU run kernel text while the other patches it: enabling
        # the page-fault tracepoints flips a static key inside exc_page_fault, and Debian's 6.12
        # then died with "Oops: int3" in exc_page_fault (3 boots of 9 here). One TCG thread
        # runs the vCPUs in turn, as real CPUs' cross-modifying code rules allow.
        command.append("--qemu-opts=-accel tcg,thread=single")
    script_file = shared_dir / "guest.sh"
    script_file.write_text(script)
    command += ["--exec", f"bash {script_file}; echo {EXIT_MARK}$?"]
    output = _run_group(command, timeout)
    code = None
    # Anywhere in a line: with --verbose a kernel message may share the console line.
    for match in re.finditer(re.escape(EXIT_MARK) + r"(-?\d*)", output):
        code = int(match.group(1) or "-1")
    return GuestRun(release, code, output)
