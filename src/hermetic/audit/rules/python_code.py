"""Python code hazards (HM301-HM305), found in each `*.py` file's syntax tree.

Names are resolved through a per-module import table, so `import pickle as pk; pk.load(f)`,
`from torch import load` and `import numpy.random as npr` all resolve to their full names. Files
that do not parse are skipped. Every heuristic leans towards missing a hazard rather than
reporting a false one; the exact triggers are written in each rule's title and in the checks.

- HM301 reports calls only: subclassing `pickle.Unpickler` to restrict `find_class` is the cure.
  `numpy.load` counts only with a literal `allow_pickle=True` (its default is safe).
- HM303 judges one function at a time (nested functions and lambdas are judged alone). It fires
  when, outside a `with torch.no_grad()` / `with torch.inference_mode()` block, a function either
  calls `X(...)` or `X.forward(...)` after `X.eval()`, or is named `predict*`, `infer*`, `serve*`
  or `score*` in a file that imports torch and calls `model(...)`, `net(...)`, `network(...)`,
  `self.model(...)`, `self.net(...)`, `self.network(...)` or `*.forward(...)`. It never fires on
  `forward`, `train*`, `fit*` or `*_step` functions (their caller, or Lightning, sets the mode),
  on a function decorated with `torch.no_grad`/`torch.inference_mode`, one that calls
  `torch.set_grad_enabled(...)` with anything but a literal True, or one that uses gradients
  (`.backward()`, `.zero_grad()`, an optimiser's `.step()`, `torch.autograd.grad`,
  `.requires_grad_()`, `torch.enable_grad`).
- HM304 counts a file as package code when it lies under a `src/` folder or next to an
  `__init__.py`; `from rich import print` still counts as printing, any other rebinding of
  `print` (an import, a top-level `def`, an assignment) does not; `print(..., file=f)` is a write.
  A file with an `if __name__ == "__main__":` block is a script, so its prints are its output.
- HM305 treats as training a `.backward()`, a `.step()` on an optimiser-like name (`optimizer`,
  `opt`, `g_opt`, `scaler`) or a `.fit()` on a trainer-like one (not transformers'
  `Trainer.train()`, which seeds itself). Any call to a function whose name contains `seed`
  counts as seeding (`random.seed`, `torch.manual_seed`, `seed_everything`, `init_seeds`), as do
  `numpy.random.default_rng`, `numpy.random.RandomState` and `random.Random` given a seed. It
  reports at the `if __name__ == "__main__":` line, or at line 1 for an entrypoint known by its
  name (`train.py`, `train_*.py`, `*_train.py`, `main.py`; not `trainer.py`/`training.py`, which
  are usually libraries). Same-repository modules are found by matching the imported dotted
  name against the ends of file paths (`from utils import x` finds `scripts/utils.py`).
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from hermetic.audit.model import Finding, Rule, Severity
from hermetic.audit.repository import Repository

UNSAFE_DESERIALISATION = Rule(
    "HM301",
    "unsafe-deserialisation",
    "Unsafe deserialisation: pickle-based load",
    Severity.ERROR,
    "Store data as Parquet/JSON/npz and weights as safetensors; if a pickle is unavoidable, "
    "load only files this program wrote and say so with an inline suppression.",
)
TORCH_LOAD = Rule(
    "HM302",
    "torch-load-without-weights-only",
    "torch.load without weights_only=True",
    Severity.WARNING,
    "Pass weights_only=True explicitly, or save and load weights with safetensors.",
)
INFERENCE_WITH_GRADIENTS = Rule(
    "HM303",
    "inference-with-gradients",
    "Inference with gradient tracking on",
    Severity.WARNING,
    "Decorate the function with @torch.inference_mode() (or @torch.no_grad()), or run the "
    "model inside `with torch.inference_mode():`.",
)
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
RULES = (
    UNSAFE_DESERIALISATION,
    TORCH_LOAD,
    INFERENCE_WITH_GRADIENTS,
    PRINT_IN_PACKAGE,
    UNSEEDED_TRAINING,
)

PICKLE_LOADERS = frozenset(
    [
        f"{module}.{kind}"
        for module in ("pickle", "cPickle", "_pickle", "dill")
        for kind in ("load", "loads", "Unpickler")
    ]
    + ["cloudpickle.load", "cloudpickle.loads", "joblib.load", "pandas.read_pickle"]
    + ["sklearn.externals.joblib.load"]
)
TORCH_LOADERS = frozenset({"torch.load", "torch.serialization.load"})
GRAD_OFF_CONTEXTS = frozenset(
    f"torch.{module}{function}"
    for module in ("", "autograd.", "autograd.grad_mode.")
    for function in ("no_grad", "inference_mode")
)
GRAD_SWITCHES = frozenset({"torch.set_grad_enabled", "torch.autograd.set_grad_enabled"})
GRADIENT_USES = frozenset({"torch.autograd.grad", "torch.autograd.backward", "torch.enable_grad"})
INFERENCE_PREFIXES = ("predict", "infer", "serve", "score")
# Their caller decides the grad mode: a module's forward, Lightning hooks, training functions.
CALLER_DECIDES_PREFIXES = ("forward", "train", "fit")
MODEL_CALLEES = frozenset(
    prefix + name for prefix in ("", "self.") for name in ("model", "net", "network")
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

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef
SEPARATE_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


@dataclass(frozen=True)
class Module:
    """One parsed file, its nodes and calls (walked once), and the full names its imports
    give to local names."""

    path: str
    tree: ast.Module
    nodes: tuple[ast.AST, ...]
    calls: tuple[ast.Call, ...]
    aliases: dict[str, str]

    @classmethod
    def of(cls, path: str, tree: ast.Module) -> Module:
        nodes = tuple(ast.walk(tree))
        calls = tuple(node for node in nodes if isinstance(node, ast.Call))
        return cls(path, tree, nodes, calls, import_aliases(nodes))

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

    def imports_torch(self) -> bool:
        return any(name == "torch" or name.startswith("torch.") for name in self.aliases.values())


def check(repository: Repository) -> Iterator[Finding]:
    """Every HM301-HM305 finding in the repository's Python files."""
    files = set(repository.files)
    python = SameRepository(repository, frozenset(path for path in files if path.endswith(".py")))
    for path in sorted(python.files):
        module = python.module(path)
        if module is not None:
            yield from findings_in(module, python, is_package_code(path, files))


def findings_in(module: Module, python: SameRepository, in_package: bool) -> list[Finding]:
    try:
        return [
            *unsafe_deserialisation(module),
            *torch_load_without_weights_only(module),
            *inference_with_gradients(module),
            *(prints(module) if in_package else ()),
            *unseeded_training(module, python),
        ]
    except RecursionError:  # absurdly deep generated code: skipped, like a file that won't parse
        return []


@dataclass
class SameRepository:
    """The repository's Python files, parsed one at a time: keeping every tree alive would make
    the garbage collector crawl; only whether an imported module seeds is remembered."""

    repository: Repository
    files: frozenset[str]
    _seeding: dict[str, bool] = field(default_factory=dict)

    def module(self, path: str) -> Module | None:
        tree = parse(self.repository.text(path), path)
        return None if tree is None else Module.of(path, tree)

    def seeds(self, path: str) -> bool:
        if path not in self._seeding:
            module = self.module(path)
            self._seeding[path] = module is not None and seeds(module)
        return self._seeding[path]


def parse(text: str | None, path: str) -> ast.Module | None:
    if text is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # invalid escapes and the like are not ours to report
        try:
            return ast.parse(text, filename=path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None


def import_aliases(nodes: Iterable[ast.AST]) -> dict[str, str]:
    """Local name -> full name, from every import in the file (relative ones keep their dots)."""
    aliases: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom):
            source = "." * node.level + (node.module or "")
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{source}.{alias.name}".lstrip(".")
    return aliases


# HM301 and HM302: loading pickles.


def unsafe_deserialisation(module: Module) -> Iterator[Finding]:
    for call in module.calls:
        name = module.name_of(call.func)
        if name in PICKLE_LOADERS:
            message = f"`{name}` can run arbitrary code hidden in the data it reads"
            yield UNSAFE_DESERIALISATION.at(module.path, call.lineno, message)
        elif name == "numpy.load" and is_literal(keyword_value(call, "allow_pickle"), True):
            message = "`numpy.load(..., allow_pickle=True)` unpickles object arrays, running code"
            yield UNSAFE_DESERIALISATION.at(module.path, call.lineno, message)


def torch_load_without_weights_only(module: Module) -> Iterator[Finding]:
    for call in module.calls:
        if module.name_of(call.func) in TORCH_LOADERS:
            problem = weights_only_problem(call)
            if problem is not None:
                message = f"`torch.load` {problem}, so it may unpickle arbitrary objects"
                yield TORCH_LOAD.at(module.path, call.lineno, message)


def weights_only_problem(call: ast.Call) -> str | None:
    """Why CALL's weights_only is not a literal True, or None when it is."""
    value = keyword_value(call, "weights_only")
    if value is None:
        if any(keyword.arg is None for keyword in call.keywords):
            return "sets weights_only only through **kwargs, if at all"
        return "has no weights_only=True"
    if is_literal(value, True):
        return None
    if is_literal(value, False):
        return "sets weights_only=False"
    return f"sets weights_only={ast.unparse(value)}, not a literal True"


def keyword_value(call: ast.Call, name: str) -> ast.expr | None:
    return next((keyword.value for keyword in call.keywords if keyword.arg == name), None)


def is_literal(node: ast.expr | None, value: bool) -> bool:
    return isinstance(node, ast.Constant) and node.value is value


# HM303: inference with gradient tracking on.


def inference_with_gradients(module: Module) -> Iterator[Finding]:
    evaluates = any(is_eval(call) for call in module.calls)
    for node in module.nodes:
        if isinstance(node, FunctionNode) and (evaluates or is_named_inference(node, module)):
            call = model_call_with_gradients(node, module)
            if call is not None:
                message = (
                    f"`{node.name}` calls `{ast.unparse(call.func)}(...)` (line {call.lineno}) "
                    "with gradient tracking on; wrap it in torch.inference_mode()"
                )
                yield INFERENCE_WITH_GRADIENTS.at(module.path, node.lineno, message)


def model_call_with_gradients(function: FunctionNode, module: Module) -> ast.Call | None:
    """FUNCTION's first model call that runs with gradients on, by HM303's heuristic."""
    calls = own_calls(function, module)
    every_call = [call for call, _ in calls]
    if (
        caller_decides_grad_mode(function)
        or decorated_without_grad(function, module)
        or any(switches_grad(call, module) or uses_gradients(call, module) for call in every_call)
    ):
        return None
    unguarded = [call for call, guarded in calls if not guarded]
    after_eval = calls_after_eval(every_call, unguarded)
    named = named_inference_calls(function, module, unguarded)
    return min(after_eval + named, key=position, default=None)


def caller_decides_grad_mode(function: FunctionNode) -> bool:
    """`forward`, `train*`, `fit*` and `*_step` (Lightning hooks) run in their caller's mode."""
    name = function.name.lstrip("_").lower()
    return name.startswith(CALLER_DECIDES_PREFIXES) or name.endswith("_step")


def own_calls(function: FunctionNode, module: Module) -> list[tuple[ast.Call, bool]]:
    """FUNCTION's calls, not those of nested scopes, each with whether a no-grad `with`
    encloses it (iterative: generated code can nest deeper than the recursion limit)."""
    found: list[tuple[ast.Call, bool]] = []
    pending: list[tuple[ast.AST, bool]] = [(statement, False) for statement in function.body]
    while pending:
        node, guarded = pending.pop()
        if isinstance(node, SEPARATE_SCOPES):
            continue
        inner = guarded or (
            isinstance(node, ast.With | ast.AsyncWith)
            and any(disables_grad(item.context_expr, module) for item in node.items)
        )
        if isinstance(node, ast.Call):
            found.append((node, inner))
        pending.extend((child, inner) for child in ast.iter_child_nodes(node))
    return found


def disables_grad(node: ast.expr, module: Module) -> bool:
    """NODE is `torch.no_grad()`, `torch.inference_mode()` or `torch.set_grad_enabled(off)`."""
    target = node.func if isinstance(node, ast.Call) else node
    name = module.name_of(target)
    if name in GRAD_OFF_CONTEXTS:
        return not (isinstance(node, ast.Call) and is_literal(first_argument(node, "mode"), False))
    return isinstance(node, ast.Call) and switches_grad(node, module)


def switches_grad(call: ast.Call, module: Module) -> bool:
    """CALL is `torch.set_grad_enabled(x)` with x anything but a literal True."""
    return module.name_of(call.func) in GRAD_SWITCHES and not is_literal(
        first_argument(call, "mode"), True
    )


def first_argument(call: ast.Call, keyword: str) -> ast.expr | None:
    return call.args[0] if call.args else keyword_value(call, keyword)


def decorated_without_grad(function: FunctionNode, module: Module) -> bool:
    return any(disables_grad(decorator, module) for decorator in function.decorator_list)


def uses_gradients(call: ast.Call, module: Module) -> bool:
    """CALL trains or needs gradients: backward, zero_grad, optimiser steps, autograd."""
    method = call.func.attr if isinstance(call.func, ast.Attribute) else ""
    return (
        trains(call)
        or module.name_of(call.func) in GRADIENT_USES
        or method in {"zero_grad", "requires_grad_"}
    )


def calls_after_eval(every_call: list[ast.Call], unguarded: list[ast.Call]) -> list[ast.Call]:
    """Unguarded `X(...)` / `X.forward(...)` calls placed after an `X.eval()`."""
    evaluated: dict[str, tuple[int, int]] = {}
    for call in every_call:
        if is_eval(call) and isinstance(call.func, ast.Attribute):
            receiver = ast.unparse(call.func.value)
            evaluated.setdefault(receiver, end_position(call))
    if not evaluated:
        return []
    found = []
    for call in unguarded:
        callee = model_of(call)
        if callee in evaluated and position(call) > evaluated[callee]:
            found.append(call)
    return found


def is_eval(call: ast.Call) -> bool:
    return (
        isinstance(call.func, ast.Attribute)
        and call.func.attr == "eval"
        and not call.args
        and not call.keywords
    )


def model_of(call: ast.Call) -> str:
    """What CALL runs: `model` for both `model(x)` and `model.forward(x)`."""
    if isinstance(call.func, ast.Attribute) and call.func.attr == "forward":
        return ast.unparse(call.func.value)
    return ast.unparse(call.func)


def named_inference_calls(
    function: FunctionNode, module: Module, unguarded: list[ast.Call]
) -> list[ast.Call]:
    """In a predict*/infer*/serve*/score* function of a torch file: its model calls."""
    if not is_named_inference(function, module):
        return []
    return [
        call
        for call in unguarded
        if ast.unparse(call.func) in MODEL_CALLEES
        or (isinstance(call.func, ast.Attribute) and call.func.attr == "forward")
    ]


def is_named_inference(function: FunctionNode, module: Module) -> bool:
    name = function.name.lstrip("_").lower()
    return name.startswith(INFERENCE_PREFIXES) and module.imports_torch()


def position(node: ast.expr) -> tuple[int, int]:
    return node.lineno, node.col_offset


def end_position(node: ast.expr) -> tuple[int, int]:
    return node.end_lineno or node.lineno, node.end_col_offset or node.col_offset


# HM304: print in package code.


def is_package_code(path: str, files: set[str]) -> bool:
    """PATH is importable library code: under src/ or beside an __init__.py, and not a test,
    script, benchmark, example, doc, notebook, build file or CLI module."""
    file = PurePosixPath(path)
    folders = set(file.parts[:-1])
    if folders & NOT_PACKAGE_FOLDERS or file.name in NOT_PACKAGE_FILES:
        return False
    if file.name.startswith("test_") or file.name.endswith(("_test.py", "_cli.py")):
        return False
    return "src" in folders or (file.parent / "__init__.py").as_posix() in files


def prints(module: Module) -> Iterator[Finding]:
    if main_block_line(module.tree) is not None or rebinds_print(module):
        return
    for call in module.calls:
        if module.name_of(call.func) in PRINTS and writes_to_console(call, module):
            message = "print() in package code; log through logging instead"
            yield PRINT_IN_PACKAGE.at(module.path, call.lineno, message)


def rebinds_print(module: Module) -> bool:
    """`print` is imported from anywhere but rich/builtins, defined at top level (a method
    called print rebinds nothing), or assigned anywhere."""
    if module.aliases.get("print", "print") not in PRINTS:
        return True
    if any(
        isinstance(node, FunctionNode | ast.ClassDef) and node.name == "print"
        for node in module.tree.body
    ):
        return True
    return any(
        isinstance(node, ast.Name) and node.id == "print" and isinstance(node.ctx, ast.Store)
        for node in module.nodes
    )


def writes_to_console(call: ast.Call, module: Module) -> bool:
    stream = keyword_value(call, "file")
    return stream is None or module.name_of(stream) in STANDARD_STREAMS


# HM305: training entrypoints that never seed.


def unseeded_training(module: Module, python: SameRepository) -> Iterator[Finding]:
    if not any(trains(call) for call in module.calls):
        return
    main_block = main_block_line(module.tree)
    if main_block is None and not named_like_entrypoint(module.path):
        return
    imported = imported_paths(module, python.files)
    if seeds(module) or any(python.seeds(path) for path in imported):
        return
    message = (
        f"training entrypoint never seeds its random generators (looked in this file and "
        f"{len(imported)} same-repository module(s) it imports)"
    )
    yield UNSEEDED_TRAINING.at(module.path, main_block or 1, message)


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


def named_like_entrypoint(path: str) -> bool:
    """train.py, train_*.py, *_train.py, main.py (not trainer.py or training.py: libraries)."""
    stem = PurePosixPath(path).stem
    return stem in {"train", "main"} or stem.startswith("train_") or stem.endswith("_train")


def seeds(module: Module) -> bool:
    return any(is_seeding(call, module) for call in module.calls)


def is_seeding(call: ast.Call, module: Module) -> bool:
    """CALL seeds: a function whose name holds `seed` (`random.seed`, `torch.manual_seed`,
    `seed_everything`, `init_seeds`...) or `default_rng`/`RandomState`/`Random` given a seed."""
    name = module.name_of(call.func) or ""
    called = (name.rsplit(".", 1)[-1], last_identifier(call.func))
    if any("seed" in function.lower() for function in called):
        return True
    return name in SEEDED_CONSTRUCTORS and not is_none_or_missing(first_argument(call, "seed"))


def is_none_or_missing(node: ast.expr | None) -> bool:
    return node is None or (isinstance(node, ast.Constant) and node.value is None)


def imported_paths(module: Module, files: frozenset[str]) -> list[str]:
    """Same-repository files that MODULE imports directly (one level, no transitive imports)."""
    wanted: set[str] = set()
    for node in module.nodes:
        if isinstance(node, ast.Import):
            wanted |= {path for alias in node.names for path in module_files(alias.name, files)}
        elif isinstance(node, ast.ImportFrom):
            wanted |= from_import_files(node, module.path, files)
    wanted.discard(module.path)
    return sorted(wanted)


def from_import_files(node: ast.ImportFrom, importer: str, files: frozenset[str]) -> set[str]:
    """Files `from X import a, b` may read: X itself and X/a, X/b as submodules."""
    names = [alias.name for alias in node.names if alias.name != "*"]
    if node.level == 0:
        source = node.module or ""
        dotted = [source, *(f"{source}.{name}" for name in names)]
        return {path for name in dotted for path in module_files(name, files)}
    parents = PurePosixPath(importer).parents
    if node.level > len(parents):
        return set()
    base = parents[node.level - 1]
    folder = base.joinpath(*node.module.split(".")) if node.module else base
    candidates = module_candidates(folder.as_posix(), names)
    return {path.removeprefix("./") for path in candidates} & files


def module_candidates(folder: str, names: Iterable[str]) -> set[str]:
    targets = [folder, *(f"{folder}/{name}" for name in names)]
    return {f"{target}{ending}" for target in targets for ending in (".py", "/__init__.py")}


def module_files(dotted: str, files: frozenset[str]) -> set[str]:
    """Repository files whose path ends like the module DOTTED (`a.b` -> `.../a/b.py`)."""
    if not dotted:
        return set()
    endings = module_candidates(dotted.replace(".", "/"), ())
    return {
        path
        for path in files
        if any(path == ending or path.endswith(f"/{ending}") for ending in endings)
    }
