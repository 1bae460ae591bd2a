"""Downloads from a model hub: without a pinned revision (HM306), running remote code (HM307).

HM306 judges `*.from_pretrained(...)` in files that import a Hugging Face library (transformers,
diffusers, peft, huggingface_hub, datasets, ...; bandit's B615 asks the same of transformers),
`hf_hub_download`, `snapshot_download`, `datasets.load_dataset` and `torch.hub.load`. A call is
pinned by `revision=` a full 40-hex commit hash (a literal, or a module-level constant of this
repository it names), by `local_files_only=True`, or, for `torch.hub.load`, by `owner/repo:<commit>`
or `source="local"`. Bandit takes 7 hex digits as a commit; a short hash is ambiguous, so HM306
does not. A call that does not download is not reported: a first argument that is a local path
(`./x`, `/x`, `~/x`, two or more slashes, a file name such as `model.pt`, a first folder such as
`data/` or `checkpoints/`, a path built with `/`, `Path`, `os.path`), a name that says it holds
one (`model_dir`, `ckpt_path`, `tmp`; `model_name_or_path` may be either and counts as a hub id),
`load_dataset`'s packaged builders (`csv`, `json`, `parquet`, ...) and an override of
`from_pretrained` calling the library's. Bandit reports those too; they are not downloads.
peft's `PeftModel.from_pretrained(base, adapter)` is judged by its adapter.

HM307 reports `trust_remote_code=True` in any call (or a parameter defaulting to True passed as
it, or a `{"trust_remote_code": True}` literal); a caller passing True to such a parameter of a
same-repository function is reported at its call.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from pathlib import PurePosixPath

from hermetic.audit.model import Finding, Rule, Severity
from hermetic.audit.rules.python_calls import Names, Problem, Target
from hermetic.audit.rules.python_loads import is_true, setting
from hermetic.audit.rules.python_names import Module
from hermetic.audit.rules.python_values import Slot, names_a_path

UNPINNED_DOWNLOAD = Rule(
    "HM306",
    "unpinned-hub-download",
    "Model or data set downloaded from a hub without a pinned revision",
    Severity.WARNING,
    "Pass revision= a full 40-character commit hash (torch.hub: `owner/repo:<commit>`), or load "
    "from a local directory that the pipeline versions (DVC).",
)
TRUST_REMOTE_CODE = Rule(
    "HM307",
    "trust-remote-code",
    "trust_remote_code=True runs code downloaded with a model",
    Severity.ERROR,
    "Drop trust_remote_code=True where the library supports the architecture natively; "
    "otherwise pin revision= to a commit hash whose code you have reviewed, or vendor that code.",
)

HF_LIBRARIES = frozenset(
    {"transformers", "diffusers", "peft", "huggingface_hub", "optimum", "trl", "datasets"}
    | {"sentence_transformers", "setfit"}
)
COMMIT = re.compile(r"[0-9a-fA-F]{40}")
HUB_ID = re.compile(r"[\w.-]+(/[\w.-]+)?")
FILE_SUFFIXES = frozenset(
    {".json", ".jsonl", ".bin", ".pt", ".pth", ".ckpt", ".safetensors", ".onnx", ".h5", ".pkl"}
    | {".yaml", ".yml", ".txt", ".csv", ".tsv", ".parquet", ".arrow", ".py", ".gguf", ".zip"}
    | {".gz", ".tar", ".model"}
)
LOCAL_FOLDERS = frozenset(
    {"data", "datasets", "models", "model", "checkpoints", "ckpt", "ckpts", "outputs", "output"}
    | {"weights", "runs", "results", "artifacts", "tmp", "cache", "exp", "experiments", "logs"}
    | {"saved_models", "pretrained", "assets", "resources"}
)
PACKAGED_BUILDERS = frozenset(
    {"csv", "json", "parquet", "text", "arrow", "pandas", "imagefolder", "audiofolder"}
    | {"videofolder", "webdataset", "generator", "sql", "xml", "spark", "pdffolder", "cache"}
)
CONSEQUENCE = ", so what it gets can change under the same name"


def looks_local(text: str) -> bool:
    """TEXT is a path on this machine rather than a hub id (`owner/name` or `name`)."""
    if not HUB_ID.fullmatch(text) or text in {".", ".."} or text.startswith("."):
        return True
    folder, slash, _ = text.partition("/")
    suffix = PurePosixPath(text).suffix.lower()
    return bool(slash and folder.lower() in LOCAL_FOLDERS) or suffix in FILE_SUFFIXES


def downloads(slot: Slot | None, names: Names, builders: frozenset[str] = frozenset()) -> bool:
    """The first argument SLOT names something to download, as far as the code tells."""
    if slot is None or slot.value.kind in {"absent", "splat", "local"}:
        return False
    text = names.string(slot.value)
    if text is not None:
        return not looks_local(text) and text not in builders
    return slot.value.kind != "constant" and not names_a_path(slot.text)


def revision_problem(slots: Mapping[str, Slot], names: Names) -> str | None:
    if is_true(slots.get("local_files_only")):
        return None
    slot = slots.get("revision")
    if slot is None or slot.value.kind == "absent" or slot.value.text == "None":
        return "with no revision="
    if slot.value.kind == "splat":
        return "with revision= only in **kwargs, if at all"
    text = names.string(slot.value)
    if text is None:
        return f"at {setting('revision', slot)}, not a literal commit hash"
    return None if COMMIT.fullmatch(text) else f"at revision={text!r}, a branch or tag"


def download_problem(subject: str, builders: frozenset[str] = frozenset()) -> Problem:
    def problem(slots: Mapping[str, Slot], names: Names) -> str | None:
        if not downloads(slots.get(subject), names, builders):
            return None
        revision = revision_problem(slots, names)
        return None if revision is None else f"downloads {shown(slots[subject], names)} {revision}"

    return problem


def shown(slot: Slot, names: Names) -> str:
    """SLOT as written, with the string it names: `MODEL_ID ('org/model')`."""
    text = names.string(slot.value)
    if text is None or slot.value.kind == "constant":
        return slot.text
    return f"{slot.text} ({text!r})"


def torch_hub_problem(slots: Mapping[str, Slot], names: Names) -> str | None:
    source = slots.get("source")
    if source is not None and names.string(source.value) == "local":
        return None
    subject = slots.get("repo_or_dir")
    if subject is None:
        return None
    text = names.string(subject.value)
    if text is None:
        return f"loads {subject.text} with no :<commit>" if downloads(subject, names) else None
    repository, _, ref = text.partition(":")
    if looks_local(repository) or COMMIT.fullmatch(ref):
        return None
    where = f"{ref!r}, a branch or tag" if ref else "its default branch"
    return f"loads {repository!r} at {where}"


def trust_problem(slots: Mapping[str, Slot], names: Names) -> str | None:
    slot = slots.get("trust_remote_code")
    return f"sets {setting('trust_remote_code', slot)}" if slot and is_true(slot) else None


def _download(*parameters: str, subject: int = 0, builders: frozenset[str] = frozenset()) -> Target:
    problem = download_problem(parameters[subject], builders)
    return Target(UNPINNED_DOWNLOAD, parameters, ("revision",), problem, CONSEQUENCE)


PRETRAINED = _download("pretrained_model_name_or_path")
ADAPTER = _download(
    "model", "model_id", subject=1
)  # peft's PeftModel.from_pretrained(base, adapter)
HUB_FILE = _download("repo_id", "filename")
SNAPSHOT = _download("repo_id")
DATASET = _download("path", "name", builders=PACKAGED_BUILDERS)
TORCH_HUB = Target(
    UNPINNED_DOWNLOAD, ("repo_or_dir", "model"), ("source",), torch_hub_problem, CONSEQUENCE
)
TRUST = Target(
    TRUST_REMOTE_CODE,
    (),
    ("trust_remote_code",),
    trust_problem,
    ", so loading runs Python code from the model's repository",
)
HUB_FUNCTIONS = {"hf_hub_download": HUB_FILE, "snapshot_download": SNAPSHOT}
DOWNLOADS = {
    "datasets.load_dataset": DATASET,
    "datasets.load.load_dataset": DATASET,
    "torch.hub.load": TORCH_HUB,
}


def targets(module: Module, call: ast.Call, name: str) -> list[Target]:
    """The hub targets a call of NAME reaches (NAME is empty when it has none)."""
    found = []
    last = name.rsplit(".", 1)[-1]
    if name in DOWNLOADS and module.binds(call.func):
        found.append(DOWNLOADS[name])
    elif last in HUB_FUNCTIONS and (
        name.startswith("huggingface_hub.") or module.imports("huggingface_hub")
    ):
        found.append(HUB_FUNCTIONS[last])
    elif _is_from_pretrained(module, call, name):
        owner = call.func.value if isinstance(call.func, ast.Attribute) else call.func
        owner_name = owner.attr if isinstance(owner, ast.Attribute) else ""
        owner_name = owner.id if isinstance(owner, ast.Name) else owner_name
        found.append(ADAPTER if owner_name.startswith(("Peft", "AutoPeft")) else PRETRAINED)
    if any(keyword.arg == "trust_remote_code" for keyword in call.keywords):
        found.append(TRUST)
    return found


def _is_from_pretrained(module: Module, call: ast.Call, name: str) -> bool:
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "from_pretrained"):
        return False
    scope = module.scope_of(call)
    if scope is not None and scope.name == "from_pretrained":
        return False  # an override handing its caller's arguments to the library's
    return name.split(".", 1)[0] in HF_LIBRARIES or module.imports(*HF_LIBRARIES)


def trusting_dictionaries(module: Module) -> Iterator[Finding]:
    """`{"trust_remote_code": True}` literals, as passed in model_kwargs and the like."""
    for node in module.kinds["dict"]:
        if isinstance(node, ast.Dict) and any(
            isinstance(key, ast.Constant)
            and key.value == "trust_remote_code"
            and isinstance(value, ast.Constant)
            and value.value is True
            for key, value in zip(node.keys, node.values, strict=True)
        ):
            message = f"`{{'trust_remote_code': True}}`{TRUST.consequence}"
            yield TRUST_REMOTE_CODE.at(module.path, node.lineno, message)
