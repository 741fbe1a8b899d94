"""Readers of /proc: memory totals (meminfo, free), processes (stat, status), and VMAs (maps, smaps).

Every reader returns typed dataclasses and raises only :mod:`kernlab.errors` exceptions; the OS
errors that races with exiting processes produce are translated once, in :mod:`.errors`.
"""
