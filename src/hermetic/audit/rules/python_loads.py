"""Deserialisation that can run code: pickle and its kin (HM301), torch.load (HM302), yaml (HM308).

- HM301 reports calls only: subclassing `pickle.Unpickler` to restrict `find_class` is the cure.
  `numpy.load` counts only with `allow_pickle=True` (its default is safe).
- HM302 wants a literal `weights_only=True`; a function parameter counts by its default. It also
  judges `ultralytics.utils.patches.torch_load`, which yolov5 and others import: it defaults to
  weights_only=False, so each call that does not pass True is reported.
- HM308 accepts `Loader=` yaml's `SafeLoader`, `CSafeLoader`, `BaseLoader`, `CBaseLoader`, a
  same-repository class derived from one of them, and `getattr(yaml, "CSafeLoader", ...)`;
  anything else (FullLoader, UnsafeLoader, Loader, no Loader, a name it cannot follow) is reported,
  and so are `yaml.unsafe_load` and `yaml.full_load` and their `_all` forms.
"""

from __future__ import annotations

from collections.abc import Mapping

from hermetic.audit.model import Rule, Severity
from hermetic.audit.rules.python_calls import Names, Problem, Target
from hermetic.audit.rules.python_names import canonical
from hermetic.audit.rules.python_values import Slot

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
UNSAFE_YAML_LOAD = Rule(
    "HM308",
    "unsafe-yaml-load",
    "yaml.load with a loader that can build arbitrary Python objects",
    Severity.ERROR,
    "Use yaml.safe_load, or pass Loader=yaml.SafeLoader (or yaml.CSafeLoader, or a subclass of "
    "either for custom tags).",
)

PICKLE_LOADERS = frozenset(
    [f"{module}.{kind}" for module in ("pickle", "dill") for kind in ("load", "loads", "Unpickler")]
    + ["cloudpickle.load", "cloudpickle.loads", "joblib.load", "pandas.read_pickle"]
    + ["compress_pickle.load", "compress_pickle.loads"]
)
SAFE_LOADERS = frozenset(
    f"yaml.{module}{kind}"
    for module in ("", "loader.", "cyaml.")
    for kind in ("SafeLoader", "CSafeLoader", "BaseLoader", "CBaseLoader")
)


def _always(problem: str) -> Problem:
    return lambda slots, names: problem


def setting(name: str, slot: Slot) -> str:
    """How SLOT sets NAME: `weights_only=False`, or `weights_only=trusted (default False)` when
    a parameter of the enclosing function supplies it."""
    shown = slot.parameter and slot.value.kind not in {"other", "required"}
    default = f" (default {slot.value.text})" if shown else ""
    return f"{name}={slot.text}{default}"


def is_true(slot: Slot | None) -> bool:
    return slot is not None and slot.value.kind == "constant" and slot.value.constant is True


def allow_pickle_problem(slots: Mapping[str, Slot], names: Names) -> str | None:
    slot = slots.get("allow_pickle")
    return f"sets {setting('allow_pickle', slot)}" if slot and is_true(slot) else None


def weights_only_problem(slots: Mapping[str, Slot], names: Names) -> str | None:
    """Why weights_only is not a literal True, or None when it is."""
    slot = slots.get("weights_only")
    if slot is None or slot.value.kind == "absent":
        return "has no weights_only=True"
    if slot.value.kind == "splat":
        return "sets weights_only only through **kwargs, if at all"
    if is_true(slot):
        return None
    if slot.value.kind == "constant" and not slot.parameter:
        return f"sets weights_only={slot.text}"
    return f"sets {setting('weights_only', slot)}, not a literal True"


def defaults_off_problem(slots: Mapping[str, Slot], names: Names) -> str | None:
    """A library wrapper whose own default is weights_only=False."""
    slot = slots.get("weights_only")
    if slot is None or slot.value.kind == "absent":
        return "defaults to weights_only=False"
    return weights_only_problem(slots, names)


def loader_problem(slots: Mapping[str, Slot], names: Names) -> str | None:
    slot = slots.get("Loader")
    if slot is None or slot.value.kind == "absent" or slot.value.text == "None":
        return "has no Loader=yaml.SafeLoader"
    if slot.value.kind == "splat":
        return "sets Loader only through **kwargs, if at all"
    return None if names.is_safe_loader(slot.value) else f"uses {setting('Loader', slot)}"


PICKLE = Target(
    UNSAFE_DESERIALISATION, (), (), _always("can run arbitrary code hidden in the data it reads")
)
NUMPY = Target(
    UNSAFE_DESERIALISATION,
    ("file", "mmap_mode", "allow_pickle"),
    ("allow_pickle",),
    allow_pickle_problem,
    ", so it unpickles object arrays, running code",
)
TORCH = Target(
    TORCH_LOAD,
    ("f", "map_location", "pickle_module"),
    ("weights_only",),
    weights_only_problem,
    ", so it may unpickle arbitrary objects",
)
# ultralytics.utils.patches.torch_load (imported by yolov5 and others) fills in weights_only=False.
TORCH_OFF = Target(
    TORCH_LOAD,
    ("f", "map_location", "pickle_module"),
    ("weights_only",),
    defaults_off_problem,
    ", so it may unpickle arbitrary objects",
)
YAML_CONSEQUENCE = ", so the document can build arbitrary Python objects"
YAML = Target(UNSAFE_YAML_LOAD, ("stream", "Loader"), ("Loader",), loader_problem, YAML_CONSEQUENCE)
YAML_UNSAFE = Target(
    UNSAFE_YAML_LOAD, (), (), _always("uses a loader that is not safe"), YAML_CONSEQUENCE
)
TARGETS: dict[str, Target] = {
    **dict.fromkeys(PICKLE_LOADERS, PICKLE),
    "numpy.load": NUMPY,
    "torch.load": TORCH,
    "torch.serialization.load": TORCH,
    "ultralytics.utils.patches.torch_load": TORCH_OFF,
    "yaml.load": YAML,
    "yaml.load_all": YAML,
    **{
        f"yaml.{kind}_load{suffix}": YAML_UNSAFE
        for kind in ("unsafe", "full")
        for suffix in ("", "_all")
    },
}


def targets(name: str) -> list[Target]:
    """The deserialisation targets a call of NAME reaches."""
    target = TARGETS.get(canonical(name))
    return [] if target is None else [target]
