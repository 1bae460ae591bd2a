"""Which files are requirements files, in the names real repositories give them, and what
is not one; nightly-only distributions asked for by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audit.planting import plant
from tests.audit.test_dependency_rules import HASH, findings


@pytest.mark.parametrize(
    "path",
    [
        "requirement.txt",
        "requirement-dev.txt",
        "Requirements.txt",
        "REQUIREMENTS-GPU.TXT",
        "requirements_dev.txt",
        "requirements.cpu.txt",
        "dev-requirements.txt",
        "docs/doc.requirements.txt",
        "test-requirements-py3.txt",
        "ci/pip_requirements_gpu.txt",
        "requirements/Base.txt",
        "Requirements/base.txt",
        "requirement/prod.txt",
        "constraints-gpu.txt",
    ],
)
def test_requirements_files_are_found_by_their_real_names(tmp_path: Path, path: str) -> None:
    plant(tmp_path, {path: "numpy>=2\n"})
    found = findings(tmp_path, "HM104")
    assert found == (set() if "constraints" in path else {("HM104", path, 1)})


@pytest.mark.parametrize(
    "path",
    [
        "docs/notes.txt",
        "requirements.in",
        "requirements-dev.in",
        "requirementsmanager.py",
        "docs/requirements.md",
        "requirements/README.md",
        "requirements/nested/base.txt",
    ],
)
def test_other_files_are_not_requirements_files(tmp_path: Path, path: str) -> None:
    plant(tmp_path, {path: "numpy>=2\n"})
    assert findings(tmp_path) == set()


def test_a_conda_explicit_list_is_no_requirements_file(tmp_path: Path) -> None:
    """`conda list --explicit > requirements.txt`: URLs with md5 fragments, a conda lock."""
    explicit = (
        "# platform: linux-64\n@EXPLICIT\n"
        "https://conda.anaconda.org/conda-forge/linux-64/numpy-1.26.4-py311h_0.conda#a502d7\n"
    )
    plant(tmp_path, {"requirements.txt": explicit, "requirements-dev.txt": "-r requirements.txt\n"})
    assert findings(tmp_path) == set()


@pytest.mark.parametrize(
    ("path", "text", "needle"),
    [
        ("requirements.txt", f"tf-nightly==2.16.0 {HASH}\n", "tf-nightly"),
        ("requirements.txt", "numpy==2.4.6\ntb_nightly==2.16.0\n", "tb_nightly"),
        (
            "pyproject.toml",
            '[project]\nname = "x"\ndependencies = ["keras-nightly==3.4.0"]\n',
            "keras-nightly",
        ),
    ],
)
def test_a_nightly_only_distribution_is_a_nightly(
    tmp_path: Path, path: str, text: str, needle: str
) -> None:
    plant(tmp_path, {path: text, "uv.lock": ""})
    line = next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)
    assert findings(tmp_path, "HM106") == {("HM106", path, line)}


@pytest.mark.parametrize("name", ["nightlife", "pytest-nightlies", "nightlyreport"])
def test_names_that_only_contain_nightly_are_not_nightlies(tmp_path: Path, name: str) -> None:
    plant(tmp_path, {"requirements.txt": f"{name}==1.0 {HASH}\n"})
    assert findings(tmp_path, "HM106") == set()
