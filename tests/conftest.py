"""Shared fixtures: an isolated git/copier environment and a tagged copy of the template."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.generation import (
    Reproduced,
    dvc,
    fresh_clone,
    generate_variant,
    push_from_the_generated_project,
)
from tests.helpers import REPO_ROOT, git, tagged_copy
from tests.rendering import DEPLOY_VARIANTS, render_variant


@pytest.fixture(scope="session", autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No user or system git config, copier settings or template variable leaks into a test.

    uv's cache stays shared on purpose: one torch download serves every generated project.
    """
    home = tmp_path_factory.mktemp("home")
    gitconfig = home / ".gitconfig"
    gitconfig.write_text(
        "[user]\n\tname = Hermetic Test\n\temail = test@hermetic-ml.invalid\n"
        "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n",
        encoding="utf-8",
    )
    copier_settings = home / "copier-settings.yml"
    copier_settings.write_text("defaults: {}\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_CONFIG_GLOBAL", str(gitconfig))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        patch.setenv("COPIER_SETTINGS_PATH", str(copier_settings))
        patch.setenv("DVC_NO_ANALYTICS", "1")
        patch.setenv("PRE_COMMIT_HOME", str(home / "pre-commit"))
        patch.delenv("HERMETIC_TEMPLATE", raising=False)
        patch.delenv("VIRTUAL_ENV", raising=False)
        yield


def template_files() -> list[str]:
    """The template's files in the working tree: tracked ones and new ones git does not ignore."""
    listed = git("ls-files", "--cached", "--others", "--exclude-standard", cwd=REPO_ROOT)
    return [
        path
        for path in listed.splitlines()
        if (path == "copier.yml" or path.startswith(("template/", "includes/", "devcontainer/")))
        and (REPO_ROOT / path).exists()
    ]


@pytest.fixture(scope="session")
def template_repo(tmp_path_factory: pytest.TempPathFactory, isolated_environment: None) -> Path:
    """A git repository holding the working tree's template, committed and tagged v0.1.0."""
    return tagged_copy(template_files(), tmp_path_factory.mktemp("template-repo"), "template")


@pytest.fixture(scope="session")
def generated_project(
    template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """Generate (once per session) and return the project of an answer variant."""

    def generate(variant: str) -> Path:
        destination = tmp_path_factory.mktemp(f"generated-{variant}") / "project"
        return generate_variant(variant, template_repo, destination)

    return functools.cache(generate)


@pytest.fixture(scope="session")
def rendered_variant(
    template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """Render (once per session) and return the project of a deploy variant: files only."""

    def render(variant: str) -> Path:
        destination = tmp_path_factory.mktemp(f"rendered-{variant}") / "project"
        return render_variant(template_repo, destination, DEPLOY_VARIANTS[variant])

    return functools.cache(render)


@pytest.fixture(scope="session")
def dvc_remote(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The DVC remote (a local directory) of the reproduced default project."""
    return tmp_path_factory.mktemp("dvc-remote")


@pytest.fixture(scope="session")
def reproduced_project(
    generated_project: Callable[[str], Path],
    dvc_remote: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, str]:
    """A fresh clone of the default project after one `dvc repro` (trained), and what it printed.

    Shared by the session: tests may read its outputs, commit or push, never change outputs.
    """
    clone = fresh_clone(
        generated_project("defaults"), tmp_path_factory.mktemp("first") / "clone", dvc_remote
    )
    return clone, dvc(clone, "repro")


@pytest.fixture(scope="session")
def reproduced_source(
    generated_project: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Reproduced]:
    """A variant's clean clone after `dvc pull` and `dvc repro` (once per session), its remote
    holding what the generated project pushed. Tests may commit and push from it."""

    def reproduce(variant: str) -> Reproduced:
        root = tmp_path_factory.mktemp(f"source-{variant}")
        remote = root / "remote"
        generated = generated_project(variant)
        push_from_the_generated_project(generated, remote)
        clone = fresh_clone(generated, root / "first", remote)
        dvc(clone, "pull", "--allow-missing")
        return Reproduced(clone, dvc(clone, "repro"), remote)

    return functools.cache(reproduce)
