"""HM303: inference with gradient tracking on.

It judges one function at a time (nested functions and lambdas are judged alone). It fires when,
outside a `with torch.no_grad()` / `with torch.inference_mode()` block, a function either calls
`X(...)` or `X.forward(...)` after `X.eval()`, or is named `predict*`, `infer*`, `serve*` or
`score*` in a file that imports torch and calls `model(...)`, `net(...)`, `network(...)`,
`self.model(...)`, `self.net(...)`, `self.network(...)` or `*.forward(...)`. It never fires on
`forward`, `train*`, `fit*` or `*_step` functions (their caller, or Lightning, sets the mode), on
a function decorated with `torch.no_grad`/`torch.inference_mode`, one that calls
`torch.set_grad_enabled(...)` with anything but a literal True, or one that uses gradients
(`.backward()`, `.zero_grad()`, an optimiser's `.step()`, `torch.autograd.grad`,
`.requires_grad_()`, `torch.enable_grad`).

The repository's own helpers count as grad-off too, wherever they are defined: a module-level
function whose nested wrapper runs under a grad-off `with` or decorator, that returns
`torch.no_grad()(fn)`, or that yields inside a grad-off `with` (a context manager), whether it is
applied as `@helper`, `@helper()`, `@module.helper` or `with helper():`. Those names are kept from
the first pass and decided once every file has been read.
"""

from __future__ import annotations

import ast
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from hermetic.audit.model import Finding, Rule, Severity
from hermetic.audit.rules.python_entrypoints import trains
from hermetic.audit.rules.python_names import SEPARATE_SCOPES, Module
from hermetic.audit.rules.python_values import FunctionNode

INFERENCE_WITH_GRADIENTS = Rule(
    "HM303",
    "inference-with-gradients",
    "Inference with gradient tracking on",
    Severity.WARNING,
    "Decorate the function with @torch.inference_mode() (or @torch.no_grad()), or run the "
    "model inside `with torch.inference_mode():`.",
)
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
IsRepository = Callable[[str], bool]


@dataclass(frozen=True)
class ModelCall:
    """A model call with gradients on, unless one of GUARDS (same-repository `with` contexts
    around it) turns out to turn them off."""

    message: str
    guards: tuple[str, ...]


@dataclass(frozen=True)
class InferenceCandidate:
    """A function that runs a model with gradients on, unless one of its DECORATORS or its
    calls' guards is a same-repository grad-off helper; CALLS in source order."""

    path: str
    line: int
    decorators: tuple[str, ...]
    calls: tuple[ModelCall, ...]

    def finding(self, grad_off: Callable[[str], bool]) -> Finding | None:
        if any(grad_off(decorator) for decorator in self.decorators):
            return None
        for call in self.calls:
            if not any(grad_off(guard) for guard in call.guards):
                return INFERENCE_WITH_GRADIENTS.at(self.path, self.line, call.message)
        return None


def inference_candidates(
    module: Module, in_repository: IsRepository
) -> Iterator[InferenceCandidate]:
    evaluated = sorted(call.lineno for call in module.calls if is_eval(call))
    for node in module.kinds["function"]:
        if not isinstance(node, FunctionNode) or caller_decides_grad_mode(node):
            continue
        # Only a function that calls `.eval()` or is named for inference can be reported.
        evals = bisect_right(evaluated, node.end_lineno or 0) - bisect_left(evaluated, node.lineno)
        if evals > 0 or is_named_inference(node, module):
            candidate = candidate_of(node, module, in_repository)
            if candidate is not None:
                yield candidate


def candidate_of(
    function: FunctionNode, module: Module, in_repository: IsRepository
) -> InferenceCandidate | None:
    """FUNCTION's model calls that run with gradients on, by HM303's heuristic."""
    if any(disables_grad(decorator, module) for decorator in function.decorator_list):
        return None
    calls = own_calls(function, module, in_repository)
    every_call = [call for call, _, _ in calls]
    if any(switches_grad(call, module) or uses_gradients(call, module) for call in every_call):
        return None
    unguarded = {call: guards for call, guarded, guards in calls if not guarded}
    found = set(calls_after_eval(every_call, list(unguarded)))
    found.update(named_inference_calls(function, module, list(unguarded)))
    if not found:
        return None
    model_calls = tuple(
        ModelCall(
            f"`{function.name}` calls `{ast.unparse(call.func)}(...)` (line {call.lineno}) "
            "with gradient tracking on; wrap it in torch.inference_mode()",
            unguarded[call],
        )
        for call in sorted(found, key=position)
    )
    decorators = tuple(
        name
        for decorator in function.decorator_list
        if (name := repository_name(decorator, module, in_repository))
    )
    return InferenceCandidate(module.path, function.lineno, decorators, model_calls)


def repository_name(node: ast.expr, module: Module, in_repository: IsRepository) -> str | None:
    """The full name of what NODE applies (`helper` for `@helper()` too), if it may be defined
    in the repository."""
    name = module.name_of(node.func if isinstance(node, ast.Call) else node)
    return name if name is not None and in_repository(name) else None


def caller_decides_grad_mode(function: FunctionNode) -> bool:
    """`forward`, `train*`, `fit*` and `*_step` (Lightning hooks) run in their caller's mode."""
    name = function.name.lstrip("_").lower()
    return name.startswith(CALLER_DECIDES_PREFIXES) or name.endswith("_step")


def own_calls(
    function: FunctionNode, module: Module, in_repository: IsRepository
) -> list[tuple[ast.Call, bool, tuple[str, ...]]]:
    """FUNCTION's calls, not those of nested scopes, each with whether a no-grad `with`
    encloses it and the same-repository contexts that do (iterative: generated code can nest
    deeper than the recursion limit)."""
    found: list[tuple[ast.Call, bool, tuple[str, ...]]] = []
    pending: list[tuple[ast.AST, bool, tuple[str, ...]]] = [
        (statement, False, ()) for statement in function.body
    ]
    while pending:
        node, guarded, guards = pending.pop()
        if isinstance(node, SEPARATE_SCOPES):
            continue
        if isinstance(node, ast.With | ast.AsyncWith):
            for item in node.items:
                if disables_grad(item.context_expr, module):
                    guarded = True
                elif name := repository_name(item.context_expr, module, in_repository):
                    guards += (name,)
        if isinstance(node, ast.Call):
            found.append((node, guarded, guards))
        pending.extend((child, guarded, guards) for child in ast.iter_child_nodes(node))
    return found


def disables_grad(node: ast.expr, module: Module) -> bool:
    """NODE is `torch.no_grad()`, `torch.inference_mode()` or `torch.set_grad_enabled(off)`."""
    target = node.func if isinstance(node, ast.Call) else node
    if isinstance(target, ast.IfExp):  # `(torch.inference_mode if new else torch.no_grad)()`
        branches = (target.body, target.orelse)
        return all(module.name_of(branch) in GRAD_OFF_CONTEXTS for branch in branches)
    name = module.name_of(target)
    if name in GRAD_OFF_CONTEXTS:
        return not (isinstance(node, ast.Call) and is_false(first_argument(node, "mode")))
    return isinstance(node, ast.Call) and switches_grad(node, module)


def switches_grad(call: ast.Call, module: Module) -> bool:
    """CALL is `torch.set_grad_enabled(x)` with x anything but a literal True."""
    if module.callee(call) not in GRAD_SWITCHES:
        return False
    mode = first_argument(call, "mode")
    return not (isinstance(mode, ast.Constant) and mode.value is True)


def is_false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def first_argument(call: ast.Call, keyword: str) -> ast.expr | None:
    if call.args:
        return call.args[0]
    return next((item.value for item in call.keywords if item.arg == keyword), None)


def uses_gradients(call: ast.Call, module: Module) -> bool:
    """CALL trains or needs gradients: backward, zero_grad, optimiser steps, autograd."""
    method = call.func.attr if isinstance(call.func, ast.Attribute) else ""
    return (
        trains(call)
        or module.callee(call) in GRADIENT_USES
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
    return [
        call
        for call in unguarded
        if model_of(call) in evaluated and position(call) > evaluated[model_of(call)]
    ]


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
    return name.startswith(INFERENCE_PREFIXES) and module.imports("torch")


def position(node: ast.expr) -> tuple[int, int]:
    return node.lineno, node.col_offset


def end_position(node: ast.expr) -> tuple[int, int]:
    return node.end_lineno or node.lineno, node.end_col_offset or node.col_offset


def grad_off_helpers(module: Module) -> frozenset[str]:
    """The module-level functions that turn gradients off for what they decorate or enclose."""
    # Only a function holding a nested def, a yield or `f()(g)` can be one: find those first,
    # from the nodes already walked, so that most files walk nothing again.
    calls_of_calls = [call for call in module.calls if isinstance(call.func, ast.Call)]
    shapes = sorted(
        node.lineno
        for node in [*module.kinds["function"], *module.kinds["yield"], *calls_of_calls]
        if isinstance(node, ast.stmt | ast.expr)
    )
    return frozenset(
        node.name
        for node in module.tree.body
        if isinstance(node, FunctionNode)
        and bisect_right(shapes, node.lineno) < bisect_right(shapes, node.end_lineno or 0)
        and is_grad_off_helper(node, module)
    )


def is_grad_off_helper(function: FunctionNode, module: Module) -> bool:
    """A nested function of FUNCTION runs grad-off (a decorator), FUNCTION returns
    `torch.no_grad()(fn)`, or it yields inside a grad-off `with` (a context manager)."""
    yields = False
    for node in ast.walk(function):
        if node is not function and isinstance(node, FunctionNode):
            if any(_turns_grad_off(inner, module) for inner in ast.walk(node)):
                return True
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Call)
            and disables_grad(node.func, module)
        ):
            return True
        yields = yields or isinstance(node, ast.Yield | ast.YieldFrom)
    return yields and any(
        isinstance(node, ast.With | ast.AsyncWith) and _turns_grad_off(node, module)
        for node in ast.walk(function)
    )


def _turns_grad_off(node: ast.AST, module: Module) -> bool:
    if isinstance(node, ast.With | ast.AsyncWith):
        return any(disables_grad(item.context_expr, module) for item in node.items)
    if isinstance(node, FunctionNode):
        return any(disables_grad(decorator, module) for decorator in node.decorator_list)
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Call)
        and disables_grad(node.func, module)
    )
