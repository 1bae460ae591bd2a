"""Files that should not be in the repository: notebooks, and large data committed to git."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath

from hermetic.audit.model import Finding, Rule, Severity
from hermetic.audit.repository import Repository

NOTEBOOK = Rule(
    "HM501",
    "notebook",
    "Notebook in the repository",
    Severity.WARNING,
    "Move the code into modules under src/ with tests, and run it as a pipeline stage or a "
    "script; hidden state and out-of-order cells make notebooks unreproducible.",
)
LARGE_DATA_IN_GIT = Rule(
    "HM502",
    "large-data-in-git",
    "Large data or model file committed to git instead of DVC",
    Severity.ERROR,
    "`git rm --cached PATH`, then `dvc add PATH` (or make it a `dvc.yaml` stage output) and "
    "commit the .dvc file; git keeps every version of a binary forever.",
)
RULES = (NOTEBOOK, LARGE_DATA_IN_GIT)

# Data, model and archive formats: committed to git, these are data, not source.
DATA_SUFFIXES = frozenset(
    {
        ".arrow", ".avro", ".bin", ".bz2", ".ckpt", ".csv", ".feather", ".gz", ".h5", ".hdf5",
        ".joblib", ".jsonl", ".npy", ".npz", ".onnx", ".orc", ".parquet", ".pb", ".pickle",
        ".pkl", ".pt", ".pth", ".safetensors", ".tar", ".tfrecord", ".tsv", ".xlsx", ".xz",
        ".zip", ".zst",
    }
)  # fmt: skip
DATA_FILE_LIMIT_BYTES = 1024 * 1024
ANY_FILE_LIMIT_BYTES = 10 * 1024 * 1024


def check(repository: Repository) -> Iterator[Finding]:
    for path in repository.files:
        if PurePosixPath(path).suffix.lower() == ".ipynb":
            yield NOTEBOOK.at(path, 1, f"{path} is a Jupyter notebook")
    for path in repository.files:
        finding = _large_in_git(repository, path)
        if finding is not None:
            yield finding


def _large_in_git(repository: Repository, path: str) -> Finding | None:
    if path not in repository.tracked or repository.managed_by_dvc(path):
        return None
    size = repository.size(path)
    is_data = PurePosixPath(path).suffix.lower() in DATA_SUFFIXES
    limit = DATA_FILE_LIMIT_BYTES if is_data else ANY_FILE_LIMIT_BYTES
    if size <= limit:
        return None
    kind = "data/model file" if is_data else "file"
    return LARGE_DATA_IN_GIT.at(
        path, 1, f"{kind} of {size / 1024 / 1024:.1f} MiB tracked by git (limit {limit >> 20} MiB)"
    )
