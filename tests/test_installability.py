"""pip, `pip wheel` and `python -m build` build and install the tool and a generated project.

Both pin their build backend to a uv_build release on PyPI, so any PEP 517 front end can fetch
it; uv (scripts/test, `hermetic new`) builds them too. Each front end runs in a fresh virtualenv
whose pip and build are hash-pinned (tests/build_frontends/requirements.txt).
"""

from __future__ import annotations

import shutil
import tomllib
import venv
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.generation import run_in
from tests.helpers import REPO_ROOT, git

FRONTENDS = REPO_ROOT / "tests" / "build_frontends" / "requirements.txt"


def succeeds(*command: str | Path, cwd: Path) -> str:
    """Run COMMAND in CWD; fail with its output unless it exits 0; return its standard output."""
    return run_in(cwd, *map(str, command)).stdout


def fresh_virtualenv(location: Path) -> Path:
    """A new virtualenv with the pinned pip and build; return its python."""
    venv.EnvBuilder(with_pip=True, clear=True).create(location)
    python = location / "bin" / "python"
    succeeds(
        python, "-m", "pip", "install", "-q", "--require-hashes", "-r", FRONTENDS, cwd=location
    )
    return python


def build_backend(project: Path) -> str:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    (requirement,) = pyproject["build-system"]["requires"]
    assert pyproject["build-system"]["build-backend"] == "uv_build"
    return str(requirement)


def top_level_entries(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name.split("/")[0] for name in archive.namelist()}


def wheel_and_build(python: Path, source: Path, scratch: Path, distribution: str) -> set[str]:
    """`pip wheel` and `python -m build` (sdist, then a wheel from it) in SOURCE: the two wheels
    of DISTRIBUTION hold the same top-level entries; return them."""
    wheels = scratch / "pip-wheel"
    succeeds(python, "-m", "pip", "wheel", "-q", "--no-deps", "-w", wheels, ".", cwd=source)
    prefix = distribution.replace("-", "_")
    (pip_wheel,) = wheels.glob(f"{prefix}-*.whl")
    built = scratch / "build"
    succeeds(python, "-m", "build", "--outdir", built, ".", cwd=source)
    (sdist,) = built.glob(f"{prefix}-*.tar.gz")
    (build_wheel,) = built.glob(f"{prefix}-*.whl")
    assert sdist.stat().st_size > 0
    entries = top_level_entries(build_wheel)
    assert top_level_entries(pip_wheel) == entries
    return entries


def test_the_backend_is_the_same_pypi_release_in_the_tool_and_the_template() -> None:
    template = (REPO_ROOT / "template" / "pyproject.toml.jinja").read_text(encoding="utf-8")
    assert f'requires = ["{build_backend(REPO_ROOT)}"]' in template


def test_pip_wheel_and_build_install_the_tool(tmp_path: Path) -> None:
    source = tmp_path / "checkout"
    # The committed tree plus the working tree's changes: what a user's checkout holds.
    git("clone", "--quiet", "--no-hardlinks", str(REPO_ROOT), str(source), cwd=tmp_path)
    changed = git("ls-files", "--modified", "--others", "--exclude-standard", cwd=REPO_ROOT)
    for relative in changed.splitlines():
        if (REPO_ROOT / relative).is_file():
            (source / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO_ROOT / relative, source / relative)
    python = fresh_virtualenv(tmp_path / "venv")
    # With its dependencies, from PyPI, as a user without uv would.
    succeeds(python, "-m", "pip", "install", "-q", ".", cwd=source)
    version = succeeds(python, "-m", "hermetic", "--version", cwd=tmp_path)
    assert version.startswith("hermetic 0.1.0 (copier "), version
    assert "hermetic" in wheel_and_build(python, source, tmp_path, "hermetic-ml")


@pytest.mark.slow
def test_pip_wheel_and_build_install_a_generated_project(
    generated_project: Callable[[str], Path], tmp_path: Path
) -> None:
    """The defaults' project. Its locked runtime dependencies go in first, from uv's cache (not
    torch's 3 GB again through pip); pip then resolves the project against them and installs it."""
    project = generated_project("defaults")
    assert build_backend(project) == build_backend(REPO_ROOT)
    source = tmp_path / "project"
    git("clone", "--quiet", str(project), str(source), cwd=tmp_path)
    (package,) = [path.name for path in (source / "src").iterdir() if path.is_dir()]
    distribution = tomllib.loads((source / "pyproject.toml").read_text("utf-8"))["project"]["name"]
    requirements = tmp_path / "runtime.txt"
    requirements.write_text(
        succeeds("uv", "export", "--frozen", "--no-dev", "--no-emit-project", cwd=source),
        encoding="utf-8",
    )
    python = fresh_virtualenv(tmp_path / "venv")
    succeeds("uv", "pip", "install", "-q", "--python", python, "-r", requirements, cwd=source)
    succeeds(python, "-m", "pip", "install", "-q", ".", cwd=source)
    shown = succeeds(python, "-m", "pip", "show", "--files", distribution, cwd=tmp_path)
    assert f"{package}/__init__.py" in shown, shown
    usage = succeeds(python, "-m", package, "--help", cwd=tmp_path)
    assert "info" in usage, usage
    assert package in wheel_and_build(python, source, tmp_path, distribution)
