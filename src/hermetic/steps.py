"""Progress on the terminal: a status line per step while it runs, then its result and duration."""

from __future__ import annotations

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
    def step(self, label: str) -> Iterator[None]:
        started = perf_counter()
        try:
            with self.console.status(escape(label)):
                yield
        except BaseException:
            self._finish(label, started, "[red]✗[/]")
            raise
        self._finish(label, started, "[green]✓[/]")

    def _finish(self, label: str, started: float, mark: str) -> None:
        elapsed = perf_counter() - started
        self.console.print(f"{mark} {escape(label)} [dim]({elapsed:.1f} s)[/]")
