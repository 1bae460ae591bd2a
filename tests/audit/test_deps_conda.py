"""HM101, HM104-HM106 in conda environment files, planted in the shapes real repositories
hold: `conda env create` files, `conda env export` output, MLflow's conda.yaml, Snakemake's
envs/, and the locks (conda-lock, `@EXPLICIT` lists) that make them reproducible."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import pytest

from hermetic.audit.repository import load_repository
from hermetic.audit.rules.dependencies import check
from tests.audit.planting import commit_all, plant
from tests.audit.test_dependency_rules import HASH, SHA, findings, line_of

ENVIRONMENT = dedent(
    """\
    name: vision
    channels:
      - pytorch
      - nvidia
      - conda-forge
    dependencies:
      - python=3.11
      - pytorch=2.3.1
      - pytorch-cuda=12.1
      - numpy>=1.26
      - pip
      - pip:
          - timm==1.0.7
          - transformers>=4.40
          - clip @ git+https://github.com/openai/CLIP.git@main
    """
)
# What `conda env export` writes: every package pinned to a version and a build.
EXPORTED = dedent(
    """\
    name: vision
    channels:
      - conda-forge
    dependencies:
      - _libgcc_mutex=0.1=conda_forge
      - numpy=1.26.4=py311h64a7726_0
      - python=3.11.9=hb806964_0_cpython
      - pip=24.0=pyhd8ed1ab_0
      - pip:
          - timm==1.0.7
    prefix: /opt/conda/envs/vision
    """
)
# What MLflow logs beside a model (`mlflow.<flavor>.log_model`).
MLFLOW_CONDA = dedent(
    """\
    channels:
    - conda-forge
    dependencies:
    - python=3.10.12
    - pip<=23.0.1
    - pip:
      - mlflow==2.9.2
      - cloudpickle==2.2.1
      - scikit-learn==1.3.0
    name: mlflow-env
    """
)
EXPLICIT = dedent(
    """\
    # This file may be used to create an environment using:
    # $ conda create --name <env> --file <this file>
    # platform: linux-64
    @EXPLICIT
    https://conda.anaconda.org/conda-forge/linux-64/numpy-1.26.4-py311h64a7726_0.conda#a502d7
    """
)


def test_an_environment_file_is_read_for_every_hazard_at_its_lines(tmp_path: Path) -> None:
    plant(tmp_path, {"environment.yml": ENVIRONMENT})
    path = "environment.yml"
    assert findings(tmp_path) == {
        ("HM101", path, line_of(ENVIRONMENT, "dependencies:")),
        ("HM104", path, line_of(ENVIRONMENT, "python=3.11")),  # 3.11.*
        ("HM104", path, line_of(ENVIRONMENT, "pytorch-cuda=12.1")),
        ("HM104", path, line_of(ENVIRONMENT, "numpy>=1.26")),
        ("HM104", path, line_of(ENVIRONMENT, "numpy>=1.26") + 1),  # pip, unpinned
        ("HM104", path, line_of(ENVIRONMENT, "transformers")),
        ("HM105", path, line_of(ENVIRONMENT, "CLIP")),
    }


@pytest.mark.parametrize(
    "path",
    [
        "environment.yaml",
        "Environment.YML",
        "environment-gpu.yml",
        "environment_dev.yaml",
        "ci/test-environment.yml",
        "binder/environment.yml",
        "env.yml",
        "conda_env.yaml",
        "models/classifier/conda.yaml",
        "conda.yml",
        "envs/training.yaml",
        "workflow/envs/qc.yaml",
        "conda/py311.yml",
        "ci/deps/py311.yaml",  # any name, with top-level channels and dependencies
    ],
)
def test_environment_files_are_found_by_their_real_names(tmp_path: Path, path: str) -> None:
    plant(tmp_path, {path: ENVIRONMENT})
    assert ("HM101", path, line_of(ENVIRONMENT, "dependencies:")) in findings(tmp_path)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("roles/web/meta/main.yml", "galaxy_info: {}\ndependencies:\n  - common\n  - nginx\n"),
        (
            "env.yaml",  # Helm-like: mappings, not conda specs
            "dependencies:\n  - name: redis\n    version: 17.0.0\n    repository: oci://r\n",
        ),
        ("environment.yml", "name: x\ndependencies: numpy\n"),
        ("environment.yml", "apiVersion: v1\nkind: ConfigMap\ndata: {A: b}\n"),
        ("conda.yaml", "dependencies: []\n"),
        ("environment.yml", "dependencies: [numpy\n"),  # not YAML
    ],
    ids=["ansible-meta", "helm-like", "scalar", "configmap", "empty", "broken"],
)
def test_other_yaml_with_dependencies_is_no_environment(
    tmp_path: Path, path: str, text: str
) -> None:
    plant(tmp_path, {path: text})
    assert findings(tmp_path) == set()


@pytest.mark.parametrize(
    ("lock", "content"),
    [
        ("conda-lock.yml", "version: 1\nmetadata: {}\npackage: []\n"),
        ("environment.conda-lock.yml", "version: 1\npackage: []\n"),
        ("conda-linux-64.lock", EXPLICIT),
        ("spec-file.txt", EXPLICIT),
        ("environment.linux-64.pin.txt", EXPLICIT),  # Snakemake's pin files
        ("requirements.txt", EXPLICIT),  # `conda list --explicit > requirements.txt`
    ],
)
def test_a_conda_lock_beside_an_environment_locks_it(
    tmp_path: Path, lock: str, content: str
) -> None:
    plant(tmp_path, {"environment.yml": EXPORTED, lock: content})
    assert findings(tmp_path, "HM101") == set()


def test_a_lock_elsewhere_or_ignored_by_git_does_not(tmp_path: Path) -> None:
    plant(
        tmp_path,
        {
            "environment.yml": EXPORTED,
            "conda-lock.yml": "version: 1\n",
            ".gitignore": "conda-lock.yml\n",
            "envs/gpu.yml": EXPORTED,
            "locks/conda-linux-64.lock": EXPLICIT,
            "envs/notes.txt": "@EXPLICIT is what conda list --explicit writes\n",
        },
    )
    commit_all(tmp_path)
    line = line_of(EXPORTED, "dependencies:")
    assert findings(tmp_path) == {
        ("HM101", "environment.yml", line),
        ("HM101", "envs/gpu.yml", line),
    }


def test_the_unlocked_message_names_the_conda_locks(tmp_path: Path) -> None:
    plant(tmp_path, {"environment.yml": EXPORTED})
    [finding] = check(load_repository(tmp_path))
    assert "no conda-lock file or `@EXPLICIT` list" in finding.message
    assert "conda-lock" in finding.rule.fix


def test_exported_and_mlflow_environments_are_pinned_and_only_unlocked(tmp_path: Path) -> None:
    """Exported: every package at a version and a build (exact). MLflow's: pinned but for
    the `pip<=23.0.1` it writes, a range like any other."""
    plant(tmp_path, {"environment.yml": EXPORTED, "model/conda.yaml": MLFLOW_CONDA})
    assert findings(tmp_path) == {
        ("HM101", "environment.yml", line_of(EXPORTED, "dependencies:")),
        ("HM101", "model/conda.yaml", line_of(MLFLOW_CONDA, "dependencies:")),
        ("HM104", "model/conda.yaml", line_of(MLFLOW_CONDA, "pip<=23.0.1")),
    }


@pytest.mark.parametrize(
    ("spec", "unpinned"),
    [
        ("python", True),
        ("python>=3.9", True),
        ("numpy>=1.20,<2", True),
        ("numpy=1.26.*", True),
        ("numpy 1.26.*", True),
        ("numpy 1.26|1.27", True),
        ("numpy[version='>=1.20']", True),
        ("nomkl", True),
        ("conda-forge::scipy", True),
        ("python=3.10", True),  # 3.10.*: floats like the image tag python:3.10
        ("pytorch-cuda=12.1", True),
        ("python=3.10.14", False),
        ("numpy=1.26.4", False),
        ("numpy==1.26.4", False),
        ("numpy 1.26.4", False),
        ("numpy 1.26.4 py311h64a7726_0", False),
        ("numpy=1.26.4=py311h64a7726_0", False),
        ("numpy==1.26.4,<2", False),
        ("conda-forge::numpy=1.26.4", False),
        ("numpy[version='1.26.4']", False),
        ("pip", True),  # the installer of the pip: list resolves it: its version matters
        ("pip>=23", True),
        ("pip=24.0.1", False),
        ("https://conda.anaconda.org/c/linux-64/x-1.0-0.tar.bz2", False),  # no spec
    ],
)
def test_a_conda_spec_without_one_version_is_unpinned(
    tmp_path: Path, spec: str, unpinned: bool
) -> None:
    text = f"channels: [conda-forge]\ndependencies:\n  - numpy=1.26.4\n  - {spec}\n"
    plant(tmp_path, {"environment.yml": text})
    assert findings(tmp_path, "HM104") == ({("HM104", "environment.yml", 4)} if unpinned else set())


@pytest.mark.parametrize(
    ("channels", "spec", "line"),
    [
        ("[pytorch-nightly, nvidia]", "pytorch", 1),
        ("\n  - https://conda.anaconda.org/pytorch-nightly", "pytorch", 2),
        ("[conda-forge/label/numpy_rc, conda-forge]", "numpy", 1),
        ("[conda-forge/label/dev]", "numpy", 1),
        ("[pytorch-test, nvidia]", "pytorch=2.4.0", 1),
        ("[https://conda.anaconda.org/pytorch-test]", "pytorch=2.4.0", 1),
        ("[conda-forge]", "pytorch-nightly::pytorch", 4),
        ("[conda-forge]", "pytorch=2.5.0.dev20240801", 4),
        ("[conda-forge]", "numpy>=2.0.0rc1", 4),
        ("[conda-forge]", "pytorch-nightly", 4),
    ],
)
def test_a_nightly_or_pre_release_asked_of_conda_is_reported(
    tmp_path: Path, channels: str, spec: str, line: int
) -> None:
    text = f"channels: {channels}\ndependencies:\n  - python=3.11\n  - {spec}\n"
    plant(tmp_path, {"environment.yml": text})
    assert findings(tmp_path, "HM106") == {("HM106", "environment.yml", line)}


@pytest.mark.parametrize(
    ("channels", "spec"),
    [
        ("[pytorch, nvidia, conda-forge, defaults]", "pytorch=2.3.1"),
        ("[conda-forge/label/cf202003]", "numpy<2.0a0"),
        ("[conda-forge]", "numpy!=2.0.0rc1"),
    ],
)
def test_stable_channels_and_bounds_are_no_pre_releases(
    tmp_path: Path, channels: str, spec: str
) -> None:
    text = f"channels: {channels}\ndependencies:\n  - {spec}\n"
    plant(tmp_path, {"environment.yml": text})
    assert findings(tmp_path, "HM106") == set()


def test_the_pip_list_is_read_as_a_requirements_file_at_its_lines(tmp_path: Path) -> None:
    environment = dedent(
        f"""\
        channels: [conda-forge]
        dependencies:
          - python=3.11.9
          - pip:
            - --pre
            - --extra-index-url https://download.pytorch.org/whl/nightly/cu121
            - -e .
            - tf-nightly
            - torch>=2.3
            - numpy==1.26.4 {HASH}
            - pinned @ git+https://github.com/org/pinned@{SHA}
            - floating @ git+https://github.com/org/floating@v1.0
            - -r file:requirements/extra.pip
        """
    )
    plant(tmp_path, {"environment.yml": environment, "requirements/extra.pip": "pandas\n"})
    path = "environment.yml"
    assert findings(tmp_path) == {
        ("HM101", path, 2),
        ("HM106", path, line_of(environment, "--pre")),
        ("HM106", path, line_of(environment, "nightly/cu121")),
        ("HM106", path, line_of(environment, "tf-nightly")),
        ("HM104", path, line_of(environment, "tf-nightly")),
        ("HM104", path, line_of(environment, "torch>=")),
        ("HM105", path, line_of(environment, "floating")),
        # The file the pip list includes is a requirements file, whatever its name.
        ("HM102", "requirements/extra.pip", 1),
        ("HM104", "requirements/extra.pip", 1),
    }


def test_a_pre_release_asked_in_a_pip_list_is_not_reported_again_in_a_lock(
    tmp_path: Path,
) -> None:
    environment = "dependencies:\n  - python=3.11.9\n  - pip:\n    - torch==2.5.0.dev20240801\n"
    compiled = f"torch==2.5.0.dev20240801 {HASH}\n"
    plant(tmp_path, {"environment.yml": environment, "requirements.txt": compiled})
    assert findings(tmp_path, "HM10") == {
        ("HM101", "environment.yml", 1),
        ("HM106", "environment.yml", 4),
    }
