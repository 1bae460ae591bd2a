"""Run the selected rules over a repository and apply suppressions: the audit's one entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hermetic.audit.config import AuditConfig, read_config
from hermetic.audit.model import Finding, Rule
from hermetic.audit.repository import load_repository
from hermetic.audit.rules import FAMILIES
from hermetic.audit.suppression import SUPPRESSION_WITHOUT_REASON, split_suppressed
from hermetic.errors import CannotRunError

ALL_RULES: tuple[Rule, ...] = (
    SUPPRESSION_WITHOUT_REASON,
    *(rule for family in FAMILIES for rule in family.rules),
)


@dataclass(frozen=True)
class AuditReport:
    root: Path
    rules: tuple[Rule, ...]  # the rules that ran, by ID
    findings: tuple[Finding, ...]  # sorted by path, line, rule
    suppressed: int
    files: int


def run_audit(root: Path, select: Sequence[str] = (), ignore: Sequence[str] = ()) -> AuditReport:
    """Audit ROOT. SELECT (IDs or prefixes) replaces the config's select; IGNORE adds to it."""
    if not root.is_dir():
        raise CannotRunError(f"{root} is not a directory", "give the repository's directory")
    config = read_config(root)
    active = active_rules(
        AuditConfig(tuple(select) or config.select, (*config.ignore, *ignore), config.exclude)
    )
    repository = load_repository(root, config.exclude)
    active_ids = {rule.id for rule in active}
    found = [
        finding
        for family in FAMILIES
        if active_ids & {rule.id for rule in family.rules}
        for finding in family.check(repository)
        if finding.rule_id in active_ids
    ]
    lines_of = {path: repository.lines(path) for path in repository.files}
    kept, suppressed = split_suppressed(found, lines_of)
    kept = [finding for finding in kept if finding.rule_id in active_ids]
    return AuditReport(root, active, tuple(sorted(set(kept))), len(suppressed), len(lines_of))


def active_rules(config: AuditConfig) -> tuple[Rule, ...]:
    """The rules SELECT names (all when empty) minus those IGNORE names; unknown IDs fail."""
    for option, patterns in (("select", config.select), ("ignore", config.ignore)):
        unknown = [p for p in patterns if not any(r.id.startswith(p) for r in ALL_RULES)]
        if unknown:
            known = ", ".join(rule.id for rule in ALL_RULES)
            raise CannotRunError(
                f"{option} names no rule: {', '.join(unknown)}",
                f"use rule IDs or their prefixes (e.g. HM1); known rules: {known}",
            )
    return tuple(
        rule
        for rule in ALL_RULES
        if (not config.select or any(rule.id.startswith(p) for p in config.select))
        and not any(rule.id.startswith(p) for p in config.ignore)
    )
