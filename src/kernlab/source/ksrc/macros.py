"""The kernel's definition macros: invocations that define a symbol without spelling its declaration.

``DEFINE_IDTENTRY_RAW_ERRORCODE(exc_page_fault) { … }`` defines the function ``exc_page_fault``,
``static DEFINE_MUTEX(cgroup_mutex);`` the variable ``cgroup_mutex``, ``DEVICE_ATTR_RO(size)`` the
variable ``dev_attr_size``, ``SYM_CODE_START(entry_SYSCALL_64)`` an assembly entry point. Neither
a C parser nor grep for ``name(`` finds these, so the index knows the macros by name.

The list was made by counting, in linux-source-6.1, the macros invoked first on a line of a
``.c``/``.h`` file (``grep -rhoE '^(static )?[A-Z][A-Z0-9_]+\\('``) and of a ``.S`` file, and
keeping those whose ``#define`` declares a symbol named from an argument — the macros that define
the most symbols. Macros that build table entries (``SOC_SINGLE``), module metadata
(``MODULE_LICENSE``) or test cases are left out. ``SYSCALL_DEFINEn`` is not here: system calls
have their own table, and their symbols (``__x64_sys_openat``, ``__do_sys_openat``,
``sys_openat``) are matched against it at query time (see :mod:`.query`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ASM_MACROS",
    "BODY_MACRO",
    "C_MACROS",
    "DefiningMacro",
    "macro_rule",
]


@dataclass(frozen=True)
class DefiningMacro:
    """What an invocation defines: names made from one of its arguments, of one kind."""

    argument: int
    """Which argument (from 0) holds the name."""
    names: tuple[tuple[str, str], ...]
    """(template, kind) of each name defined: ``"{}"`` is the argument itself, ``"dev_attr_{}"`` …"""

    @property
    def kind(self) -> str:
        return self.names[0][1]


def _same(kind: str, argument: int = 0) -> DefiningMacro:
    return DefiningMacro(argument, (("{}", kind),))


def _made(template: str, kind: str = "variable", *more: tuple[str, str]) -> DefiningMacro:
    return DefiningMacro(0, ((template, kind), *more))


_VARIABLE = _same("variable")
_EXPORT = _same("export")
_TRACEPOINT_NAMES = (("trace_{}", "tracepoint"), ("__tracepoint_{}", "tracepoint"))
_TRACEPOINT = DefiningMacro(0, _TRACEPOINT_NAMES)
_TRACEPOINT_2ND = DefiningMacro(1, _TRACEPOINT_NAMES)

# Invocations at the top level of C code (a DECLARE_BITMAP inside a struct is a member, a
# LIST_HEAD inside a function a local variable: ctags does not list those either).
C_MACROS: dict[str, DefiningMacro] = {
    **dict.fromkeys(
        [
            "DEFINE_MUTEX",
            "DEFINE_SPINLOCK",
            "DEFINE_RAW_SPINLOCK",
            "DEFINE_RWLOCK",
            "DEFINE_SEQLOCK",
            "DEFINE_SEMAPHORE",
            "DECLARE_RWSEM",
            "DEFINE_PERCPU_RWSEM",
            "DEFINE_STATIC_PERCPU_RWSEM",
            "DEFINE_WW_CLASS",
            "DEFINE_WD_CLASS",
            "DEFINE_IDA",
            "DEFINE_IDR",
            "LIST_HEAD",
            "HLIST_HEAD",
            "LLIST_HEAD",
            "DECLARE_WAIT_QUEUE_HEAD",
            "DECLARE_COMPLETION",
            "DECLARE_WORK",
            "DECLARE_DELAYED_WORK",
            "DECLARE_DEFERRABLE_WORK",
            "DECLARE_TASKLET",
            "DECLARE_TASKLET_DISABLED",
            "DECLARE_TASKLET_OLD",
            "DECLARE_TASKLET_DISABLED_OLD",
            "DEFINE_TIMER",
            "DECLARE_BITMAP",
            "DEFINE_STATIC_KEY_FALSE",
            "DEFINE_STATIC_KEY_TRUE",
            "DEFINE_STATIC_KEY_FALSE_RO",
            "DEFINE_STATIC_KEY_TRUE_RO",
            "DEFINE_STATIC_KEY_ARRAY_FALSE",
            "DEFINE_STATIC_KEY_ARRAY_TRUE",
            "DEFINE_SRCU",
            "DEFINE_STATIC_SRCU",
            "DEFINE_RATELIMIT_STATE",
            "DEFINE_XARRAY",
            "DEFINE_XARRAY_ALLOC",
            "DEFINE_XARRAY_ALLOC1",
            "DEFINE_XARRAY_FLAGS",
            "DEFINE_HASHTABLE",
            "DEFINE_READ_MOSTLY_HASHTABLE",
            "DEFINE_STATIC_CALL",
            "DEFINE_STATIC_CALL_NULL",
            "DEFINE_STATIC_CALL_RET0",
            "ATOMIC_NOTIFIER_HEAD",
            "BLOCKING_NOTIFIER_HEAD",
            "RAW_NOTIFIER_HEAD",
            "SRCU_NOTIFIER_HEAD",
            "SIMPLE_DEV_PM_OPS",
            "UNIVERSAL_DEV_PM_OPS",
            "DEFINE_SIMPLE_DEV_PM_OPS",
            "DEFINE_RUNTIME_DEV_PM_OPS",
            "DEFINE_SIMPLE_ATTRIBUTE",
            "DEFINE_SIMPLE_ATTRIBUTE_SIGNED",
            "DEFINE_DEBUGFS_ATTRIBUTE",
            "DEFINE_DEBUGFS_ATTRIBUTE_SIGNED",
        ],
        _VARIABLE,
    ),
    **dict.fromkeys(
        [
            "DEFINE_PER_CPU",
            "DEFINE_PER_CPU_ALIGNED",
            "DEFINE_PER_CPU_SHARED_ALIGNED",
            "DEFINE_PER_CPU_READ_MOSTLY",
            "DEFINE_PER_CPU_PAGE_ALIGNED",
            "DEFINE_PER_CPU_FIRST",
            "DEFINE_PER_CPU_DECRYPTED",
            "DEFINE_PER_CPU_SECTION",
        ],
        _same("variable", 1),
    ),
    **dict.fromkeys(
        [
            "DEVICE_ATTR",
            "DEVICE_ATTR_RO",
            "DEVICE_ATTR_RW",
            "DEVICE_ATTR_WO",
            "DEVICE_ATTR_ADMIN_RO",
            "DEVICE_ATTR_ADMIN_RW",
            "DEVICE_ATTR_PREALLOC",
            "DEVICE_ATTR_IGNORE_LOCKDEP",
        ],
        _made("dev_attr_{}"),
    ),
    **dict.fromkeys(
        ["DRIVER_ATTR_RO", "DRIVER_ATTR_RW", "DRIVER_ATTR_WO"],
        _made("driver_attr_{}"),
    ),
    **dict.fromkeys(["BUS_ATTR_RO", "BUS_ATTR_RW", "BUS_ATTR_WO"], _made("bus_attr_{}")),
    **dict.fromkeys(
        ["CLASS_ATTR_RO", "CLASS_ATTR_RW", "CLASS_ATTR_WO", "CLASS_ATTR_STRING"],
        _made("class_attr_{}"),
    ),
    **dict.fromkeys(
        [
            "SENSOR_DEVICE_ATTR",
            "SENSOR_DEVICE_ATTR_RO",
            "SENSOR_DEVICE_ATTR_RW",
            "SENSOR_DEVICE_ATTR_WO",
            "SENSOR_DEVICE_ATTR_2",
            "SENSOR_DEVICE_ATTR_2_RO",
            "SENSOR_DEVICE_ATTR_2_RW",
            "SENSOR_DEVICE_ATTR_2_WO",
        ],
        _made("sensor_dev_attr_{}"),
    ),
    "DEFINE_SHOW_ATTRIBUTE": _made("{}_fops", "variable", ("{}_open", "function")),
    "DEFINE_SEQ_ATTRIBUTE": _made("{}_fops", "variable", ("{}_open", "function")),
    "DEFINE_PROC_SHOW_ATTRIBUTE": _made("{}_proc_ops", "variable", ("{}_open", "function")),
    "ATTRIBUTE_GROUPS": _made("{}_group", "variable", ("{}_groups", "variable")),
    **dict.fromkeys(
        [
            "TRACE_EVENT",
            "TRACE_EVENT_FN",
            "TRACE_EVENT_FN_COND",
            "TRACE_EVENT_CONDITION",
            "DECLARE_TRACE",
            "DECLARE_TRACE_CONDITION",
        ],
        _TRACEPOINT,
    ),
    **dict.fromkeys(
        ["DEFINE_EVENT", "DEFINE_EVENT_FN", "DEFINE_EVENT_CONDITION", "DEFINE_EVENT_PRINT"],
        _TRACEPOINT_2ND,
    ),
    **dict.fromkeys(
        [
            "EXPORT_SYMBOL",
            "EXPORT_SYMBOL_GPL",
            "EXPORT_SYMBOL_NS",
            "EXPORT_SYMBOL_NS_GPL",
            "EXPORT_PER_CPU_SYMBOL",
            "EXPORT_PER_CPU_SYMBOL_GPL",
            "ACPI_EXPORT_SYMBOL",
            "EXPORT_STATIC_CALL",
            "EXPORT_STATIC_CALL_GPL",
            "EXPORT_STATIC_CALL_TRAMP",
            "EXPORT_STATIC_CALL_TRAMP_GPL",
        ],
        _EXPORT,
    ),
}

BODY_MACRO = re.compile(r"(?:DEFINE_IDTENTRY|DEFINE_INTERRUPT_HANDLER)\w*|(?:NOTRACE_)?BPF_CALL_\d")
"""Macros written as a function head, ``MACRO(name, …) { body }``: the function is ``name``."""

_ASM_FUNCTION = _same("function")
_ASM_FAMILIES: tuple[tuple[re.Pattern[str], DefiningMacro], ...] = (
    (re.compile(r"SYM_(?:TYPED_)?FUNC_START\w*|SYM_FUNC_ALIAS\w*"), _ASM_FUNCTION),
    (re.compile(r"SYM_CODE_START\w*"), _same("code")),
    (re.compile(r"SYM_INNER_LABEL\w*"), _same("label")),
    (re.compile(r"SYM_DATA_START\w*|SYM_DATA|SYM_DATA_LOCAL"), _same("data")),
)
# Assembly entry macros: linkage.h's SYM_* (v5.5 and later) and the older or per-architecture
# ones (ENTRY, GLOBAL, WEAK; mips LEAF/NESTED, powerpc _GLOBAL, ia64 GLOBAL_ENTRY, arc ENTRY_CFI).
ASM_MACROS: dict[str, DefiningMacro] = {
    **dict.fromkeys(
        [
            "ENTRY",
            "WEAK",
            "ENTRY_CFI",
            "GLOBAL_ENTRY",
            "LEAF",
            "NESTED",
            "_GLOBAL",
            "_GLOBAL_TOC",
            "C_ENTRY",
            "V_FUNCTION_BEGIN",
            "SYM_START",
        ],
        _ASM_FUNCTION,
    ),
    **dict.fromkeys(["GLOBAL", "SYM_ENTRY"], _same("label")),
    **{name: rule for name, rule in C_MACROS.items() if rule.kind == "export"},
}

_ASM_ENDS = ("_END", "_END_ALIGN")


def macro_rule(name: str, *, assembly: bool) -> DefiningMacro | None:
    """What an invocation of ``name`` defines, if it is a definition macro."""
    if not assembly:
        return C_MACROS.get(name)
    rule = ASM_MACROS.get(name)
    if rule is not None or name.endswith(_ASM_ENDS):
        return rule
    for pattern, family in _ASM_FAMILIES:
        if pattern.fullmatch(name):
            return family
    return None


def _alternation(names: list[str]) -> str:
    return "|".join(sorted(map(re.escape, names), key=len, reverse=True))


# Candidates by their first word only (DEFINE_…, EXPORT_…), then looked up by name: ten times
# faster than an alternation of the whole names. No leading \b, so re skips most positions at C
# speed; the character before a match is checked by hand.
C_INVOCATION = re.compile(
    rf"(?:{_alternation(sorted({name.split('_')[0] for name in C_MACROS}))})_[A-Z0-9_]*(?=\s*\()"
)
ASM_INVOCATION = re.compile(rf"(?:{_alternation(list(ASM_MACROS))}|SYM_[A-Z_]+)(?=\s*\()")
