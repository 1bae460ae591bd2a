"""A generated project passes its own checks untouched, straight after `hermetic new`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from hermetic.audit.engine import ALL_RULES, run_audit
from tests.generation import FULLY_CHECKED, VARIANTS, run_in
from tests.helpers import (
    REPO_ROOT,
    child_environment,
    git,
    group_requirements,
    normalized_distribution,
    read_answers,
)

pytestmark = pytest.mark.slow


# What the data source changes in a project; every other file is the same in every source.
DATA_SOURCE_FILES = {
    ".copier-answers.yml",
    ".github/workflows/ci.yml",
    "README.md",
    "data/raw/.gitignore",
    "data/raw/dataset.parquet.dvc",
    "dvc.yaml",
    "params.yaml",
}
DATA_SOURCE_DIRECTORIES = ("deploy/",)  # rendered and validated per source by the k8s tests


@pytest.fixture(scope="session", params=FULLY_CHECKED)
def project(request: pytest.FixtureRequest, generated_project: Callable[[str], Path]) -> Path:
    """One generated, locked and synced project per fully checked answer variant, shared by
    the session."""
    return generated_project(request.param)


def test_the_file_source_project_is_the_defaults_but_for_its_data(
    generated_project: Callable[[str], Path],
) -> None:
    """Its code, tests, benchmarks, lock and hooks are the defaults' byte for byte, so the
    defaults' checks (pre-commit, the project's own tests) hold for it unchanged."""
    defaults, file_source = generated_project("defaults"), generated_project("file")
    assert set(VARIANTS) == {*FULLY_CHECKED, "file"}
    assert git("status", "--porcelain", "--untracked-files=all", cwd=file_source) == ""
    tracked = {name: set(git("ls-files", cwd=root).split()) for name, root in
               (("defaults", defaults), ("file", file_source))}  # fmt: skip
    # dvc add tracks the snapshot by its .dvc file; data/raw/.gitignore (which both have)
    # keeps the data itself out of git.
    assert tracked["file"] - tracked["defaults"] == {"data/raw/dataset.parquet.dvc"}
    assert tracked["defaults"] <= tracked["file"]
    compared = [
        relative
        for relative in sorted(tracked["defaults"])
        if relative not in DATA_SOURCE_FILES and not relative.startswith(DATA_SOURCE_DIRECTORIES)
    ]
    differing = [
        relative
        for relative in compared
        if (defaults / relative).read_bytes() != (file_source / relative).read_bytes()
    ]
    assert differing == []
    assert any(relative.startswith("src/") for relative in compared)
    assert "uv.lock" in compared and "pyproject.toml" in compared


def test_the_tree_is_committed_and_clean(project: Path) -> None:
    assert git("status", "--porcelain", "--untracked-files=all", cwd=project) == ""
    tracked = git("ls-files", cwd=project).split()
    assert "uv.lock" in tracked
    assert ".venv" not in {path.split("/")[0] for path in tracked}


def test_the_projects_own_tests_pass(project: Path) -> None:
    completed = run_in(project, "uv", "run", "--frozen", "pytest", "-q", "-p", "no:cacheprovider")
    assert " passed" in completed.stdout
    assert "failed" not in completed.stdout


def test_pre_commit_passes_on_all_files_and_changes_nothing(project: Path) -> None:
    """Formatting (no diff), lint and strict types: the hooks run exactly what CI's steps run
    (`uv run --frozen ruff format|ruff check|mypy`), once per variant."""
    completed = run_in(project, "uv", "run", "--frozen", "pre-commit", "run", "--all-files")
    for hook in ("ruff format", "ruff check", "mypy (strict)", "uv.lock matches pyproject.toml"):
        assert any(
            line.startswith(hook) and line.endswith("Passed")
            for line in completed.stdout.splitlines()
        ), f"{hook} did not pass:\n{completed.stdout}"
    assert git("status", "--porcelain", cwd=project) == ""


def test_pre_commit_rejects_a_notebook(project: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git("clone", "--quiet", str(project), str(clone), cwd=tmp_path)
    (clone / "explore.ipynb").write_text('{"cells": []}', encoding="utf-8")
    git("add", "--force", "explore.ipynb", cwd=clone)
    completed = subprocess.run(
        [str(project / ".venv" / "bin" / "pre-commit"), "run", "no-notebooks"],
        cwd=clone,
        env=child_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 1, completed.stdout
    assert "Notebooks are not allowed" in completed.stdout


def test_the_lock_is_current(project: Path) -> None:
    run_in(project, "uv", "lock", "--check")


def _lock(project: Path) -> dict[str, Any]:
    return tomllib.loads((project / "uv.lock").read_text(encoding="utf-8"))


def test_every_locked_file_carries_a_sha256_hash(project: Path) -> None:
    packages = _lock(project)["package"]
    registry_packages = [package for package in packages if "registry" in package["source"]]
    assert len(registry_packages) > 50, "the ML stack is locked"
    for package in registry_packages:
        files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
        assert files, f"{package['name']} has no files"
        for entry in files:
            assert entry["hash"].startswith("sha256:"), (package["name"], entry)
            assert len(entry["hash"]) == len("sha256:") + 64
    local = [package for package in packages if "registry" not in package["source"]]
    assert [package["source"] for package in local] == [{"editable": "."}]


def test_the_lock_resolves_torch_as_pinned_and_as_of_the_lock_date(project: Path) -> None:
    lock = _lock(project)
    versions = {package["name"]: package["version"] for package in lock["package"]}
    assert versions["torch"] == "2.10.0"
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert lock["options"]["exclude-newer"].startswith(
        pyproject["tool"]["uv"]["exclude-newer"][:10]
    )


def test_copier_update_on_an_unchanged_template_changes_nothing(
    project: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    git("clone", "--quiet", str(project), str(clone), cwd=tmp_path)
    copier = shutil.which("copier", path=str(Path(sys.executable).parent))
    assert copier is not None
    run_in(clone, copier, "update", "--defaults", "--trust", "--quiet")
    assert git("status", "--porcelain", "--untracked-files=all", cwd=clone) == ""


def test_reserved_names_cover_every_module_and_distribution_in_the_environment(
    project: Path,
) -> None:
    listing = run_in(
        project,
        str(project / ".venv" / "bin" / "python"),
        "-c",
        "import importlib.metadata as m, json, re, sys;"
        "print(json.dumps({'modules': sorted(m.packages_distributions()),"
        " 'distributions': sorted(re.sub(r'[-_.]+', '-', d.metadata['Name']).lower()"
        " for d in m.distributions()), 'stdlib': sorted(sys.stdlib_module_names)}))",
    )
    environment = json.loads(listing.stdout)
    reserved = yaml.safe_load((REPO_ROOT / "includes" / "reserved-names.yml").read_text("utf-8"))
    modules = set(reserved["reserved_module_names"]["default"])
    distributions = set(reserved["reserved_distribution_names"]["default"])
    own_package = read_answers(project)
    public = {
        name
        for name in [*environment["modules"], *environment["stdlib"]]
        if name.isidentifier() and not name.startswith("_") and name != own_package["package_name"]
    }
    assert not public - modules, "add to includes/reserved-names.yml"
    own_distribution = normalized_distribution(own_package["distribution_name"])
    assert not set(environment["distributions"]) - {own_distribution} - distributions


def test_earliest_lock_date_is_the_day_after_the_newest_pinned_file(project: Path) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = [*pyproject["project"]["dependencies"], *group_requirements(pyproject, "dev")]
    pins = dict(
        (normalized_distribution(name), version)
        for name, version in (re.split(r"(?:\[[^\]]*\])?==", pin) for pin in requirements)
    )
    newest_upload = max(
        entry["upload-time"]
        for package in _lock(project)["package"]
        if pins.get(package["name"]) == package["version"]
        for entry in [
            *package.get("wheels", []),
            *([package["sdist"]] if "sdist" in package else []),
        ]
    )
    copier_config = (REPO_ROOT / "copier.yml").read_text(encoding="utf-8")
    earliest = re.search(r'earliest_lock_date:.*?default: "([0-9-]+)"', copier_config, re.DOTALL)
    assert earliest is not None
    day_after = date.fromisoformat(newest_upload[:10]) + timedelta(days=1)
    assert earliest.group(1) == day_after.isoformat()


def test_hermetic_audit_finds_no_hazard(project: Path) -> None:
    report = run_audit(project)
    assert report.findings == (), [
        f"{f.path}:{f.line} {f.rule_id} {f.message}" for f in report.findings
    ]
    assert len(report.rules) == len(ALL_RULES)
