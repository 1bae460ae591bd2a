"""HM501 notebooks and HM502 large data committed to git."""

from __future__ import annotations

from pathlib import Path

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
