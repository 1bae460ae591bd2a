"""Names in the repository's Python files: what a local name stands for, and where it is defined.

Each file is parsed once into a `Module`. Its imports and its module-level aliases give local names
their full names (`import pickle5 as pickle`, `from torch import load as torch_load`,
`load = torch.load`); relative imports resolve against the file's path, so `from .io import x` in
`src/pkg/train.py` is `src.pkg.io.x`. Drop-in replacements are judged as what they replace
(`pickle5`, `cPickle`, `_pickle` and `six.moves.cPickle` are `pickle`).

`ModuleIndex` maps dotted names to files: a file is known by every dotted tail of its path
(`src/pkg/io.py` is `io`, `pkg.io` and `src.pkg.io`), which finds `from pkg.io import x` whether or
not the project uses a src layout; where several files match, the one nearest the importer wins.

`Module.arguments` reduces a call's arguments to `python_values.Slot`s, which is all the rules
judge of them.
"""

from __future__ import annotations

import ast
import os.path
import warnings
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath

from hermetic.audit.rules.python_values import (
    Arguments,
    FunctionNode,
    Scope,
    Signature,
    Slot,
    Value,
    names_a_path,
)

# The kinds of node that Module.of sorts out in its one pass.
KINDS: dict[type[ast.AST], str] = {
    ast.Call: "call",
    ast.Import: "import",
    ast.ImportFrom: "import",
    ast.Assign: "assign",
    ast.AnnAssign: "assign",
    ast.AugAssign: "assign",
    ast.Dict: "dict",
    ast.FunctionDef: "function",
    ast.AsyncFunctionDef: "function",
    ast.Lambda: "function",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}
SEPARATE_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
CANONICAL_MODULES = {
    "pickle5": "pickle",
    "cPickle": "pickle",
    "_pickle": "pickle",
    "six.moves.cPickle": "pickle",
    "sklearn.externals.joblib": "joblib",
}
CANONICAL_ROOTS = frozenset(name.split(".")[0] for name in CANONICAL_MODULES)
# Calls that build a path on this machine: what they name is a file, not a download.
PATH_BUILDERS = frozenset(
    {"Path", "PurePath", "PosixPath", "join", "joinpath", "expanduser", "abspath", "realpath"}
    | {"resolve", "dirname", "getcwd", "cwd", "home", "mkdtemp", "gettempdir", "fspath"}
)


def parse(text: str | None, path: str) -> ast.Module | None:
    if text is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escapes and the like are not ours to report
        try:
            return ast.parse(text, filename=path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None


def canonical(name: str) -> str:
    """NAME with a drop-in replacement module named as what it replaces."""
    if name.split(".", 1)[0] in CANONICAL_ROOTS:
        for old, new in CANONICAL_MODULES.items():
            if name == old or name.startswith(f"{old}."):
                return new + name[len(old) :]
    return name


def module_parts(path: str) -> list[str]:
    """The dotted parts of the module at PATH: `src/pkg/io.py` -> src, pkg, io."""
    parts = path.removesuffix(".py").split("/")
    return parts[:-1] if parts[-1] == "__init__" else parts


@dataclass
class Module:
    """One parsed file: its nodes and calls (walked once), the full names its imports and
    aliases give to local names, and its top-level definitions."""

    path: str
    tree: ast.Module
    nodes: tuple[ast.AST, ...]
    kinds: dict[str, list[ast.AST]]  # the nodes the rules look for, by KINDS, in walk order
    aliases: dict[str, str]
    imported: tuple[str, ...]  # the dotted modules (and module.names) it imports
    _callees: dict[ast.Call, str | None] = field(default_factory=dict, repr=False)
    _scopes: dict[int, Scope] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, path: str, tree: ast.Module) -> Module:
        nodes = tuple(ast.walk(tree))
        kinds: dict[str, list[ast.AST]] = {kind: [] for kind in set(KINDS.values())}
        for node in nodes:  # one pass, so that each rule need not walk every node again
            kind = KINDS.get(type(node))
            if kind is not None:
                kinds[kind].append(node)
        aliases, imported = import_aliases(kinds["import"], path)
        module = cls(path, tree, nodes, kinds, aliases, imported)
        _add_assignment_aliases(module)
        return module

    @property
    def calls(self) -> list[ast.Call]:
        return self.kinds["call"]  # type: ignore[return-value]

    def signature(self, name: str) -> Signature | None:
        """How the module-level function NAME binds arguments."""
        function = next(
            (
                node
                for node in self.tree.body
                if isinstance(node, FunctionNode) and node.name == name
            ),
            None,
        )
        return None if function is None else self._scope(function, top_level=True).signature

    @cached_property
    def _spans(self) -> list[tuple[tuple[int, int], tuple[int, int], FunctionNode | ast.Lambda]]:
        """Every function's source span, by where it starts."""
        spans = [
            (
                (function.lineno, function.col_offset),
                (function.end_lineno or function.lineno, function.end_col_offset or 0),
                function,
            )
            for function in self.kinds["function"]
            if isinstance(function, FunctionNode | ast.Lambda)
        ]
        return sorted(spans, key=lambda span: span[:2])

    def scope_of(self, node: ast.expr) -> Scope | None:
        """The innermost function NODE is written in: the last-starting one whose source spans
        it (asked for a few calls only, so no walk keeps every call's scope)."""
        where = (node.lineno, node.col_offset)
        spans = self._spans
        starts = bisect_right(spans, (where, where), key=lambda span: span[:2])
        for start, end, function in reversed(spans[:starts]):
            if start <= where <= end:
                top_level = any(function is statement for statement in self.tree.body)
                return self._scope(function, top_level)
        return None

    def _scope(self, function: FunctionNode | ast.Lambda, top_level: bool) -> Scope:
        if id(function) not in self._scopes:
            self._scopes[id(function)] = Scope.of(function, top_level)
        return self._scopes[id(function)]

    @cached_property
    def definitions(self) -> frozenset[str]:
        """Names defined at module level by `def` and `class`."""
        return frozenset(
            node.name for node in self.tree.body if isinstance(node, FunctionNode | ast.ClassDef)
        )

    def callee(self, call: ast.Call) -> str | None:
        """The full name CALL calls (`pk.load(f)` -> `pickle.load`), computed once per call."""
        if call not in self._callees:
            self._callees[call] = self.name_of(call.func)
        return self._callees[call]

    def name_of(self, node: ast.expr) -> str | None:
        """The dotted name NODE stands for (`pk.load` -> `pickle.load`); calls add `()`."""
        suffixes: list[str] = []
        while not isinstance(node, ast.Name):
            if isinstance(node, ast.Attribute):
                suffixes.append(f".{node.attr}")
                node = node.value
            elif isinstance(node, ast.Call):
                suffixes.append("()")
                node = node.func
            else:
                return None
        return self.aliases.get(node.id, node.id) + "".join(reversed(suffixes))

    def binds(self, node: ast.expr) -> bool:
        """Whether NODE's leftmost name comes from an import or a module-level alias, not from
        a variable that happens to be called `yaml` (`yaml = YAML()` is ruamel's, and safe)."""
        while isinstance(node, ast.Attribute | ast.Call):
            node = node.value if isinstance(node, ast.Attribute) else node.func
        return isinstance(node, ast.Name) and node.id in self.aliases

    @cached_property
    def imported_roots(self) -> frozenset[str]:
        return frozenset(name.split(".", 1)[0] for name in self.aliases.values())

    def imports(self, *roots: str) -> bool:
        """Whether the file imports one of the top-level packages ROOTS (or a part of one)."""
        return not self.imported_roots.isdisjoint(roots)

    def value_of(self, node: ast.expr) -> Value:
        if isinstance(node, ast.Constant):
            text = repr(node.value) if isinstance(node.value, str) else str(node.value)
            return Value("constant", text, node.value)
        name = self.name_of(node) if isinstance(node, ast.Name | ast.Attribute) else None
        if name is None:
            name = self._getattr_name(node)
        if name is not None:
            return Value("name", name, origin=self.path)
        return Value("local" if self._builds_path(node) else "other", ast.unparse(node))

    def slot_of(self, node: ast.expr, scope: Scope | None) -> Slot:
        """NODE as an argument written in SCOPE: a parameter of it is supplied by its caller."""
        if isinstance(node, ast.Name) and scope is not None and node.id in scope.defaults:
            default = scope.defaults[node.id]
            value = Value("required", node.id) if default is None else self.value_of(default)
            return Slot(value, parameter=node.id, written=node.id)
        value = self.value_of(node)
        if isinstance(node, ast.Name):
            return Slot(value, written=node.id)
        return Slot(value, written=ast.unparse(node) if isinstance(node, ast.Attribute) else "")

    def arguments(self, call: ast.Call) -> Arguments:
        scope = self.scope_of(call)
        positional = []
        for argument in call.args:
            if isinstance(argument, ast.Starred):
                break  # what follows a *args lands who knows where
            positional.append(self.slot_of(argument, scope))
        keywords: dict[str, Slot] = {}
        forwards = splat = None
        for keyword in call.keywords:
            if keyword.arg is not None:
                keywords[keyword.arg] = self.slot_of(keyword.value, scope)
            elif (
                isinstance(keyword.value, ast.Name)
                and scope is not None
                and keyword.value.id == scope.signature.kwargs
            ):
                forwards = keyword.value.id
            else:
                splat = f"**{ast.unparse(keyword.value)}"
        if forwards is not None and scope is not None:
            for key, value in scope.kwargs_set.items():
                keywords.setdefault(key, Slot(self.value_of(value), keyword=key))
        return Arguments(tuple(positional), keywords, forwards, splat)

    def _getattr_name(self, node: ast.expr) -> str | None:
        """`getattr(yaml, "CSafeLoader", yaml.SafeLoader)` names `yaml.CSafeLoader`."""
        if not (isinstance(node, ast.Call) and self.callee(node) == "getattr"):
            return None
        if len(node.args) < 2 or not isinstance(node.args[1], ast.Constant):
            return None
        owner = self.name_of(node.args[0])
        attribute = node.args[1].value
        return f"{owner}.{attribute}" if owner and isinstance(attribute, str) else None

    def _builds_path(self, node: ast.expr) -> bool:
        """NODE builds a local path: `root / "x"`, `Path(...)`, `os.path.join(...)`, or an
        f-string that starts like a path or holds two slashes."""
        if isinstance(node, ast.BinOp):
            return isinstance(node.op, ast.Div)
        if isinstance(node, ast.Call):
            callee = self.callee(node) or ""
            last = callee.rsplit(".", 1)[-1]
            return last in PATH_BUILDERS or (last == "str" and self._path_argument(node))
        if isinstance(node, ast.JoinedStr) and node.values:
            first = node.values[0]
            if isinstance(first, ast.FormattedValue):
                return names_a_path(self.name_of(first.value) or "") or _slashes(node) >= 2
            prefix = first.value if isinstance(first, ast.Constant) else ""
            return str(prefix).startswith(("/", "./", "../", "~")) or _slashes(node) >= 2
        return False

    def _path_argument(self, call: ast.Call) -> bool:
        return bool(call.args) and self._builds_path(call.args[0])


def _slashes(node: ast.JoinedStr) -> int:
    return sum(
        part.value.count("/")
        for part in node.values
        if isinstance(part, ast.Constant) and isinstance(part.value, str)
    )


def import_aliases(nodes: Iterable[ast.AST], path: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """Local name -> full name from every import in the file, and the modules it imports."""
    package = module_parts(path)
    if not path.endswith("__init__.py"):
        package = package[:-1]
    aliases: dict[str, str] = {}
    imported: list[str] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported.append(alias.name)
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom):
            source = _absolute_module(node, package)
            imported.append(source)
            for alias in node.names:
                if alias.name != "*":
                    full = f"{source}.{alias.name}" if source else alias.name
                    imported.append(full)
                    aliases[alias.asname or alias.name] = full
    return aliases, tuple(name for name in imported if name)


def _absolute_module(node: ast.ImportFrom, package: list[str]) -> str:
    """The dotted module a from-import reads, relative ones resolved against PACKAGE."""
    module = node.module or ""
    if node.level == 0:
        return module
    if node.level - 1 > len(package):
        return module  # climbs above the repository: keep what the import names
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *module.split(".")]) if module else ".".join(base)


def _add_assignment_aliases(module: Module) -> None:
    """`load = torch.load` at module level, assigned once, makes `load` mean `torch.load`."""
    candidates: dict[str, ast.expr] = {}
    for statement in module.tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target = statement.targets[0]
            fresh = isinstance(target, ast.Name) and target.id not in module.aliases
            if fresh and isinstance(target, ast.Name) and _is_reference(statement.value):
                candidates[target.id] = statement.value
    if not candidates:
        return
    assigned = Counter(
        target.id
        for node in module.kinds["assign"]
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name)
    )
    for local, reference in candidates.items():
        value = module.value_of(reference)
        if assigned[local] == 1 and value.kind == "name" and value.text != local:
            module.aliases[local] = value.text


def _is_reference(node: ast.expr) -> bool:
    return isinstance(node, ast.Name | ast.Attribute) or (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
    )


class ModuleIndex:
    """The repository's Python files by every dotted tail of their module names."""

    def __init__(self, paths: Iterable[str]) -> None:
        self._files: dict[str, list[str]] = {}
        self.roots: set[str] = set()
        for path in sorted(paths):
            parts = module_parts(path)
            self.roots.update(parts)
            for start in range(len(parts)):
                self._files.setdefault(".".join(parts[start:]), []).append(path)

    def files(self, dotted: str) -> list[str]:
        """Every file that may be the module DOTTED."""
        return self._files.get(dotted, [])

    def nearest(self, dotted: str, importer: str) -> str | None:
        """The file of module DOTTED that shares the longest folder prefix with IMPORTER."""
        candidates = self.files(dotted)
        if len(candidates) <= 1:
            return candidates[0] if candidates else None
        folder = PurePosixPath(importer).parent.as_posix()
        return max(candidates, key=lambda path: len(os.path.commonpath([folder, path])))
