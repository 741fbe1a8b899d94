"""A terminal view's output as text, for the listings of the HTML page (a disassembly, a
page-table walk): the views print through rich to stdout, so the text is caught there."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable

from kernlab.render.terminal import NATURAL_WIDTH, console

__all__ = ["captured"]


def captured(show: Callable[[], None]) -> str:
    """What ``show()`` prints, at natural width (a <pre> scrolls; a folded table would not read)."""
    con = console()
    # rich's Console keeps the width it was given (None: the terminal's); the page wants every
    # line whole whatever terminal the tour ran on, then the terminal output goes on as before.
    saved = con._width
    con.width = NATURAL_WIDTH
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            show()
    finally:
        con._width = saved
    return "\n".join(line.rstrip() for line in buffer.getvalue().split("\n")).strip("\n")
