"""The `hermetic` command: parses arguments, calls the core, maps errors to exit codes."""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import copier
import typer
from rich.console import Console
from rich.markup import escape

from hermetic import __version__
from hermetic.audit.engine import run_audit
from hermetic.audit.report import ReportFormat, render
from hermetic.check import CheckFormat, check_project, render_status
from hermetic.errors import CannotRunError, HermeticError
from hermetic.pin import check_pins, pin_images, render_check, render_pin
from hermetic.registry import RegistryClient, parse_insecure_registry
from hermetic.scaffold import NewProjectRequest, new_project, parse_data_pairs
from hermetic.steps import StepReporter
from hermetic.template_source import checkout_root, resolve_template_source
from hermetic.update import UpdateRequest, UpdateSummary, update_project

app = typer.Typer(
    help="Scaffold ML repositories that are production systems from their first commit.",
    no_args_is_help=True,
    add_completion=False,
)


def _console() -> Console:
    return Console(stderr=True, soft_wrap=True, highlight=False)


@contextmanager
def _exit_codes(console: Console, *, json_errors: bool = False) -> Iterator[None]:
    """The one place errors become messages and exit codes; with JSON_ERRORS the error is also
    a JSON object on standard output, for a command asked for --format json."""
    try:
        yield
    except HermeticError as error:
        console.print(f"[red]error:[/] {escape(error.problem)}")
        console.print(f"[cyan]fix:[/] {escape(error.fix)}")
        if json_errors:
            typer.echo(json.dumps({"error": error.problem, "fix": error.fix}, indent=2))
        raise typer.Exit(error.exit_code) from error


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"hermetic {__version__} (copier {copier.__version__})")
        raise typer.Exit


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """hermetic-ml: hash-locked, digest-pinned, reproducible ML projects."""


@app.command()
def new(
    destination: Annotated[
        Path, typer.Argument(help="Directory to create; must not exist or be empty.")
    ],
    template: Annotated[
        str | None,
        typer.Option(
            help="Template path or git URL.", show_default="$HERMETIC_TEMPLATE, else this checkout"
        ),
    ] = None,
    vcs_ref: Annotated[
        str | None,
        typer.Option(
            help="Template git ref: tag, branch or commit.", show_default="latest tag, else HEAD"
        ),
    ] = None,
    defaults: Annotated[
        bool,
        typer.Option("--defaults", help="Use default answers to questions not given by --data."),
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option("--data", "-d", help="An answer, KEY=VALUE; repeatable."),
    ] = None,
    no_lock: Annotated[
        bool,
        typer.Option("--no-lock", help="Skip `uv lock` (e.g. offline); run it later."),
    ] = False,
) -> None:
    """Generate a new project: render, lock dependencies with hashes, make the first commit."""
    console = _console()
    with _exit_codes(console):
        request = NewProjectRequest(
            destination=destination,
            template=resolve_template_source(template, os.environ, checkout_root()),
            vcs_ref=vcs_ref,
            defaults=defaults,
            data=parse_data_pairs(data or []),
            lock=not no_lock,
        )
        project = new_project(request, StepReporter(console))
    console.print(f"[green]Created[/] {escape(str(project))}")
    next_steps: list[str] = [
        f"cd {shlex.quote(str(project))}",
        "uv sync --locked",
        "uv run pre-commit install",
    ]
    if no_lock:
        next_steps.insert(1, "uv lock && git add uv.lock && git commit -m 'Lock dependencies'")
    console.print("Next: " + " && ".join(escape(step) for step in next_steps))


@app.command()
def update(
    path: Annotated[Path, typer.Argument(help="The generated project.")] = Path(),
    vcs_ref: Annotated[
        str | None,
        typer.Option(help="Template git ref to update to.", show_default="latest tag"),
    ] = None,
    pretend: Annotated[
        bool, typer.Option("--pretend", help="Show what would change; change nothing.")
    ] = False,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Default answers for new questions.")
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option("--data", "-d", help="An answer, KEY=VALUE; repeatable."),
    ] = None,
) -> None:
    """Pull template changes into a project; exit 1 when a conflict is left to resolve."""
    console = _console()
    with _exit_codes(console):
        request = UpdateRequest(path, vcs_ref, pretend, defaults, parse_data_pairs(data or []))
        summary = update_project(request, StepReporter(console))
    _report_update(console, summary)
    if summary.conflicts:
        raise typer.Exit(1)


def _report_update(console: Console, summary: UpdateSummary) -> None:
    would = "would be " if summary.pretend else ""
    for label, paths in (
        ("changed", summary.changed),
        ("added", summary.added),
        ("removed", summary.removed),
    ):
        for path in paths:
            console.print(f"{would}{label}: {escape(path)}")
    for path in summary.conflicts:
        console.print(f"[red]conflict:[/] {escape(path)}")
    if summary.conflicts:
        console.print(
            f"{len(summary.conflicts)} file(s) {'would need' if summary.pretend else 'need'} "
            "resolving: edit the <<<<<<< / >>>>>>> blocks (or apply the .rej files), then "
            "`uv lock` if pyproject.toml was one of them, and commit"
        )
    elif summary.touched:
        done = "would change" if summary.pretend else "changed"
        console.print(f"[green]{done}[/] {summary.touched} file(s); no conflicts")
    else:
        console.print("[green]Up to date:[/] the template changes nothing")


def _rule_ids(values: list[str] | None) -> list[str]:
    """`--select HM1,HM202 --select HM3` -> ["HM1", "HM202", "HM3"]."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


@app.command()
def audit(
    path: Annotated[Path, typer.Argument(help="Repository to audit.")] = Path(),
    report_format: Annotated[
        ReportFormat, typer.Option("--format", help="text for people, json, sarif for scanning.")
    ] = ReportFormat.TEXT,
    select: Annotated[
        list[str] | None,
        typer.Option(help="Only these rule IDs or prefixes (comma-separated; repeatable)."),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option(help="Skip these rule IDs or prefixes (comma-separated; repeatable)."),
    ] = None,
) -> None:
    """Find ML-repository hazards: unlocked dependencies, unpinned images, pickle, notebooks...

    Exit 0 when clean, 1 with findings, 2 when the audit could not run.
    """
    with _exit_codes(_console()):
        report = run_audit(path, _rule_ids(select), _rule_ids(ignore))
    typer.echo(render(report, report_format), nl=False)
    if report.findings:
        raise typer.Exit(1)


@app.command()
def pin(
    path: Annotated[
        Path, typer.Argument(help="The project (or the hermetic-ml repository).")
    ] = Path(),
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Change nothing: exit 1 when a reference lacks a digest or "
            "disagrees with the image catalogue. Offline unless --online.",
        ),
    ] = False,
    online: Annotated[
        bool,
        typer.Option(
            "--online",
            help="With --check: also ask the registries whether each tag "
            "still points at its pinned digest.",
        ),
    ] = False,
    insecure_registry: Annotated[
        list[str] | None,
        typer.Option(
            "--insecure-registry",
            metavar="HOST[:PORT]",
            help="Talk plain HTTP to this registry; repeatable.",
        ),
    ] = None,
) -> None:
    """Pin every image reference by digest (tag -> digest from its registry), or --check them.

    Exit 0 when all is pinned, 1 when --check finds a problem, 2 when it could not run.
    """
    with _exit_codes(_console()):
        if online and not check:
            raise CannotRunError(
                "--online only applies to --check", "run `hermetic pin --check --online PATH`"
            )
        client = RegistryClient(parse_insecure_registry(h) for h in insecure_registry or [])
        if not check:
            typer.echo(render_pin(pin_images(path, client, datetime.now(UTC).date())), nl=False)
            return
        report = check_pins(path, client if online else None)
    typer.echo(render_check(report), nl=False)
    if report.problems:
        raise typer.Exit(1)


@app.command()
def check(
    path: Annotated[Path, typer.Argument(help="The generated project.")] = Path(),
    check_format: Annotated[
        CheckFormat, typer.Option("--format", help="text for people, json for scripts.")
    ] = CheckFormat.TEXT,
) -> None:
    """Tell whether a project is behind its template's latest release (git tags, no clone).

    Exit 0 when it is at the latest release, 1 when it is behind, 2 when it cannot tell.
    """
    with _exit_codes(_console(), json_errors=check_format is CheckFormat.JSON):
        status = check_project(path)
    typer.echo(render_status(status, check_format), nl=False)
    if status.behind:
        raise typer.Exit(1)
