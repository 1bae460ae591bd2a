"""Small readers the dependency rules share: TOML tables, header lines, repository paths."""

from __future__ import annotations

import posixpath
import re
import tomllib
from typing import Any

HEADER = re.compile(r"\s*\[\[?([^\[\]]+)\]\]?\s*(#.*)?$")


def parse_toml(text: str | None) -> dict[str, Any]:
    try:
        return tomllib.loads(text) if text else {}
    except tomllib.TOMLDecodeError:
        return {}


def toml_table(value: object, *keys: str) -> dict[str, Any]:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_strings(value: object) -> list[str]:
    return [item for item in as_list(value) if isinstance(item, str)]


def join_path(*parts: str) -> str:
    joined = posixpath.normpath(posixpath.join(*parts))
    return "" if joined == "." else joined


def header_line(lines: list[str], table: str) -> int | None:
    for number, line in enumerate(lines, 1):
        match = HEADER.match(line)
        if match and re.sub(r"[\s\"']", "", match[1]) == table:
            return number
    return None
