"""Python code hazards (HM301-HM308), found in the syntax trees of the repository's `*.py` files.

Two passes. The first parses each file once (files that do not parse are skipped), resolves its
names through its imports and aliases (`python_names`), and keeps only compact facts: findings it
can decide alone, the calls that may load something unsafely (`python_calls.Site`), the calls
that may reach a same-repository function, and what other files may ask of it (its functions'
signatures, the grad-off helpers it defines, yaml loader classes, string constants, whether it
seeds). No syntax tree outlives its file: keeping them all makes the garbage collector crawl.
The second pass decides what needs the whole repository: calls through the repository's own
wrapper functions (see `python_calls` for where such a finding is counted), grad-off decorators
and contexts defined elsewhere, loader classes and revision constants imported from elsewhere,
seeding in imported modules, console scripts.

Every heuristic leans towards missing a hazard rather than reporting a false one; each rule's
module says what exactly it reads: `python_loads` (HM301, HM302, HM308), `python_torch` (HM303),
`python_entrypoints` (HM304, HM305), `python_hub` (HM306, HM307). One finding per rule and line.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial

from hermetic.audit.model import Finding
from hermetic.audit.repository import Repository
from hermetic.audit.rules import python_hub, python_loads
from hermetic.audit.rules.python_calls import CallRecord, Site, through_wrappers
from hermetic.audit.rules.python_entrypoints import (
    PRINT_IN_PACKAGE,
    UNSEEDED_TRAINING,
    Entrypoint,
    console_scripts,
    declared_scripts,
    entrypoint,
    is_package_code,
    prints,
    seeds,
)
from hermetic.audit.rules.python_hub import TRUST_REMOTE_CODE, UNPINNED_DOWNLOAD
from hermetic.audit.rules.python_loads import (
    SAFE_LOADERS,
    TORCH_LOAD,
    UNSAFE_DESERIALISATION,
    UNSAFE_YAML_LOAD,
)
from hermetic.audit.rules.python_names import Module, ModuleIndex, canonical, parse
from hermetic.audit.rules.python_torch import (
    INFERENCE_WITH_GRADIENTS,
    InferenceCandidate,
    grad_off_helpers,
    inference_candidates,
)
from hermetic.audit.rules.python_values import Signature, Value

RULES = (
    UNSAFE_DESERIALISATION,
    TORCH_LOAD,
    INFERENCE_WITH_GRADIENTS,
    PRINT_IN_PACKAGE,
    UNSEEDED_TRAINING,
    UNPINNED_DOWNLOAD,
    TRUST_REMOTE_CODE,
    UNSAFE_YAML_LOAD,
)
Symbol = tuple[str, str]  # (file, module-level name)


@dataclass
class FileFacts:
    """What the second pass needs of one file; its syntax tree is gone by then."""

    path: str
    findings: list[Finding]
    sites: list[Site]
    calls: list[CallRecord]
    signatures: dict[str, Signature]  # module-level functions that may pass arguments on
    lines: dict[str, int]  # module-level functions and classes
    grad_off: frozenset[str]
    bases: dict[str, tuple[str, ...]]  # module-level classes -> their bases' full names
    constants: dict[str, str]  # NAME = "string" at module level
    aliases: dict[str, str]  # for names a package re-exports
    inference: list[InferenceCandidate]
    entrypoint: Entrypoint | None
    seeds: bool
    scripts: list[tuple[str, str]]  # setup.py's console scripts

    @classmethod
    def of(cls, module: Module, files: set[str], index: ModuleIndex) -> FileFacts:
        def in_repository(name: str) -> bool:
            root, dot, _ = name.partition(".")
            return root in index.roots if dot else name in module.definitions

        sites: list[Site] = []
        calls: list[CallRecord] = []
        for call in module.calls:
            name = module.callee(call) or ""
            loads = python_loads.targets(name) if module.binds(call.func) else []
            for target in [*loads, *python_hub.targets(module, call, name)]:
                sites.append(Site.of(module, call, target, name or ast.unparse(call.func)))
            if name and (len(call.args) > 1 or call.keywords) and in_repository(name):
                calls.append(CallRecord.of(module, call, name))
        findings = [*python_hub.trusting_dictionaries(module)]
        if is_package_code(module, files):
            findings += prints(module)
        return cls(
            module.path,
            findings,
            sites,
            calls,
            _signatures(module, {site.function for site in sites} | {c.function for c in calls}),
            {
                node.name: node.lineno
                for node in module.tree.body
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            },
            grad_off_helpers(module),
            _class_bases(module),
            _string_constants(module),
            module.aliases,
            list(inference_candidates(module, in_repository)),
            entrypoint(module),
            seeds(module),
            declared_scripts(module),
        )


def _signatures(module: Module, functions: set[str | None]) -> dict[str, Signature]:
    """The signatures of FUNCTIONS, those of this module that may pass arguments on."""
    found = {name: module.signature(name) for name in functions if name is not None}
    return {name: signature for name, signature in found.items() if signature is not None}


def _class_bases(module: Module) -> dict[str, tuple[str, ...]]:
    return {
        node.name: tuple(name for base in node.bases if (name := module.name_of(base)))
        for node in module.tree.body
        if isinstance(node, ast.ClassDef)
    }


def _string_constants(module: Module) -> dict[str, str]:
    return {
        statement.targets[0].id: statement.value.value
        for statement in module.tree.body
        if isinstance(statement, ast.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    }


def check(repository: Repository) -> Iterator[Finding]:
    """Every HM301-HM308 finding in the repository's Python files."""
    files = set(repository.files)
    paths = sorted(path for path in files if path.endswith(".py"))
    program = Program(ModuleIndex(paths))
    for path in paths:
        tree = parse(repository.text(path), path)
        if tree is None:
            continue
        try:
            program.facts[path] = FileFacts.of(Module.of(path, tree), files, program.index)
        except (
            RecursionError
        ):  # absurdly deep generated code: skipped, like a file that won't parse
            continue
    yield from program.findings(repository)


@dataclass
class Program:
    """Every file's facts, and what can be asked of them across files."""

    index: ModuleIndex
    facts: dict[str, FileFacts] = field(default_factory=dict)
    _resolved: dict[tuple[str, str], Symbol | None] = field(default_factory=dict)

    def findings(self, repository: Repository) -> list[Finding]:
        sites = [site for facts in self.facts.values() for site in facts.sites]
        calls = [call for facts in self.facts.values() for call in facts.calls]
        reached = through_wrappers(sites, calls, self.resolve, self.signature)
        found = [finding for site in [*sites, *reached] if (finding := site.finding(self))]
        scripts = self._script_lines(repository)
        for path, facts in self.facts.items():
            found += facts.findings
            found += [
                finding
                for candidate in facts.inference
                if (finding := candidate.finding(partial(self.is_grad_off, importer=path)))
            ]
            if facts.entrypoint is not None:
                imported = self._imported_files(path, facts.entrypoint.imported)
                seeded = (self.facts[other].seeds for other in imported)
                finding = facts.entrypoint.finding(path, scripts.get(path), imported, seeded)
                found += [finding] if finding else []
        one_per_line = {(f.rule_id, f.path, f.line): f for f in sorted(found, reverse=True)}
        return sorted(one_per_line.values())

    def resolve(self, name: str, importer: str, depth: int = 0) -> Symbol | None:
        """The module-level definition NAME (a full name, as IMPORTER's imports give it) is,
        following packages that re-export it."""
        key = (name, importer)
        if key not in self._resolved:
            self._resolved[key] = self._resolve(name, importer, depth)
        return self._resolved[key]

    def _resolve(self, name: str, importer: str, depth: int) -> Symbol | None:
        if "." not in name:
            facts = self.facts.get(importer)
            known = facts is not None and (name in facts.lines or name in facts.constants)
            return (importer, name) if known else None
        module, _, symbol = name.rpartition(".")
        path = self.index.nearest(module, importer)
        facts = self.facts.get(path) if path is not None else None
        if facts is None or path is None:
            return None
        if symbol in facts.lines or symbol in facts.constants:
            return path, symbol
        forwarded = facts.aliases.get(symbol)
        if forwarded is None or depth >= 4:
            return None
        return self.resolve(forwarded, path, depth + 1)

    def signature(self, symbol: Symbol) -> Signature | None:
        facts = self.facts.get(symbol[0])
        return facts.signatures.get(symbol[1]) if facts else None

    def string(self, value: Value) -> str | None:
        if value.kind == "constant":
            return value.constant if isinstance(value.constant, str) else None
        symbol = self.resolve(value.text, value.origin) if value.kind == "name" else None
        return self.facts[symbol[0]].constants.get(symbol[1]) if symbol else None

    def is_safe_loader(self, value: Value, depth: int = 0) -> bool:
        if value.kind != "name":
            return False
        if canonical(value.text) in SAFE_LOADERS:
            return True
        symbol = self.resolve(value.text, value.origin)
        bases = self.facts[symbol[0]].bases.get(symbol[1], ()) if symbol else ()
        return depth < 8 and any(
            self.is_safe_loader(Value("name", base, origin=symbol[0]), depth + 1)
            for base in bases
            if symbol
        )

    def is_grad_off(self, name: str, importer: str) -> bool:
        symbol = self.resolve(name, importer)
        return symbol is not None and symbol[1] in self.facts[symbol[0]].grad_off

    def _imported_files(self, path: str, imported: tuple[str, ...]) -> list[str]:
        """Same-repository files PATH imports directly (one level, no transitive imports)."""
        found = {other for name in imported for other in self.index.files(name)}
        found.discard(path)
        return sorted(other for other in found if other in self.facts)

    def _script_lines(self, repository: Repository) -> Mapping[str, int]:
        """File -> line of the function a console script runs (1 when it is not found)."""
        declared = [script for facts in self.facts.values() for script in facts.scripts]
        lines: dict[str, int] = {}
        for module, function in [*console_scripts(repository), *declared]:
            for path in self.index.files(module):
                if path in self.facts:
                    lines.setdefault(path, self.facts[path].lines.get(function, 1))
        return lines
