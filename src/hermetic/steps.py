"""Progress on the terminal: a status line per step while it runs (a plain line for a step that
asks questions), then its result and duration."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from time import perf_counter

from rich.console import Console
from rich.markup import escape


class StepReporter:
    """Shows each step as it runs and how long it took."""

    def __init__(self, console: Console) -> None:
        self.console = console

    @contextmanager
    def step(self, label: str, *, asks_questions: bool = False) -> Iterator[None]:
        """A live status line while the step runs, or, for a step that asks questions on the
        terminal, a plain line first: a redrawn status line would write over the questions."""
        started = perf_counter()
        try:
            if asks_questions:
                self.console.print(f"[cyan]•[/] {escape(label)}")
                yield
            else:
                with self.console.status(escape(label)):
                    yield
        except BaseException:
            self._finish(label, started, "[red]✗[/]")
            raise
        self._finish(label, started, "[green]✓[/]")

    def _finish(self, label: str, started: float, mark: str) -> None:
        elapsed = perf_counter() - started
        self.console.print(f"{mark} {escape(label)} [dim]({elapsed:.1f} s)[/]")

    @contextmanager
    def warnings_as_notes(self) -> Iterator[None]:
        """Python warnings raised in the block (copier's) shown as notes once it succeeds."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
        for warning in caught:
            self.console.print(f"[yellow]note:[/] {escape(str(warning.message))}")
