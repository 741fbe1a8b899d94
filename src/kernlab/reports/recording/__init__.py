"""The analyses of a recording that several commands share.

Who is who (tasks), system calls paired and counted, page faults counted and placed, addresses
named (symbolize, kstacks), system-call arguments shown as strace does. Each command's report
(``reports.report``, ``reports.syscalls``, ``reports.faults``, ``reports.dump``) is built from
these.
"""
