"""The families of rules. Each module has RULES (its Rule objects) and check(repository)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType

from hermetic.audit.model import Finding, Rule
from hermetic.audit.repository import Repository
from hermetic.audit.rules import (
    dependencies,
    images,
    kubernetes,
    python_code,
    repository_files,
)


@dataclass(frozen=True)
class RuleFamily:
    name: str
    rules: tuple[Rule, ...]
    check: Callable[[Repository], Iterator[Finding]]


def _family(module: ModuleType) -> RuleFamily:
    return RuleFamily(module.__name__.rsplit(".", 1)[-1], module.RULES, module.check)


FAMILIES: tuple[RuleFamily, ...] = tuple(
    _family(module) for module in (dependencies, images, python_code, kubernetes, repository_files)
)
