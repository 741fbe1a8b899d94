"""kernlab: see the Linux kernel at work on your own machine.

The package is a library first: readers under :mod:`kernlab.elf`, :mod:`kernlab.proc`,
:mod:`kernlab.mm`, :mod:`kernlab.tracing`, :mod:`kernlab.source` return typed dataclasses;
:mod:`kernlab.cli` is a thin layer that parses arguments, calls them and renders.
"""

__version__ = "0.1.0"
