"""Files that should not be in the repository: notebooks, and large data committed to git."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator

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

DATA_FILE = "data file"
MODEL_FILE = "model file"
ARCHIVE = "archive"
# What a file is, by the last suffix of its name that says it (see file_kind).
KIND_BY_SUFFIX = {
    **dict.fromkeys(
        (
            ".arrow", ".avro", ".bin", ".csv", ".dat", ".data", ".db", ".dta", ".duckdb",
            ".faiss", ".feather", ".hdf", ".jsonl", ".lmdb", ".mat", ".mdb", ".nc", ".ndjson",
            ".npy", ".npz", ".orc", ".parquet", ".pickle", ".pkl", ".rda", ".rdata", ".rds",
            ".record", ".sas7bdat", ".sqlite", ".sqlite3", ".tfrec", ".tfrecord", ".tfrecords",
            ".tsv", ".vec", ".xls", ".xlsx",
        ),
        DATA_FILE,
    ),
    **dict.fromkeys(
        (
            ".bst", ".caffemodel", ".cbm", ".ckpt", ".gguf", ".ggml", ".h5", ".hdf5", ".joblib",
            ".keras", ".mar", ".mlmodel", ".model", ".msgpack", ".nemo", ".onnx", ".ort",
            ".params", ".pb", ".pbtxt", ".pdiparams", ".pdmodel", ".pdparams", ".pt", ".pth",
            ".ptl", ".safetensors", ".tflite", ".torchscript", ".trt", ".weights", ".xgb",
        ),
        MODEL_FILE,
    ),
    **dict.fromkeys(
        (
            ".7z", ".bz2", ".gz", ".lz4", ".lzma", ".rar", ".tar", ".tbz", ".tbz2", ".tgz",
            ".txz", ".xz", ".zip", ".zst", ".zstd",
        ),
        ARCHIVE,
    ),
}  # fmt: skip
# Suffixes that wrap the one before them: `model.ckpt.index`, `train.csv.bak`, `x.npy.1`.
WRAPPER_SUFFIX = re.compile(r"\.(?:index|meta|bak|old|orig|tmp|part|\d+)")
# A shard of a sharded dataset or checkpoint: `train.tfrecord-00000-of-00010`,
# `variables.data-00000-of-00001`, `model-00001-of-00004.safetensors`.
SHARD = re.compile(r"[-_.]\d{3,}-of-\d{3,}(?=\.|$)")
STEP_NUMBER = re.compile(r"[-_]\d+$")  # `.ckpt-1000`: a checkpoint of step 1000
NAMED_KINDS = (
    (re.compile(r"(?:.*\.)?tfevents\..*"), DATA_FILE),  # TensorBoard event logs
    (re.compile(r".*-idx\d-ubyte"), DATA_FILE),  # MNIST-style IDX arrays
    (re.compile(r"variables\.index"), MODEL_FILE),  # TensorFlow SavedModel
)
DATA_FILE_LIMIT_BYTES = 1024 * 1024
ANY_FILE_LIMIT_BYTES = 10 * 1024 * 1024


def file_kind(path: str) -> str | None:
    """What PATH's full name says it is: a data file, a model file, an archive; else None.

    Looks past shard numbers, checkpoint step numbers and wrapping suffixes
    (`model.ckpt-1000.index` is a model file, `train.csv.gz` an archive)."""
    name = posixpath.basename(path).lower()
    for pattern, named_kind in NAMED_KINDS:
        if pattern.fullmatch(name):
            return named_kind
    unsharded = SHARD.sub("", name)
    if unsharded != name and (".ckpt" in name or name.startswith("variables.")):
        return MODEL_FILE  # a TensorFlow checkpoint's or SavedModel's variables
    kind = _kind_by_suffixes(unsharded)
    return DATA_FILE if kind is None and unsharded != name else kind


def _kind_by_suffixes(name: str) -> str | None:
    """The kind the last telling suffix of NAME gives, looking past wrapping suffixes."""
    for suffix in reversed([f".{part}" for part in name.lstrip(".").split(".")[1:]]):
        kind = KIND_BY_SUFFIX.get(STEP_NUMBER.sub("", suffix))
        if kind is not None or not WRAPPER_SUFFIX.fullmatch(suffix):
            return kind
    return None


def check(repository: Repository) -> Iterator[Finding]:
    for path in repository.files:
        name = path.rpartition("/")[2]
        if len(name) > len(".ipynb") and name[-6:].lower() == ".ipynb":
            yield NOTEBOOK.at(path, 1, f"{path} is a Jupyter notebook")
    for path in repository.files:
        finding = _large_in_git(repository, path)
        if finding is not None:
            yield finding


def _large_in_git(repository: Repository, path: str) -> Finding | None:
    if path not in repository.tracked or repository.managed_by_dvc(path):
        return None
    size = repository.size(path)
    if size <= DATA_FILE_LIMIT_BYTES:
        return None
    kind = file_kind(path)
    limit = ANY_FILE_LIMIT_BYTES if kind is None else DATA_FILE_LIMIT_BYTES
    if size <= limit:
        return None
    message = f"{kind or 'file'} of {size / 1024 / 1024:.1f} MiB tracked by git"
    return LARGE_DATA_IN_GIT.at(path, 1, f"{message} (limit {limit >> 20} MiB)")
