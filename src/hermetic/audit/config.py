"""`[tool.hermetic.audit]` in the audited repository's pyproject.toml, checked strictly."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hermetic.errors import CannotRunError

SECTION = "[tool.hermetic.audit]"


@dataclass(frozen=True)
class AuditConfig:
    """Rule IDs or ID prefixes to run (empty: all) and to skip; path globs never audited."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


def read_config(root: Path) -> AuditConfig:
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return AuditConfig()
    try:
        document = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CannotRunError(
            f"{pyproject} is not valid TOML: {error}", "fix the file, then audit again"
        ) from error
    section: Any = document.get("tool", {}).get("hermetic", {}).get("audit", {})
    if not isinstance(section, dict):
        raise CannotRunError(f"{SECTION} in {pyproject} is not a table", "make it a table")
    unknown = set(section) - {"select", "ignore", "exclude"}
    if unknown:
        raise CannotRunError(
            f"{SECTION} in {pyproject} has unknown keys: {', '.join(sorted(unknown))}",
            "use only select, ignore and exclude (lists of strings)",
        )
    return AuditConfig(
        *(_strings(section, key, pyproject) for key in ("select", "ignore", "exclude"))
    )


def _strings(section: dict[str, Any], key: str, pyproject: Path) -> tuple[str, ...]:
    value = section.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise CannotRunError(
            f"{SECTION} {key} in {pyproject} is not a list of strings",
            f'write it as {key} = ["HM101", "HM2"]'
            if key != "exclude"
            else 'write it as exclude = ["vendor/**"]',
        )
    return tuple(value)
