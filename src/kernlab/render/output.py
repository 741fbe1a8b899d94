"""How the user asked to see a result: one JSON document, or a view with its sentences.

Every command ends in ``out.emit(report, views.<command>.show)``. The JSON is the report itself
(``to_jsonable``), so it holds the same figures as the view and no language-dependent text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Output", "View"]

R = TypeVar("R")

View = Callable[[R, "Output"], None]
"""A view prints one report for a person; it reads nothing from the system."""


@dataclass(frozen=True)
class Output:
    """How the user asked to see results: ``--json`` and ``--quiet``."""

    json: bool = False
    quiet: bool = False

    def emit(self, report: R, view: Callable[[R, Output], None]) -> None:
        """Print ``report`` as one JSON document, or hand it to its view."""
        if self.json:
            from kernlab.render.jsonout import print_json

            print_json(report)
        else:
            view(report, self)

    def sentence(self, text: str) -> None:
        """A sentence of meaning (left out with --quiet)."""
        from kernlab.render.terminal import print_sentence

        print_sentence(text, quiet=self.quiet)

    def sentences(self, texts: list[str]) -> None:
        for text in texts:
            self.sentence(text)
