"""How every command reports a problem the user can fix: its message on stderr, its exit code."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import typer

from .errors import ProjectError


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """A ProjectError becomes its message on stderr and its exit code; nothing else changes."""
    try:
        yield
    except ProjectError as error:
        typer.echo(f"error: {error.message}", err=True)
        raise typer.Exit(error.exit_code) from error
