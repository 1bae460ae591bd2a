"""A generated project adopted for a real dataset, as a team does it: the data file in and
versioned with DVC, the contract written by `contract infer`, the data stage pointed at the file.

The datasets ship inside PyPI packages installed in the tool's test environment only (never in a
generated project): scikit-learn's copies of the Wisconsin diagnostic breast cancer data (UCI,
CC BY 4.0) and of the Efron et al. (2004) diabetes data (scikit-learn, BSD-3-Clause), and the
Palmer penguins (palmerpenguins, data CC0). Shared by the adoption tests and benchmark.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from palmerpenguins import load_penguins
from sklearn.datasets import load_breast_cancer, load_diabetes

from tests.helpers import git, read_answers, run_command

# The demo's data stage, as the template writes it: a team deletes it and reads its own file.
SAMPLE_STAGE = re.compile(r"^  sample:\n(?:^    .*\n)+", re.MULTILINE)
DEMO_RAW_FILE = "data/raw/dataset.parquet"


def _breast_cancer() -> pd.DataFrame:
    bunch = load_breast_cancer(as_frame=True)
    frame: pd.DataFrame = bunch.frame.drop(columns="target")
    frame.insert(0, "patient", [f"patient-{index:04d}" for index in range(len(frame))])
    frame["diagnosis"] = pd.Series(bunch.target_names[bunch.target], dtype="str")
    return frame


def _penguins() -> pd.DataFrame:
    # The published table has rows with missing measurements; a data source drops them.
    frame = load_penguins().dropna().reset_index(drop=True)
    frame.insert(0, "penguin", [f"penguin-{index:03d}" for index in range(len(frame))])
    return frame


def _diabetes() -> pd.DataFrame:
    frame: pd.DataFrame = load_diabetes(as_frame=True, scaled=False).frame.rename(
        columns={"target": "progression"}
    )
    frame.insert(0, "patient", [f"patient-{index:03d}" for index in range(len(frame))])
    return frame


@dataclass(frozen=True)
class Dataset:
    name: str
    file_name: str  # in data/raw/; its suffix says the format
    identifier: str
    label: str
    label_kind: str
    infer_options: tuple[str, ...]  # what the label's values cannot say by themselves
    # The test metric a model must beat on it (real data, the template's default parameters).
    metric: str
    floor: float
    rows: Callable[[], pd.DataFrame]

    def write(self, directory: Path) -> Path:
        path = directory / self.file_name
        frame = self.rows()
        if path.suffix == ".csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        return path


DATASETS = {
    dataset.name: dataset
    for dataset in (
        Dataset(
            "breast-cancer", "breast_cancer.parquet", "patient", "diagnosis", "binary",
            ("--positive-class", "malignant"), "auc", 0.95, _breast_cancer,
        ),
        Dataset(
            "penguins", "penguins.csv", "penguin", "species", "multiclass",
            (), "accuracy", 0.9, _penguins,
        ),
        Dataset(
            "diabetes", "diabetes.parquet", "patient", "progression", "regression",
            (), "r2", 0.3, _diabetes,
        ),
    )
}  # fmt: skip


def project_command(project: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """The project's own tools (`uv run --frozen ...`), whatever their exit status."""
    return run_command(["uv", "run", "--frozen", *arguments], project)


def _checked(completed: subprocess.CompletedProcess[str]) -> str:
    assert completed.returncode == 0, (
        f"`{' '.join(map(str, completed.args))}` exited {completed.returncode}\n"
        f"{completed.stdout}\n{completed.stderr}"
    )
    return completed.stdout + completed.stderr


def point_the_pipeline_at(project: Path, raw: str) -> None:
    """The hand edit of dvc.yaml: no demo source; `prepare` reads RAW."""
    pipeline = project / "dvc.yaml"
    text, count = SAMPLE_STAGE.subn("", pipeline.read_text(encoding="utf-8"), count=1)
    assert count == 1, "the template's dvc.yaml has its `sample` stage"
    assert DEMO_RAW_FILE in text
    pipeline.write_text(text.replace(DEMO_RAW_FILE, raw), encoding="utf-8")


@dataclass(frozen=True)
class Adoption:
    dataset: Dataset
    project: Path
    inferred: str  # what `contract infer` printed


def adopt(project: Path, dataset: Dataset) -> Adoption:
    """Adopt PROJECT (a clean clone of a generated project) for DATASET and commit; push the
    data file to the project's DVC remote, so that another clone can pull it."""
    package = read_answers(project)["package_name"]
    raw = f"data/raw/{dataset.file_name}"
    dataset.write(project / "data" / "raw")
    _checked(project_command(project, "dvc", "add", raw))
    inferred = _checked(
        project_command(
            project, package, "contract", "infer", raw,
            "--identifier", dataset.identifier, "--label", dataset.label, *dataset.infer_options,
        )
    )  # fmt: skip
    point_the_pipeline_at(project, raw)
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "-m", f"Adopt the {dataset.name} data", cwd=project)
    _checked(project_command(project, "dvc", "push", f"{raw}.dvc"))
    return Adoption(dataset, project, inferred)


def changed_files(project: Path) -> dict[str, tuple[int, int]]:
    """Files the adoption commit changed: (lines added, lines removed) of each."""
    numstat = git("diff", "--numstat", "HEAD~1", "HEAD", cwd=project)
    changes = {}
    for line in numstat.splitlines():
        added, removed, path = line.split("\t")
        changes[path] = (int(added), int(removed))
    return changes
