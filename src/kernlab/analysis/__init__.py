"""Analyses of a recording: system calls, page faults, symbols, argument decoding."""
