"""Entry point: a click group whose commands are imported only when used.

Start-up must stay under 150 ms, so nothing heavy (rich, pyelftools, capstone) is imported here:
each command lives in its own module, listed in ``COMMANDS`` and loaded on demand.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from kernlab import __version__

# command name -> (module, attribute, one-line help shown by `kernlab --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "elf": ("kernlab.cli.elf_cmd", "elf", "What an executable is: headers, segments, sections, symbols."),
    "disasm": ("kernlab.cli.disasm_cmd", "disasm", "Disassemble a function, objdump -d style."),
    "ldd": ("kernlab.cli.ldd_cmd", "ldd", "Shared libraries a file needs, resolved like ld.so."),
    "kernel": ("kernlab.cli.kernel_cmd", "kernel", "The running kernel: release, config, symbols."),
    "syscall": ("kernlab.cli.syscall_cmd", "syscall", "System-call numbers, entry points, arguments."),
    "mem": ("kernlab.cli.mem_cmd", "mem", "Memory as free(1) computes it, and /proc/meminfo."),
    "ps": ("kernlab.cli.ps_cmd", "ps", "Processes and kernel threads: VSZ, RSS, faults."),
    "maps": ("kernlab.cli.maps_cmd", "maps", "A process's virtual memory areas (maps + smaps)."),
    "vtop": ("kernlab.cli.vtop_cmd", "vtop", "One address through every layer: VMA, page table, PFN."),
    "pagecache": ("kernlab.cli.pagecache_cmd", "pagecache", "Which pages of a file are in the page cache."),
    "record": ("kernlab.cli.record_cmd", "record", "Trace a command or process into a recording."),
    "report": ("kernlab.cli.report_cmd", "report", "System calls and page faults of a recording."),
    "syscalls": ("kernlab.cli.syscalls_cmd", "syscalls", "strace-like lines from a recording."),
    "faults": ("kernlab.cli.faults_cmd", "faults", "One line per page fault from a recording."),
    "dump": (
        "kernlab.cli.dump_cmd",
        "dump",
        "Export a recording (trace.dat, ftrace text, Chrome, Perfetto, folded, Parquet).",
    ),
    "sql": ("kernlab.cli.sql_cmd", "sql", "SQL over the Parquet tables of recordings (DuckDB)."),
    "graph": (
        "kernlab.cli.graph_cmd",
        "graph",
        "Call graph below a function of a recording, as uftrace graph.",
    ),
    "doctor": ("kernlab.cli.doctor_cmd", "doctor", "What this kernel and user allow, found by trying."),
    "struct": ("kernlab.cli.struct_cmd", "struct", "A kernel structure's layout from BTF."),
    "churn": ("kernlab.cli.churn_cmd", "churn", "Where a git repository changes, per entry."),
    "authors": ("kernlab.cli.churn_cmd", "authors", "Who changes a git repository (shortlog -sn)."),
    "ksrc": ("kernlab.cli.ksrc_cmd", "ksrc", "Navigate a kernel source tree."),
    "tour": ("kernlab.cli.tour_cmd", "tour", "The course's day, step by step, live on this machine."),
    "replay": ("kernlab.cli.replay_cmd", "replay", "Function call tree of a recording, as uftrace replay."),
    "lab": ("kernlab.cli.lab_cmd", "lab", "Experiments: mmap vs read, lazy allocation, a call's path."),
}


def _available(name: str) -> bool:
    return importlib.util.find_spec(COMMANDS[name][0]) is not None


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module_name, attr, _ = COMMANDS[cmd_name]
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Show the short help from COMMANDS so --help imports no command module.
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


EPILOG = """\b
Examples:
  kernlab elf /bin/ls                 what an executable is
  kernlab syscall rename --libc       libc's wrapper: mov $0x52,%eax; syscall
  kernlab maps self                   the virtual memory of this process
  kernlab doctor                      what this kernel lets kernlab do
  sudo kernlab tour                   the whole day, step by step, on this machine
Exit codes: 0 ok, 1 error, 2 usage, 3 bad input, 4 no such process,
5 permission needed, 6 not supported, 7 tracing failed, 8 empty answer,
9 disk full, 130 interrupted."""


@click.group(cls=LazyGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="kernlab")
@click.option(
    "--lang",
    type=click.Choice(["en", "ko"]),
    default=None,
    envvar="KERNLAB_LANG",
    help="Language of the explanations (English or Korean).",
)
def cli(lang: str | None) -> None:
    """kernlab: see the Linux kernel at work on this machine."""
    if lang:
        from kernlab import explain

        explain.set_language(lang)


def _fail(line: str, code: int) -> None:
    sys.stderr.write(f"{line}\n")
    sys.exit(code)


def _interrupted() -> str:
    # The catalog is read only when the line is printed: nothing of it at start-up.
    from kernlab.explain.errors import interrupted_line

    return interrupted_line()


def main(argv: list[str] | None = None) -> Any:
    """Run the CLI; every KernlabError becomes one stderr line and its exit code."""
    from kernlab.errors import KernlabError

    try:
        return cli.main(args=argv, prog_name="kernlab", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except SystemExit as exc:
        # click turns EPIPE into exit status 1 and wraps stdout so the final flush is quiet; the
        # reader of our output went away (`| head`): not an error of ours. (The wrapper is
        # PacifyFlushWrapper up to click 8.4, _PacifyFlushWrapper from 8.5.)
        if exc.code == 1 and type(sys.stdout).__name__.lstrip("_") == "PacifyFlushWrapper":
            sys.exit(0)
        raise
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        _fail(_interrupted(), 130)
    except KeyboardInterrupt:
        _fail(_interrupted(), 130)
    except KernlabError as exc:
        from kernlab.explain.errors import error_line

        # In the language asked for when the error names a catalog key; English otherwise.
        _fail(error_line(exc), exc.exit_code)
    except BrokenPipeError:
        # The reader of our output went away (e.g. `| head`): not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        import os

        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(0)


def entry() -> Any:
    """The ``kernlab`` program: :func:`main`, then the heap left as it is for the process exit
    to drop. The interpreter's last cycle collection would otherwise walk every object a
    command made (30 ms after a whole libc's listing) only to find nothing; gc.freeze() takes
    them out of its sight, and atexit handlers and finalizers run as before."""
    try:
        return main()
    finally:
        import gc

        gc.freeze()


if __name__ == "__main__":
    entry()
