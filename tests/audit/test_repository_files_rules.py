"""HM501 notebooks and HM502 large data committed to git."""

from __future__ import annotations

from pathlib import Path

import pytest

from hermetic.audit.engine import run_audit
from hermetic.audit.rules.repository_files import file_kind
from tests.audit.planting import commit_all, found, plant

MIB = 1024 * 1024


def test_a_notebook_is_reported_wherever_it_is(tmp_path: Path) -> None:
    plant(tmp_path, {"analysis.ipynb": "{}", "docs/explore/EDA.IPYNB": "{}", "notes.md": "x"})
    assert found(tmp_path, "HM5") == {
        ("HM501", "analysis.ipynb", 1),
        ("HM501", "docs/explore/EDA.IPYNB", 1),
    }


def test_a_notebook_in_a_virtualenv_or_ignored_by_git_is_not(tmp_path: Path) -> None:
    plant(tmp_path, {".venv/lib/x.ipynb": "{}", ".gitignore": "scratch/\n", "scratch/a.ipynb": ""})
    commit_all(tmp_path)
    assert found(tmp_path, "HM5") == set()


def test_large_data_tracked_by_git_is_reported_and_small_or_dvc_managed_is_not(
    tmp_path: Path,
) -> None:
    plant(
        tmp_path,
        {
            "data/train.parquet": b"\1" * (2 * MIB),  # over the 1 MiB limit for data
            "data/small.csv": b"a,b\n" * 100,
            "models/model.pt": b"\2" * (MIB // 2),
            "assets/video.txt": b"x" * (11 * MIB),  # any file over 10 MiB
            "assets/readme.txt": b"x" * (2 * MIB),  # not data, under 10 MiB
            ".gitignore": "/data/raw.csv\n",
            "data/raw.csv": b"\3" * (3 * MIB),  # ignored by git, so DVC's to manage
        },
    )
    commit_all(tmp_path)
    assert found(tmp_path, "HM502") == {
        ("HM502", "data/train.parquet", 1),
        ("HM502", "assets/video.txt", 1),
    }


def test_outside_git_nothing_is_in_git(tmp_path: Path) -> None:
    plant(tmp_path, {"data/train.parquet": b"\1" * (2 * MIB)})
    assert found(tmp_path, "HM502") == set()


def test_outside_git_a_virtualenv_is_never_read(tmp_path: Path) -> None:
    plant(tmp_path, {".venv/lib/x.ipynb": "{}", "node_modules/y/z.ipynb": "{}", "a.ipynb": "{}"})
    assert found(tmp_path, "HM501") == {("HM501", "a.ipynb", 1)}


# Real shapes of data, model and archive files, by their full names.
DATA_MODEL_AND_ARCHIVE_SHAPES = {
    "data/train.tfrecord-00000-of-00010": "data file",
    "data/train.record": "data file",
    "data/hf/data-00000-of-00003.arrow": "data file",
    "data/mnist/train-images-idx3-ubyte": "data file",
    "data/uci/iris.data": "data file",
    "data/train.csv.1": "data file",
    "runs/events.out.tfevents.1700000000.host.1234.0": "data file",
    "export/saved_model.pb": "model file",
    "export/variables/variables.data-00000-of-00001": "model file",
    "export/variables/variables.index": "model file",
    "export/graph.pbtxt": "model file",
    "ckpt/model.ckpt.index": "model file",
    "ckpt/model.ckpt-1000.meta": "model file",
    "ckpt/model.ckpt-1000.data-00000-of-00001": "model file",
    "ckpt/epoch=3-step=1000.ckpt": "model file",
    "hf/model-00001-of-00004.safetensors": "model file",
    "models/model.safetensors": "model file",
    "models/model.onnx": "model file",
    "models/llama-7b.Q4_K_M.gguf": "model file",
    "models/model.tflite": "model file",
    "models/Classifier.mlmodel": "model file",
    "models/resnet-0000.params": "model file",
    "models/yolov4.weights": "model file",
    "models/tokenizer.model": "model file",
    "archives/corpus.tar.gz": "archive",
    "archives/corpus.tgz": "archive",
    "archives/images.rar": "archive",
    "archives/images.7z": "archive",
    "archives/dump.jsonl.zst": "archive",
    "archives/dump.csv.bz2": "archive",
    "archives/dump.xz": "archive",
    "archives/best.pth.tar": "archive",
}
NEITHER_DATA_NOR_MODEL = [
    "lib/libpython3.11.so.1.0",
    "docs/search.index",
    "docs/part-1-of-2.md",
    "assets/logo.png",
    "README",
    "src/version.1.2.txt",
]


@pytest.mark.parametrize(("path", "kind"), DATA_MODEL_AND_ARCHIVE_SHAPES.items())
def test_a_file_is_classified_by_its_full_name(path: str, kind: str) -> None:
    assert file_kind(path) == kind
    assert file_kind(path.upper()) == kind


@pytest.mark.parametrize("path", NEITHER_DATA_NOR_MODEL)
def test_other_files_are_no_data(path: str) -> None:
    assert file_kind(path) is None


def test_every_real_shape_over_one_mib_is_reported_and_other_files_are_not(
    tmp_path: Path,
) -> None:
    over_data_limit = b"\1" * (MIB + 1)
    paths = [*DATA_MODEL_AND_ARCHIVE_SHAPES, *NEITHER_DATA_NOR_MODEL]
    plant(tmp_path, dict.fromkeys(paths, over_data_limit))
    commit_all(tmp_path)
    assert found(tmp_path, "HM502") == {
        ("HM502", path, 1) for path in DATA_MODEL_AND_ARCHIVE_SHAPES
    }


def test_the_message_says_what_kind_of_file_it_is(tmp_path: Path) -> None:
    plant(tmp_path, {"data/train.tfrecord-00000-of-00001": b"\1" * (2 * MIB)})
    commit_all(tmp_path)
    [finding] = run_audit(tmp_path, ["HM502"]).findings
    assert finding.message == "data file of 2.0 MiB tracked by git (limit 1 MiB)"
