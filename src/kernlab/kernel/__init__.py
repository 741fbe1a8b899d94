"""The running kernel: release, build configuration, symbol addresses and KASLR.

* :mod:`kernlab.kernel.release` -- ``uname -r`` and /proc/version;
* :mod:`kernlab.kernel.config` -- /proc/config.gz or /boot/config-<release>;
* :mod:`kernlab.kernel.kallsyms` -- /proc/kallsyms;
* :mod:`kernlab.kernel.kaslr` -- the KASLR offset, from kallsyms and the config;
* :mod:`kernlab.kernel.cpu` -- the CPU's feature flags from /proc/cpuinfo;
* :mod:`kernlab.kernel.cmdline` -- /proc/cmdline and stack_guard_gap=;
* :mod:`kernlab.kernel.layout` -- which half of the address space, and which kernel area, an
  address is in.

``kernlab kernel`` gathers all of it in :mod:`kernlab.reports.kernel`.
"""

from kernlab.kernel.config import read_kernel_config
from kernlab.kernel.kallsyms import Kallsyms, KallsymsEntry, lookup_kallsyms, read_kallsyms
from kernlab.kernel.release import KernelRelease, read_release

__all__ = [
    "Kallsyms",
    "KallsymsEntry",
    "KernelRelease",
    "lookup_kallsyms",
    "read_kallsyms",
    "read_kernel_config",
    "read_release",
]
