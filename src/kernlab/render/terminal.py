"""Terminal output with rich: tables, key/value panels, and the closing sentence of meaning.

rich is imported only when something is printed, so that ``kernlab --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


NATURAL_WIDTH = 1 << 16
"""Width given to rich off a terminal: wide enough that nothing is ever wrapped or folded."""


@cache
def console() -> Console:
    """The console for stdout: the terminal's width on a terminal, natural width elsewhere.

    Piped into a file or ``less``, output must never split a name, number or symbol, so off a
    terminal rich gets a width it never reaches and every line is as long as its data, as
    readelf, ps and strace print.
    """
    from rich.console import Console

    if sys.stdout.isatty():
        return Console(highlight=False, soft_wrap=False)
    return Console(highlight=False, soft_wrap=False, width=NATURAL_WIDTH)


@cache
def error_console() -> Console:
    """The console for stderr: like :func:`console`, natural width off a terminal."""
    from rich.console import Console

    if sys.stderr.isatty():
        return Console(stderr=True, highlight=False)
    return Console(stderr=True, highlight=False, width=NATURAL_WIDTH)


def print_error_text(renderable: Any, **options: Any) -> None:
    """Print on stderr; off a terminal without the blanks rich pads lines with."""
    con = error_console()
    if con.is_terminal:
        con.print(renderable, **options)
        return
    with con.capture() as captured:
        con.print(renderable, **options)
    sys.stderr.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))
    sys.stderr.flush()


def format_hex(value: int) -> str:
    return f"0x{value:x}"


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    title: str | None = None,
    right: Iterable[str] = (),
    caption: str | None = None,
) -> None:
    """A table; columns named in ``right`` are right-aligned (numbers)."""
    from rich import box
    from rich.table import Table

    right_set = set(right)
    table = Table(
        title=title,
        # A title is one line: a table narrower than its title would fold it mid-word.
        min_width=len(title) if title else None,
        caption=caption,
        box=box.SIMPLE_HEAD,
        title_justify="left",
        caption_justify="left",
        pad_edge=False,
    )
    for name in columns:
        table.add_column(name, justify="right" if name in right_set else "left")
    for row in rows:
        # Cells are data, never markup: "[heap]" must print as itself.
        table.add_row(*(_cell(cell) for cell in row))
    print_renderable(table)


def print_renderable(renderable: Any) -> None:
    """Print a rich table (or other renderable) without splitting any token.

    On a terminal, prose cells wrap at spaces; when that is not enough and rich would cut a
    cell, the table is printed at its natural width (the terminal folds whole lines, never a
    cell's word). Off a terminal it is printed at natural width with no trailing blanks.
    """
    con = console()
    if con.is_terminal:
        # rich squeezes a table wider than the terminal by cutting cells ("GNU_ST…") once
        # wrapping prose at spaces is not enough; then the table is printed whole, at its
        # natural width, and the terminal folds its long lines instead.
        with con.capture() as captured:
            con.print(renderable)
        text = captured.get()
        if "…" not in text or "…" in _plain_text(renderable):
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        from rich.measure import Measurement

        width = con.width
        con.width = Measurement.get(con, con.options.update_width(NATURAL_WIDTH), renderable).maximum
        try:
            con.print(renderable)
        finally:
            con.width = width
        return
    with con.capture() as captured:
        con.print(renderable)
    text = "\n".join(line.rstrip() for line in captured.get().split("\n"))
    sys.stdout.write(text)
    sys.stdout.flush()


def _plain_text(renderable: Any) -> str:
    """The text a renderable holds, without layout (to tell rich's ellipsis from the data's)."""
    import io

    from rich.console import Console

    plain = Console(width=NATURAL_WIDTH, file=io.StringIO(), color_system=None)
    with plain.capture() as captured:
        plain.print(renderable)
    return captured.get()


def _cell(cell: Any) -> Any:
    from rich.text import Text

    if cell is None:
        return ""
    if isinstance(cell, str):
        return Text(cell)
    if hasattr(cell, "__rich_console__") or hasattr(cell, "__rich__"):
        return cell  # already a rich renderable (e.g. a coloured Text built by a renderer)
    return Text(str(cell))


def print_fields(pairs: Iterable[tuple[str, Any]], *, title: str | None = None) -> None:
    """Aligned ``name: value`` lines, like readelf -h."""
    pairs = list(pairs)
    if title:
        console().print(f"[bold]{title}[/bold]")
    width = max((len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        console().print(f"  {key + ':':<{width + 1}} {value}", markup=False)


def styled(con: Console, style: str) -> tuple[str, str]:
    """The codes ``con`` writes before and after text in ``style`` (both "" without colour):
    for many lines written as one string instead of one rich renderable each."""
    from rich.text import Text

    with con.capture() as captured:
        con.print(Text("\0", style=style), end="")
    start, _, end = captured.get().partition("\0")
    return start, end


def write_text(text: str) -> None:
    """Text laid out already, written as it is: no markup, no wrapping, no padding."""
    sys.stdout.write(text)
    sys.stdout.flush()


def print_heading(text: str) -> None:
    console().print(f"\n[bold underline]{text}[/bold underline]")


def print_line(text: str = "", *, markup: bool = False, wrap: bool = True) -> None:
    """One line of text; ``wrap=False`` keeps long lines whole (fixed-width listings)."""
    console().print(text, markup=markup, soft_wrap=not wrap)


def print_sentence(text: str, *, quiet: bool = False) -> None:
    """The plain sentence of meaning that ends a section (left out with --quiet).

    Written without rich: a listing command that prints plain text should not pay ~40 ms to
    import rich just for its closing sentence. On a terminal it is wrapped at word boundaries
    and set in italic cyan (unless NO_COLOR is set).
    """
    if quiet:
        return
    line = f"→ {text}"
    stream = sys.stdout
    if stream.isatty():
        import shutil
        import textwrap

        width = shutil.get_terminal_size().columns
        line = textwrap.fill(line, width=max(width, 20), subsequent_indent="  ", break_long_words=False)
        if "NO_COLOR" not in os.environ:
            line = f"\x1b[3;36m{line}\x1b[0m"
    stream.write(line + "\n")
    stream.flush()
