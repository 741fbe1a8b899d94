"""Raw tracepoint programs (tracing/bpf.py) and the pt_regs offsets the path-string capture reads
system-call arguments at (recording/path_strings.py REGS_LAYOUTS), checked against a call this
test makes itself with known arguments: the kernel's own view of the call."""

from __future__ import annotations

import ctypes
import errno
import os
import struct

import pytest

from kernlab.recording.path_strings import REGS_LAYOUTS, copy_syscall_args, read_syscall_nr
from kernlab.tracing import bpf

NOT_A_CALL = 1000
"""Past every table: the kernel returns ENOSYS, but sys_enter and sys_exit still fire for it."""
ARGS = (0x1111_2222_3333_4444, 7, 0xFFFF_FFFF_FFFF_FFF0, 0x55, 1 << 40, 0x0123_4567_89AB_CDEF)
SLOT = -64


def _layout() -> object:
    if os.geteuid() != 0:
        pytest.skip("loading BPF programs needs root")
    layout = REGS_LAYOUTS.get(os.uname().machine)
    if layout is None:
        pytest.skip(f"no pt_regs layout for {os.uname().machine}: the capture uses perf events there")
    return layout


def _only_this_process(a: bpf.Asm) -> None:
    a.call(bpf.Helper.GET_CURRENT_PID_TGID)
    a.rsh_imm(0, 32)
    a.mov_imm(1, os.getpid())
    a.jump_if_ne_reg(0, 1, "out")


def _value(a: bpf.Asm, values: bpf.Map) -> None:
    """r7 = the map's only value."""
    a.store_imm(a.W, 10, -4, 0)
    a.load_map_fd(1, values.fd)
    a.mov_reg(2, 10)
    a.add_imm(2, -4)
    a.call(bpf.Helper.MAP_LOOKUP_ELEM)
    a.jump_if_eq(0, 0, "out")
    a.mov_reg(7, 0)


def _exit(values: bpf.Map, layout) -> bytes:
    """On sys_exit by this process of the call whose number pt_regs keeps as NOT_A_CALL: the six
    arguments and that number (read from pt_regs at the exit by the capture's own code: what is
    checked is REGS_LAYOUTS' offsets) and the return value."""
    a = bpf.Asm()
    a.mov_reg(6, 1)
    _only_this_process(a)
    read_syscall_nr(a, layout, SLOT, 8)
    a.jump_if_ne(8, NOT_A_CALL, "out")
    _value(a, values)
    a.store_reg(a.DW, 7, 48, 8)
    a.load(a.DW, 1, 6, 8)
    a.store_reg(a.DW, 7, 56, 1)
    for index, at in enumerate(copy_syscall_args(a, layout, SLOT - 128)):
        a.load(a.DW, 1, 10, at)
        a.store_reg(a.DW, 7, 8 * index, 1)
    a.label("out")
    a.mov_imm(0, 0)
    a.exit()
    return a.assemble()


def test_raw_tracepoints_see_the_arguments_number_and_result_of_a_call():
    layout = _layout()
    values = bpf.create_map(bpf.MapType.ARRAY, 4, 64, 1, "kl_test")
    owned: list = [values]
    try:
        try:
            leave = bpf.load_raw_tracepoint_program(_exit(values, layout), "kl_test_exit")
            owned.append(leave)
            owned.append(bpf.attach_raw_tracepoint("sys_exit", leave))
        except bpf.BpfRefused as exc:
            pytest.skip(f"this kernel refuses raw tracepoint programs: {exc}")
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        ret = libc.syscall(ctypes.c_long(NOT_A_CALL), *(ctypes.c_ulong(v) for v in ARGS))
        assert ret == -1 and ctypes.get_errno() == errno.ENOSYS
        for attachment in owned[2:]:
            attachment.close()
        raw = values.lookup(struct.pack("<I", 0))
        assert raw is not None
        got = struct.unpack_from("<6QQq", raw)
        assert got[:6] == ARGS
        assert got[6] == NOT_A_CALL
        assert got[7] == -errno.ENOSYS
    finally:
        for obj in reversed(owned):
            obj.close()


def test_a_refused_raw_tracepoint_says_which_step():
    _layout()
    a = bpf.Asm()
    a.mov_imm(0, 0)
    a.exit()
    program = bpf.load_raw_tracepoint_program(a.assemble(), "kl_test_none")
    try:
        with pytest.raises(bpf.BpfRefused) as caught:
            bpf.attach_raw_tracepoint("kernlab_no_such_tracepoint", program)
        assert caught.value.step == "BPF_RAW_TRACEPOINT_OPEN"
        assert caught.value.err == errno.ENOENT
    finally:
        program.close()
