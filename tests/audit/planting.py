"""Build small repositories with planted hazards, and audit them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from textwrap import dedent

from typer.testing import CliRunner, Result

from hermetic.audit.engine import run_audit
from hermetic.audit.model import Finding
from hermetic.audit.repository import Repository
from hermetic.cli import app
from tests.helpers import git


def plant(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write FILES (relative path -> content) under ROOT; return ROOT."""
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
    return root


def commit_all(root: Path) -> Path:
    """Make ROOT a git repository with everything committed."""
    git("init", "--quiet", cwd=root)
    git("add", "--all", cwd=root)
    git("commit", "--quiet", "--allow-empty", "-m", "planted", cwd=root)
    return root


def found(root: Path, *select: str) -> set[tuple[str, str, int]]:
    """(rule, path, line) of every finding of the SELECTed rules (all when empty)."""
    return {(f.rule_id, f.path, f.line) for f in run_audit(root, select).findings}


def audit_cli(*arguments: str) -> Result:
    return CliRunner().invoke(app, ["audit", *arguments])


def audit(
    check: Callable[[Repository], Iterator[Finding]], root: Path, files: dict[str, str]
) -> list[Finding]:
    """Write FILES (relative path -> dedented text) under ROOT and run one family's CHECK."""
    plant(root, {path: dedent(text).lstrip("\n") for path, text in files.items()})
    return list(check(Repository(root, tuple(sorted(files)), in_git=False)))


def places(findings: list[Finding]) -> set[tuple[str, str, int]]:
    """(rule, path, line) of each finding, checking that none is reported twice."""
    assert len(findings) == len(set(findings)), "a hazard was reported twice"
    return {(finding.rule_id, finding.path, finding.line) for finding in findings}
