"""The custom resources of every generated overlay validate strictly against the engines' real
CRDs (shared/crds) and against the pruned copies a project carries, with the validator the
project's CI runs (deploy/k8s/check_custom_resources.py): an undeclared field, a wrong type or a
missing required field fails, naming the resource and the field's path.

Which kinds are custom is read from the builds, so any custom resource the template comes to
render is covered with no change here.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from tests.crd_support import (
    PROJECT_CHECKER,
    PROJECT_CRDS,
    REAL_CRDS,
    TEMPLATE_K8S,
    UNKNOWN_FIELD,
    VENDOR_SCRIPT,
    Documents,
    FieldPath,
    about,
    break_a_type,
    check,
    checker,
    custom_resources,
    drop_a_required_field,
    group_and_kind,
    load_script,
    plant_unknown_fields,
    real_crd_files,
    real_crds,
    vendored_crds,
)
from tests.helpers import run_command
from tests.kubernetes_support import Build, kustomize
from tests.rendering import DEPLOY_VARIANTS

K8S_VARIANTS = tuple(
    name for name, answers in DEPLOY_VARIANTS.items() if answers.get("with_k8s", True)
)
WORKFLOW = Path(".github", "workflows", "ci.yml")
Validate = Callable[[Documents], list[str]]


@pytest.fixture(scope="module")
def builds(
    rendered_variant: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], list[Build]]:
    """`kubectl kustomize` of the base and of every overlay of a rendered variant."""
    outputs = tmp_path_factory.mktemp("custom-resources")
    cache: dict[str, list[Build]] = {}

    def build(variant: str) -> list[Build]:
        if variant not in cache:
            k8s = rendered_variant(variant) / "deploy" / "k8s"
            overlays = [k8s / "base", *sorted(k8s.glob("overlays/*/"))]
            cache[variant] = [
                kustomize(path, outputs / variant / f"{path.name}.yaml", variant, path.name)
                for path in overlays
            ]
        return cache[variant]

    return build


@pytest.fixture(params=K8S_VARIANTS)
def variant(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def run_project_checker(project: Path, documents: Documents, directory: Path) -> list[str]:
    """The project's validator on DOCUMENTS against the project's CRDs, as a process; its
    findings (exit status 1 with findings, 0 without)."""
    build = directory / "build.yaml"
    build.write_text(yaml.safe_dump_all(documents), encoding="utf-8")
    command: list[str | Path] = [
        sys.executable,
        project / PROJECT_CHECKER,
        "--crds",
        project / PROJECT_CRDS,
        build,
    ]
    completed = run_command(command, project)
    findings = completed.stdout.splitlines()
    assert completed.returncode == (1 if findings else 0), completed.stderr
    return findings


@pytest.fixture(params=["real", "vendored"])
def validate(
    request: pytest.FixtureRequest, rendered_variant: Callable[[str], Path], tmp_path: Path
) -> Validate:
    """Validation against the real CRDs (in process), or the default project's own run of its
    validator against its vendored CRDs."""
    if request.param == "real":
        return lambda documents: check(documents, real_crds())
    project = rendered_variant("defaults")
    return lambda documents: run_project_checker(project, documents, tmp_path)


@pytest.fixture
def defaults_build(builds: Callable[[str], list[Build]]) -> Documents:
    """A fresh copy of the documents of the defaults' last overlay, to break."""
    documents: Documents = yaml.safe_load(yaml.safe_dump(builds("defaults")[-1].documents))
    return documents


# --- Every overlay of every variant is valid ---------------------------------------------------


def test_every_custom_resource_is_valid_against_the_real_crds(
    variant: str, builds: Callable[[str], list[Build]]
) -> None:
    for build in builds(variant):
        assert custom_resources(build.documents), f"{build.overlay}: no custom resource"
        findings = check(build.documents, real_crds())
        assert not findings, f"{variant} {build.overlay}:\n" + "\n".join(findings)


def test_every_custom_resource_is_valid_against_the_vendored_crds(
    variant: str,
    builds: Callable[[str], list[Build]],
    rendered_variant: Callable[[str], Path],
    tmp_path: Path,
) -> None:
    project = rendered_variant(variant)
    for build in builds(variant):
        findings = run_project_checker(project, build.documents, tmp_path)
        assert not findings, f"{variant} {build.overlay}:\n" + "\n".join(findings)


def test_a_project_carries_the_crds_of_exactly_the_kinds_it_builds(
    variant: str, builds: Callable[[str], list[Build]], rendered_variant: Callable[[str], Path]
) -> None:
    built = {
        group_and_kind(document)
        for build in builds(variant)
        for document in custom_resources(build.documents)
    }
    carried = {(group, kind) for group, _, kind in vendored_crds(rendered_variant(variant)).served}
    assert carried == built


# --- The vendored CRDs are the real ones, pruned -----------------------------------------------


def test_the_vendored_crds_are_a_fresh_derivation_of_the_real_ones() -> None:
    real_crd_files()  # fails loudly where shared/crds is missing
    derived: dict[str, str] = load_script(VENDOR_SCRIPT).derive(REAL_CRDS)
    vendored = {path.name: path for path in (TEMPLATE_K8S / "crds").iterdir()}
    regenerate = "regenerate them: uv run --locked python scripts/vendor_crds.py"
    assert sorted(vendored) == sorted(derived), regenerate
    for name, text in derived.items():
        assert vendored[name].read_text(encoding="utf-8") == text, f"{name}: {regenerate}"


def test_pruning_keeps_every_constraint_of_the_served_versions() -> None:
    vendored = checker().read_crds(sorted((TEMPLATE_K8S / "crds").iterdir()))
    strict = checker().strict_schema
    for key, schema in vendored.served.items():
        assert strict(schema) == strict(real_crds().served[key]), key


# --- What fails, and how it is told -------------------------------------------------------------


def test_an_unknown_field_fails_naming_its_path(
    validate: Validate, defaults_build: Documents
) -> None:
    planted = {
        id(document): plant_unknown_fields(document, real_crds())
        for document in custom_resources(defaults_build)
    }
    assert any(len(paths) > 1 for paths in planted.values()), "no pod template to plant in"
    findings = validate(defaults_build)
    for document in custom_resources(defaults_build):
        for path in planted[id(document)]:
            (finding,) = about(findings, document, path)
            assert "unknown field" in finding and "allowed here: " in finding
    assert len(findings) == sum(len(paths) for paths in planted.values()), findings


@pytest.mark.parametrize(
    ("breaks", "problem"),
    [(break_a_type, "is not of type"), (drop_a_required_field, "required field missing")],
    ids=["wrong-type", "missing-required-field"],
)
def test_a_wrong_value_fails_naming_its_path(
    validate: Validate,
    defaults_build: Documents,
    breaks: Callable[[dict[str, Any], Any], FieldPath | None],
    problem: str,
) -> None:
    broken = [
        (document, path)
        for document in custom_resources(defaults_build)
        if (path := breaks(document, real_crds())) is not None
    ]
    assert broken, "no custom resource could be broken this way"
    findings = validate(defaults_build)
    for document, path in broken:
        (finding,) = about(findings, document, path)
        assert problem in finding


# --- The generated CI step ----------------------------------------------------------------------


def ci_step(project: Path) -> dict[str, Any]:
    workflow = yaml.safe_load((project / WORKFLOW).read_text(encoding="utf-8"))
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    (step,) = [step for step in steps if PROJECT_CHECKER.as_posix() in step.get("run", "")]
    return cast(dict[str, Any], step)


def run_ci_step(
    step: dict[str, Any], project: Path, temp: Path
) -> subprocess.CompletedProcess[str]:
    """STEP's script as the runner runs it (bash -e -o pipefail, RUNNER_TEMP); `uv run --frozen
    TOOL` runs TOOL from this environment, as a rendered project has none of its own."""
    shim = temp / "bin" / "uv"
    shim.parent.mkdir(parents=True, exist_ok=True)
    shim.write_text(
        "#!/bin/sh\n"
        '[ "$1 $2" = "run --frozen" ] || { echo "unexpected: uv $*" >&2; exit 97; }\n'
        f'shift 2; tool="$1"; shift; exec "{Path(sys.executable).parent}/$tool" "$@"\n',
        encoding="utf-8",
    )
    shim.chmod(0o755)
    shell = ["bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", step["run"]]
    environment = {"PATH": f"{shim.parent}:/usr/bin:/bin", "RUNNER_TEMP": str(temp)}
    return run_command(shell, project, environment=environment)


def test_the_ci_step_validates_every_overlay_and_fails_on_an_unknown_field(
    rendered_variant: Callable[[str], Path], tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(rendered_variant("defaults"), project)
    step = ci_step(project)
    passed = run_ci_step(step, project, tmp_path / "clean")
    assert passed.returncode == 0, passed.stdout + passed.stderr

    planted = None
    for manifest in sorted((project / "deploy" / "k8s" / "base").glob("*.yaml")):
        documents = list(yaml.safe_load_all(manifest.read_text(encoding="utf-8")))
        if manifest.name.startswith("kustomiz") or not (found := custom_resources(documents)):
            continue  # kustomize's own files, or only built-in kinds
        planted = found[0]
        planted["spec"][UNKNOWN_FIELD] = "planted"
        manifest.write_text(yaml.safe_dump_all(documents), encoding="utf-8")
        break
    assert planted is not None, "no custom resource in deploy/k8s/base"
    failed = run_ci_step(step, project, tmp_path / "planted")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    expected = f"{planted['kind']}/"
    assert any(
        line.startswith(expected) and f": spec.{UNKNOWN_FIELD}: unknown field" in line
        for line in failed.stdout.splitlines()
    ), failed.stdout
