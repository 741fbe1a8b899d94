"""The HTML page: one self-contained file, plotly's JavaScript embedded once, everything else escaped.

A page is a list of parts (headings, paragraphs, tables, listings, figures) joined into one
document. Nothing in it is fetched when the file is opened: plotly.js is inlined once in the head,
every figure is written with ``include_plotlyjs=False`` so that it only calls ``Plotly.newPlot``,
no MathJax, no web font (the font stack names fonts installed on the reader's machine), and a
Content-Security-Policy that forbids any request, so a stray one fails loudly in the browser's
console instead of leaking.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = ["FONTS", "Page", "esc"]

FONTS = "'Noto Sans', 'DejaVu Sans', Verdana, Arial, 'NanumGothic', 'Noto Sans CJK KR', sans-serif"
"""Fonts of the page and of the figures: Latin first, then Hangul fonts (Debian's fonts-nanum,
fonts-noto-cjk), all local; the browser falls back glyph by glyph."""
MONO = "'DejaVu Sans Mono', 'Noto Sans Mono', 'NanumGothicCoding', monospace"

# No request may leave the file: scripts and styles are inline, images only data:/blob: URLs
# (plotly's "download as PNG" button makes one). plotly.js compiles no code at run time for
# SVG charts, but its bundle references `new Function` in code paths we never reach: allowing
# 'unsafe-eval' costs nothing here since the page loads no script from anywhere.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
    "img-src data: blob:; font-src data:; connect-src 'none'"
)

STYLE = f"""
body {{ font-family: {FONTS}; margin: 2em auto; max-width: 72em; padding: 0 1em; color: #1d2433;
       line-height: 1.5; }}
h1 {{ font-size: 1.6em; }} h2 {{ font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccd; }}
h3 {{ font-size: 1.05em; }}
p.sentence {{ max-width: 60em; }}
p.skipped {{ color: #805; }}
p.warning {{ max-width: 60em; color: #8a1c00; background: #fff3e8; border-left: 4px solid #d9480f;
            padding: 0.4em 0.8em; font-weight: bold; }}
pre {{ font-family: {MONO}; font-size: 0.85em; background: #f6f7f9; padding: 0.6em; overflow-x: auto; }}
table {{ border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1em; }}
caption {{ text-align: left; font-weight: bold; padding: 0.2em 0; }}
th, td {{ padding: 0.15em 0.7em; border-bottom: 1px solid #e3e5ea; text-align: left;
         font-family: {MONO}; white-space: nowrap; }}
th {{ font-family: {FONTS}; }}
td.num, th.num {{ text-align: right; }}
div.figure {{ margin: 1em 0; }}
"""


def esc(value: object) -> str:
    """Kernel data as text: ``[heap]``, ``<anon>``, ``&`` never become markup."""
    return html.escape("" if value is None else str(value), quote=True)


class Page:
    """The parts of one page, in order; :meth:`html` joins them into the document."""

    def __init__(self, title: str, lang: str) -> None:
        self.title = title
        self.lang = lang
        self.parts: list[str] = []
        self.figures = 0

    def heading(self, text: str, level: int = 2) -> None:
        self.parts.append(f"<h{level}>{esc(text)}</h{level}>")

    def paragraph(self, text: str, css: str = "sentence") -> None:
        if text:
            self.parts.append(f'<p class="{css}">{esc(text)}</p>')

    def paragraphs(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.paragraph(text)

    def warnings(self, texts: Iterable[str]) -> None:
        """Sentences a reader must not miss (a recording cut short or damaged), set apart."""
        for text in texts:
            self.paragraph(text, css="warning")

    def listing(self, text: str) -> None:
        """Fixed-width text (a disassembly, a page-table walk) as it prints on a terminal."""
        if text.strip():
            self.parts.append(f"<pre>{esc(text.rstrip())}</pre>")

    def table(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        right: Iterable[str] = (),
        caption: str | None = None,
    ) -> None:
        """A table; columns named in ``right`` hold numbers and align right."""
        right_set = set(right)
        css = ['class="num"' if c in right_set else "" for c in columns]
        head = "".join(f"<th {k}>{esc(c)}</th>" for c, k in zip(columns, css, strict=True))
        # A short row (free's Swap line has three cells of six) leaves its last cells empty.
        body = "".join(
            "<tr>"
            + "".join(f"<td {k}>{esc(v)}</td>" for v, k in zip_longest(row, css, fillvalue=""))
            + "</tr>"
            for row in rows
        )
        title = f"<caption>{esc(caption)}</caption>" if caption else ""
        self.parts.append(f"<table>{title}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")

    def figure(self, fig: go.Figure) -> None:
        """A plotly figure, without its own copy of plotly.js (the page has one)."""
        fig.update_layout(font={"family": FONTS})
        div = fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            include_mathjax=False,
            config={"displaylogo": False, "responsive": True},
        )
        self.parts.append(f'<div class="figure">{div}</div>')
        self.figures += 1

    def html(self) -> str:
        """The whole document: plotly.js once in the head when the page has a figure."""
        script = ""
        if self.figures:
            from plotly.offline import get_plotlyjs

            # "</script" cannot occur inside an inline script; plotly's bundle has none, and
            # escaping it keeps that true for any future bundle.
            script = "<script>" + get_plotlyjs().replace("</script", "<\\/script") + "</script>"
        return (
            f'<!DOCTYPE html>\n<html lang="{esc(self.lang)}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{esc(self.title)}</title>\n<style>{STYLE}</style>\n{script}\n</head>\n<body>\n"
            f"<h1>{esc(self.title)}</h1>\n" + "\n".join(self.parts) + "\n</body>\n</html>\n"
        )

    def write(self, path: str | Path) -> Path:
        """Write the page to ``path``, whole or not at all (a full disk leaves no half page:
        DiskFull, exit 9); returns the absolute path, for saying where it is."""
        from kernlab.recording.export.atomic import atomic_output

        target = Path(path).expanduser().resolve()
        document = self.html()  # made first: an error while drawing touches no file
        with atomic_output(target, "the HTML page", binary=False) as fh:
            fh.write(document)
        return target
