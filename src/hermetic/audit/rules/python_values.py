"""What the rules judge of a call's arguments, without its syntax tree.

Each argument is a `Slot`: its `Value` (a literal, a resolved dotted name, a local path, or any
other expression) and whether the enclosing function's caller supplies it instead, as one of its
parameters or a key of its `**kwargs`, with the value it has when the caller does not. `Scope`
is that enclosing function, read from its syntax tree while the file is parsed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
ValueKind = Literal["absent", "constant", "name", "local", "splat", "required", "other"]
# Identifiers that name a path on this machine (`model_dir`, `ckpt`), unless `*_or_path`.
PATH_HINTS = (
    *("dir", "folder", "path", "file", "tmp", "temp", "local", "cache"),
    *("ckpt", "checkpoint", "output", "save"),
)
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True)
class Value:
    """What an argument is: `absent`, `constant` (a literal), `name` (a dotted name, resolved in
    the file ORIGIN), `local` (a path built on this machine), `splat` (only in **kwargs, if at
    all), `required` (a parameter without a default: every caller passes it) or `other`. TEXT is
    how messages show it."""

    kind: ValueKind
    text: str = ""
    constant: object = None
    origin: str = ""


@dataclass(frozen=True)
class Slot:
    """One argument of a call: VALUE, unless the enclosing function's caller supplies it through
    PARAMETER or through KEYWORD in its **kwargs. EXPLICIT: written at this call, not decided
    inside a function it calls. WRITTEN: how the call writes it."""

    value: Value
    parameter: str | None = None
    keyword: str | None = None
    explicit: bool = True
    written: str = ""

    @property
    def text(self) -> str:
        return self.written or self.value.text

    @property
    def forwarded(self) -> bool:
        return self.parameter is not None or self.keyword is not None


@dataclass(frozen=True)
class Arguments:
    """A call's arguments as slots; FORWARDS: it passes its function's own **kwargs on."""

    positional: tuple[Slot, ...]
    keywords: Mapping[str, Slot]
    forwards: str | None = None
    splat: str | None = None  # some other **mapping it passes, as written


@dataclass(frozen=True)
class Signature:
    """How a function binds arguments: positional parameter names, every named parameter, and
    the name of its **kwargs."""

    positional: tuple[str, ...]
    names: frozenset[str]
    kwargs: str | None


def names_a_path(text: str) -> bool:
    """TEXT (an expression) ends in an identifier that names a local path: `model_dir`,
    `args.output_path`, `tmp`; not the `*_or_path` that may be a hub id or a path."""
    identifiers = IDENTIFIER.findall(text)
    last = identifiers[-1].lower() if identifiers else ""
    return not last.endswith("_or_path") and any(hint in last for hint in PATH_HINTS)


@dataclass(frozen=True)
class Scope:
    """The innermost function around a node: its NAME and LINE, whether it is defined at module
    level (the functions other code can call by name), how it binds arguments, and the default
    of each named parameter (None when the caller must pass it)."""

    name: str
    line: int
    top_level: bool
    signature: Signature
    defaults: Mapping[str, ast.expr | None]
    kwargs_set: Mapping[str, ast.expr]  # keys its body puts in its own **kwargs

    @classmethod
    def of(cls, function: FunctionNode | ast.Lambda, top_level: bool) -> Scope:
        arguments = function.args
        positional = [argument.arg for argument in (*arguments.posonlyargs, *arguments.args)]
        defaults: dict[str, ast.expr | None] = dict.fromkeys(positional)
        for parameter, default in zip(
            reversed(positional), reversed(arguments.defaults), strict=False
        ):
            defaults[parameter] = default
        for argument, keyword_default in zip(
            arguments.kwonlyargs, arguments.kw_defaults, strict=True
        ):
            defaults[argument.arg] = keyword_default
        kwargs = arguments.kwarg.arg if arguments.kwarg else None
        name = function.name if isinstance(function, FunctionNode) else "<lambda>"
        signature = Signature(tuple(positional), frozenset(defaults), kwargs)
        kwargs_set = _keys_set(function, kwargs) if kwargs else {}
        return cls(name, function.lineno, top_level, signature, defaults, kwargs_set)


def _keys_set(function: FunctionNode | ast.Lambda, kwargs: str) -> dict[str, ast.expr]:
    """`kwargs["key"] = value` and `kwargs.setdefault("key", value)` in FUNCTION."""
    found: dict[str, ast.expr] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if (
                isinstance(target, ast.Subscript)
                and isinstance(target.value, ast.Name)
                and target.value.id == kwargs
                and isinstance(target.slice, ast.Constant)
                and isinstance(target.slice.value, str)
            ):
                found[target.slice.value] = node.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == kwargs
            and len(node.args) == 2
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found[node.args[0].value] = node.args[1]
    return found
