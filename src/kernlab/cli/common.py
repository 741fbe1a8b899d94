"""Conventions every command shares: --json/--quiet, rendering, examples in --help."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kernlab.render.output import Output

__all__ = ["ADDRESS", "Output", "examples", "output_options", "recording_dir_option", "strip_width_option"]

F = TypeVar("F", bound=Callable[..., Any])


def output_options(func: F) -> F:
    """Add --json and --quiet, and pass an :class:`Output` as the ``out`` argument."""

    @click.option("--json", "as_json", is_flag=True, help="Print one JSON document with the same data.")
    @click.option("--quiet", "-q", is_flag=True, help="Leave out the explanatory sentences.")
    @functools.wraps(func)
    def wrapper(*args: Any, as_json: bool, quiet: bool, **kwargs: Any) -> Any:
        if as_json or quiet:
            from kernlab.render import progress

            progress.set_enabled(False)
        return func(*args, out=Output(json=as_json, quiet=quiet), **kwargs)

    return wrapper  # type: ignore[return-value]


def recording_dir_option(func: F) -> F:
    """``-d/--dir DIR``: the recording a command reads (kernlab.data by default, like uftrace.data)."""
    return click.option(
        "-d",
        "--dir",
        "directory",
        type=click.Path(path_type=Path),
        default=Path("kernlab.data"),
        show_default=True,
        help="The recording directory.",
    )(func)


STRIP_WIDTH = 64
"""Cells of the page strips of `pagecache` and `vtop --range/--all` by default."""


def strip_width_option(func: F) -> F:
    """``--width CELLS``: how many cells a page strip is drawn with."""
    return click.option(
        "--width",
        default=STRIP_WIDTH,
        show_default=True,
        type=click.IntRange(8, 400),
        metavar="CELLS",
        help="Strip width.",
    )(func)


def examples(*lines: str) -> str:
    """An epilog of examples, kept verbatim by click (the \\b marker stops re-wrapping)."""
    body = "\n".join(f"  {line}" for line in lines)
    return f"\b\nExamples:\n{body}"


class AddressType(click.ParamType):
    """An address in hex (0x…) or decimal."""

    name = "address"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower().replace("_", "")
        try:
            if text.startswith("0x"):
                return int(text, 16)
            if any(c in "abcdef" for c in text):
                return int(text, 16)
            return int(text, 10)
        except ValueError:
            self.fail(f"{value!r} is not an address (use hex like 0x401000 or decimal)", param, ctx)


ADDRESS = AddressType()
