"""Package code and entrypoints: print in package code (HM304), unseeded training (HM305).

- HM304 counts a file as package code when it lies beside an `__init__.py`, or under a `src/`
  folder without running anything at module level (a file whose top level calls something, loops,
  enters a `with` or parses arguments is a script, even there). `from rich import print` still
  counts as printing, any other rebinding of `print` (an import, a top-level `def`, an
  assignment) does not; `print(..., file=f)` is a write. A file with an
  `if __name__ == "__main__":` block is a script, so its prints are its output.
- HM305 treats as training a `.backward()`, a `.step()` on an optimiser-like name (`optimizer`,
  `opt`, `g_opt`, `scaler`) or a `.fit()` on a trainer-like one (not transformers'
  `Trainer.train()`, which seeds itself). It judges entrypoints only, known by what makes them
  run, never by their name: an `if __name__ == "__main__":` block (reported there), a CLI command
  (`@app.command()`, `@click.command()`, `@hydra.main()`, reported at the function) or runner
  (`fire.Fire`, `typer.run`, `LightningCLI`, ...), a console script of `pyproject.toml`,
  `setup.cfg` or `setup.py` (reported at its function), or training at module level (line 1).
  Any call to a function whose name contains `seed` counts as seeding (`random.seed`,
  `torch.manual_seed`, `seed_everything`, `init_seeds`), as do `numpy.random.default_rng`,
  `numpy.random.RandomState` and `random.Random` given a seed, in the file or in a
  same-repository module it imports directly.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from hermetic.audit.model import Finding, Rule, Severity
from hermetic.audit.repository import Repository
from hermetic.audit.rules.python_names import Module
from hermetic.audit.rules.python_values import FunctionNode

PRINT_IN_PACKAGE = Rule(
    "HM304",
    "print-in-package",
    "print in package code",
    Severity.NOTE,
    "Log through `logging.getLogger(__name__)`; leave printing to the CLI.",
)
UNSEEDED_TRAINING = Rule(
    "HM305",
    "unseeded-training-entrypoint",
    "Training entrypoint that never seeds",
    Severity.WARNING,
    "Seed every generator at start-up (random.seed, numpy.random.seed, torch.manual_seed) or "
    "call one helper such as lightning's seed_everything or transformers' set_seed.",
)
PRINTS = frozenset({"print", "builtins.print", "rich.print"})
STANDARD_STREAMS = frozenset({"sys.stdout", "sys.stderr"})
NOT_PACKAGE_FOLDERS = frozenset(
    {"tests", "test", "scripts", "benchmarks", "examples", "docs", "notebooks", "cli", "bin"}
)
NOT_PACKAGE_FILES = frozenset({"conftest.py", "setup.py", "noxfile.py", "cli.py", "__main__.py"})
SEEDED_CONSTRUCTORS = frozenset(
    {"numpy.random.default_rng", "numpy.random.RandomState", "random.Random"}
)
CLI_RUNNERS = frozenset(
    {"fire.Fire", "typer.run", "jsonargparse.CLI", "absl.app.run", "tyro.cli", "hydra.main"}
)
# `name = package.module:function` in setup.py / setup.cfg entry points.
ENTRY_POINT = re.compile(r"^[ \t]*[\w.-]+[ \t]*=[ \t]*([\w.]+)[ \t]*:[ \t]*(\w+)", re.MULTILINE)


# HM304: print in package code.


def is_package_code(module: Module, files: set[str]) -> bool:
    """MODULE is importable library code: beside an __init__.py, or under src/ and not a
    script; never a test, script, benchmark, example, doc, notebook, build file or CLI module."""
    file = PurePosixPath(module.path)
    folders = set(file.parts[:-1])
    if folders & NOT_PACKAGE_FOLDERS or file.name in NOT_PACKAGE_FILES:
        return False
    if file.name.startswith("test_") or file.name.endswith(("_test.py", "_cli.py")):
        return False
    if (file.parent / "__init__.py").as_posix() in files:
        return True
    return "src" in folders and not any(runs(statement) for statement in module.tree.body)


def runs(statement: ast.stmt) -> bool:
    """STATEMENT, at module level, does work when the file is run or imported: calls, loops,
    `with`, argument parsing (a `__main__` block is judged apart)."""
    if isinstance(statement, ast.Expr):
        return not isinstance(statement.value, ast.Constant)
    if isinstance(statement, ast.For | ast.AsyncFor | ast.While | ast.With | ast.AsyncWith):
        return True
    if isinstance(statement, ast.If):
        return not is_main_guard(statement) and any(map(runs, statement.body + statement.orelse))
    if isinstance(statement, ast.Try):
        handlers = [line for handler in statement.handlers for line in handler.body]
        return any(map(runs, [*statement.body, *handlers, *statement.orelse]))
    return isinstance(statement, ast.Assign | ast.AnnAssign) and any(
        isinstance(node, ast.Attribute) and node.attr in {"parse_args", "argv"}
        for node in ast.walk(statement)
    )


def prints(module: Module) -> Iterator[Finding]:
    if main_block_line(module.tree) is not None or rebinds_print(module):
        return
    for call in module.calls:
        if module.callee(call) in PRINTS and writes_to_console(call, module):
            message = "print() in package code; log through logging instead"
            yield PRINT_IN_PACKAGE.at(module.path, call.lineno, message)


def rebinds_print(module: Module) -> bool:
    """`print` is imported from anywhere but rich/builtins, defined at top level (a method
    called print rebinds nothing), or assigned anywhere."""
    if module.aliases.get("print", "print") not in PRINTS:
        return True
    if "print" in module.definitions:
        return True
    return any(
        isinstance(node, ast.Name) and node.id == "print" and isinstance(node.ctx, ast.Store)
        for node in module.nodes
    )


def writes_to_console(call: ast.Call, module: Module) -> bool:
    stream = next((item.value for item in call.keywords if item.arg == "file"), None)
    return stream is None or module.name_of(stream) in STANDARD_STREAMS


# HM305: training entrypoints that never seed.


@dataclass(frozen=True)
class Entrypoint:
    """What HM305 needs of a training file once every file has been read: the line that makes
    it an entrypoint (None when only a console script could), whether it trains at module
    level, whether it seeds, and the modules it imports."""

    line: int | None
    trains_at_top: bool
    seeds: bool
    imported: tuple[str, ...]

    def finding(
        self, path: str, script_line: int | None, imported: list[str], seeded: Iterable[bool]
    ) -> Finding | None:
        line = self.line or script_line or (1 if self.trains_at_top else None)
        if line is None or self.seeds or any(seeded):
            return None
        message = (
            f"training entrypoint never seeds its random generators (looked in this file and "
            f"{len(imported)} same-repository module(s) it imports)"
        )
        return UNSEEDED_TRAINING.at(path, line, message)


def entrypoint(module: Module) -> Entrypoint | None:
    """MODULE's HM305 facts, when it trains."""
    if not any(trains(call) for call in module.calls):
        return None
    line = main_block_line(module.tree) or command_line(module)
    return Entrypoint(line, trains_at_top(module.tree), seeds(module), module.imported)


def trains(call: ast.Call) -> bool:
    """CALL is `.backward()`, an optimiser-like `.step()`, or a trainer-like `.fit()`."""
    if not isinstance(call.func, ast.Attribute):
        return False
    method = call.func.attr
    if method in {"backward", "manual_backward"}:
        return True
    owner = last_identifier(call.func.value).lower()
    if method == "step":
        return is_optimiser_like(owner)
    # transformers' Trainer seeds itself (TrainingArguments.seed), so only `.fit` counts.
    return method == "fit" and "trainer" in owner


def is_optimiser_like(name: str) -> bool:
    """`optimizer`, `optim`, `self.optimizers()`, `opt`, `g_opt`, AMP's `scaler`."""
    return (
        "optim" in name
        or "scaler" in name
        or name == "opt"
        or name.startswith("opt_")
        or name.endswith("_opt")
    )


def last_identifier(node: ast.expr) -> str:
    """The rightmost name in NODE: `self.optimizers()[0]` -> `optimizers`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call | ast.Subscript):
        return last_identifier(node.func if isinstance(node, ast.Call) else node.value)
    return ""


def trains_at_top(tree: ast.Module) -> bool:
    """Training calls in module-level statements: the file trains when it is run."""
    return any(
        isinstance(node, ast.Call) and trains(node)
        for statement in tree.body
        if not isinstance(statement, FunctionNode | ast.ClassDef) and not is_main_guard(statement)
        for node in ast.walk(statement)
    )


def command_line(module: Module) -> int | None:
    """The line of a CLI command (`@app.command()`, `@click.command()`, `@hydra.main()`) or a
    CLI runner call (`fire.Fire(...)`, `typer.run(...)`, `LightningCLI(...)`)."""
    for node in module.tree.body:
        if isinstance(node, FunctionNode):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = module.name_of(target) or ""
                if name.endswith(".command") or name in CLI_RUNNERS:
                    return node.lineno
    return next(
        (
            call.lineno
            for call in module.calls
            if (name := module.callee(call) or "") in CLI_RUNNERS or name.endswith("LightningCLI")
        ),
        None,
    )


def main_block_line(tree: ast.Module) -> int | None:
    block = next((node for node in tree.body if is_main_guard(node)), None)
    return None if block is None else block.lineno


def is_main_guard(node: ast.stmt) -> bool:
    """NODE is `if __name__ == "__main__":` (either way round)."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    sides = [node.test.left, *node.test.comparators]
    return (
        len(sides) == 2
        and isinstance(node.test.ops[0], ast.Eq)
        and any(isinstance(side, ast.Name) and side.id == "__name__" for side in sides)
        and any(isinstance(side, ast.Constant) and side.value == "__main__" for side in sides)
    )


def seeds(module: Module) -> bool:
    return any(is_seeding(call, module) for call in module.calls)


def is_seeding(call: ast.Call, module: Module) -> bool:
    """CALL seeds: a function whose name holds `seed` (`random.seed`, `torch.manual_seed`,
    `seed_everything`, `init_seeds`...) or `default_rng`/`RandomState`/`Random` given a seed."""
    name = module.callee(call) or ""
    called = (name.rsplit(".", 1)[-1], last_identifier(call.func))
    if any("seed" in function.lower() for function in called):
        return True
    if name not in SEEDED_CONSTRUCTORS:
        return False
    seed = call.args[0] if call.args else next((k.value for k in call.keywords), None)
    return seed is not None and not (isinstance(seed, ast.Constant) and seed.value is None)


def declared_scripts(module: Module) -> list[tuple[str, str]]:
    """`module:function` entry points written as strings in a setup.py."""
    if PurePosixPath(module.path).name != "setup.py":
        return []
    return [
        (match.group(1), match.group(2))
        for node in module.nodes
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        for match in ENTRY_POINT.finditer(node.value)
    ]


def console_scripts(repository: Repository) -> list[tuple[str, str]]:
    """(module, function) of every console and GUI script that pyproject.toml (PEP 621 or
    Poetry) and setup.cfg declare."""
    found: list[tuple[str, str]] = []
    for path in repository.matching("setup.cfg"):
        text = repository.text(path) or ""
        found += [(match.group(1), match.group(2)) for match in ENTRY_POINT.finditer(text)]
    for path in repository.matching("pyproject.toml"):
        try:
            document = tomllib.loads(repository.text(path) or "")
        except tomllib.TOMLDecodeError:
            continue
        project = document.get("project", {})
        poetry = document.get("tool", {}).get("poetry", {})
        for table in (project.get("scripts"), project.get("gui-scripts"), poetry.get("scripts")):
            for value in table.values() if isinstance(table, dict) else ():
                reference = (
                    value.get("reference") or value.get("callable")
                    if isinstance(value, dict)
                    else value
                )
                if isinstance(reference, str) and ":" in reference:
                    module, _, function = reference.partition(":")
                    found.append((module.strip(), function.strip().split(".")[0]))
    return found
