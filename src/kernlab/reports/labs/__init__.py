"""`kernlab lab`: guided experiments, one module per lab (mmap_read, lazy_alloc, syscall_path).

Each lab starts small children that do the work, measures them live (as root through kernlab's
tracing core: a recording of each child, read with reports.report / reports.faults; otherwise
with the kernel's own counters), and returns a frozen report of figures and keys. ``common``
holds what the labs share: the scratch folder, the children and the window of a recording
between the child's two marker calls.
"""
