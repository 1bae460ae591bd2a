"""What a rule is and what it finds: plain data, shared by every family of rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

RULE_ID = re.compile(r"HM\d{3}")


class Severity(StrEnum):
    """SARIF's levels, so reports map one to one."""

    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Rule:
    """One hazard: an ID (HM + 3 digits), a kebab-case name, a one-line title, a fix hint."""

    id: str
    name: str
    title: str
    severity: Severity
    fix: str

    def __post_init__(self) -> None:
        if not RULE_ID.fullmatch(self.id):
            msg = f"rule id {self.id!r} is not HM followed by three digits"
            raise ValueError(msg)

    def at(self, path: str, line: int, message: str) -> Finding:
        """A finding of this rule in PATH (relative, POSIX) at LINE (1-based)."""
        return Finding(path, max(1, line), self.id, message, self)


@dataclass(frozen=True, order=True)
class Finding:
    """Where a rule matched and what exactly it saw there. Sorted by path, line, rule."""

    path: str
    line: int
    rule_id: str
    message: str
    rule: Rule = field(compare=False, repr=False)
