"""Calls that may load something unsafely, followed through the repository's own functions.

A `Target` is a library function that a rule judges (`torch.load`, `yaml.load`, `from_pretrained`),
with the arguments that decide whether a call of it is safe (`weights_only`, `Loader`, `revision`).
A `Site` is one call of it, its arguments reduced to `Slot`s.

A finding is reported where the unsafe value is decided, once:
- at the library call itself, with its function's defaults standing in for what callers pass
  (`def load(path, weights_only=False): return torch.load(path, weights_only=weights_only)` is
  reported at `torch.load`: the default decides for every caller that passes nothing), unless
  the deciding argument is a parameter without a default, which every caller decides;
- at a call of a same-repository function that passes such a deciding argument on (as a
  parameter or through `**kwargs`, any number of functions deep), when that call itself writes an
  unsafe value for it (`load(path, weights_only=False)`). Calls that pass nothing are already
  counted at the library call, so a wrapper called from ten places is one finding, not eleven.
A function whose library call fixes everything itself (`pickle.load(f)`, `torch.load(p)`) is
therefore reported once, at that call, however many callers it has. Only module-level functions
are followed (methods need the receiver's type); a call is bound to one by the repository's
imports (`ModuleIndex`), after every file has been read once.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from hermetic.audit.model import Finding, Rule
from hermetic.audit.rules.python_names import Module
from hermetic.audit.rules.python_values import Arguments, Signature, Slot, Value


class Names(Protocol):
    """What judging an argument needs to know about the rest of the repository."""

    def string(self, value: Value) -> str | None:
        """The string VALUE is: a literal, or a module-level constant it names."""

    def is_safe_loader(self, value: Value) -> bool:
        """VALUE names yaml's SafeLoader, CSafeLoader, BaseLoader or a subclass of one."""


Problem = Callable[[Mapping[str, Slot], Names], str | None]


@dataclass(frozen=True)
class Target:
    """A library function and how to judge one call of it: PROBLEM says what is unsafe (None
    when nothing is), reading arguments by parameter name; PARAMETERS are its positional ones,
    in order; DECIDES, those a caller chooses to make a call safe or not."""

    rule: Rule
    parameters: tuple[str, ...]
    decides: tuple[str, ...]
    problem: Problem
    consequence: str = ""


@dataclass(frozen=True)
class Site:
    """One call that reaches TARGET: at PATH:LINE, in the module-level FUNCTION (if any), SHOWN
    as the name it calls; ORIGIN is where the library call is written. CALLEE is set when the
    call is of a same-repository function that passes arguments on to it."""

    path: str
    line: int
    function: str | None
    target: Target
    shown: str
    slots: Mapping[str, Slot]
    origin: tuple[str, int]
    callee: str | None = None

    @classmethod
    def of(cls, module: Module, call: ast.Call, target: Target, shown: str) -> Site:
        arguments = module.arguments(call)
        slots = dict(zip(target.parameters, arguments.positional, strict=False))
        slots.update(arguments.keywords)
        for name in target.decides:
            if name not in slots and arguments.forwards is not None:
                slots[name] = Slot(Value("splat", f"**{arguments.forwards}"), keyword=name)
            elif name not in slots and arguments.splat is not None:
                slots[name] = Slot(Value("splat", arguments.splat))
        scope = module.scope_of(call)
        function = scope.name if scope is not None and scope.top_level else None
        return cls(
            module.path, call.lineno, function, target, shown, slots, (module.path, call.lineno)
        )

    @property
    def forwards(self) -> bool:
        """Whether a caller of this site's function may supply an argument that decides."""
        return any(self.slots[name].forwarded for name in self.target.decides if name in self.slots)

    def finding(self, names: Names) -> Finding | None:
        deciding = [self.slots[name] for name in self.target.decides if name in self.slots]
        if any(slot.value.kind == "required" for slot in deciding):
            return None  # every caller passes it: counted at the callers that pass it unsafe
        problem = self.target.problem(self.slots, names)
        if problem is None:
            return None
        if self.callee is None:
            message = f"`{self.shown}` {problem}{self.target.consequence}"
        elif any(slot.explicit for slot in deciding):
            path, line = self.origin
            message = (
                f"this call of `{self.callee}` reaches `{self.shown}` ({path}:{line}), which "
                f"{problem}{self.target.consequence}"
            )
        else:
            return None  # the function's own default decides: counted at the library call
        return self.target.rule.at(self.path, self.line, message)


@dataclass(frozen=True)
class CallRecord:
    """A call that may be of a same-repository function, kept (without its syntax tree) until
    every file has been read."""

    path: str
    line: int
    function: str | None
    name: str
    arguments: Arguments

    @classmethod
    def of(cls, module: Module, call: ast.Call, name: str) -> CallRecord:
        scope = module.scope_of(call)
        function = scope.name if scope is not None and scope.top_level else None
        return cls(module.path, call.lineno, function, name, module.arguments(call))

    def through(self, signature: Signature, site: Site) -> Site:
        """SITE, a library call inside the function this record calls, as this call makes it."""
        named = dict(zip(signature.positional, self.arguments.positional, strict=False))
        extra: dict[str, Slot] = {}
        for key, slot in self.arguments.keywords.items():
            (named if key in signature.names else extra)[key] = slot
        slots = {}
        for name, slot in site.slots.items():
            supplied = (
                named.get(slot.parameter)
                if slot.parameter
                else extra.get(slot.keyword)
                if slot.keyword
                else None
            )
            slots[name] = self._as_passed(slot, supplied)
        callee = self.name.rsplit(".", 1)[-1]
        return replace(
            site, path=self.path, line=self.line, function=self.function, slots=slots, callee=callee
        )

    def _as_passed(self, slot: Slot, supplied: Slot | None) -> Slot:
        """SLOT as this call leaves it: what it SUPPLIED, else what the function decides, which
        this call's own caller may still supply through the **kwargs it passes on."""
        if supplied is not None:
            return replace(supplied, explicit=True)
        if slot.forwarded and self.arguments.forwards is not None:
            return Slot(slot.value, keyword=slot.keyword or slot.parameter, explicit=False)
        return Slot(slot.value, explicit=False, written=slot.written)


Resolve = Callable[[str, str], tuple[str, str] | None]


def through_wrappers(
    sites: Iterable[Site],
    records: list[CallRecord],
    resolve: Resolve,
    signature: Callable[[tuple[str, str]], Signature | None],
) -> list[Site]:
    """The sites that RECORDS make by calling functions that pass arguments on to a library
    call, to any depth: a caller that passes its own parameter on becomes such a function too."""
    wrapped: dict[tuple[str, str], list[Site]] = defaultdict(list)

    def register(site: Site) -> bool:
        if site.function is None or not site.forwards:
            return False
        known = wrapped[(site.path, site.function)]
        if any(other.target is site.target and other.origin == site.origin for other in known):
            return False
        known.append(site)
        return True

    for site in sites:
        register(site)
    reached: list[Site] = []
    done: set[tuple[int, int]] = set()
    changed = True
    while changed:
        changed = False
        names = {function for _, function in wrapped}
        for number, record in enumerate(records):
            if record.name.rsplit(".", 1)[-1] not in names:
                continue
            key = resolve(record.name, record.path)
            found = signature(key) if key is not None else None
            for site in list(wrapped.get(key, ())) if key is not None else ():
                if found is None or (number, id(site)) in done:
                    continue
                done.add((number, id(site)))
                passed = record.through(found, site)
                reached.append(passed)
                changed |= register(passed)
    return reached
