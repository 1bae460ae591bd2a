"""The generated projects' Renovate configuration (renovate.json), checked by Renovate itself.

`renovate-config-validator --strict` on every deploy variant, and on planted mistakes it must
reject; then Renovate's own lookup run on a rendered project, offline (every host disabled, the
template served from a local git repository): the copier manager proposes the template's next
release, every base image and action is pinned by digest, and the project's own images are
left alone.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import REPO_ROOT, TEMPLATE_TAG, child_environment, git, read_answers
from tests.rendering import DEPLOY_VARIANTS

RENOVATE_PACKAGES = REPO_ROOT / "tests" / "renovate" / "node_modules"
INSTALL_HINT = "run `bash scripts/install-system-tools.sh` (scripts/test does)"
CONFIG = "renovate.json"
KUSTOMIZATION = "deploy/k8s/base/kustomization.yaml"
DOCKERFILES = {"Dockerfile", ".devcontainer/cpu/Dockerfile", ".devcontainer/gpu/Dockerfile"}
NEXT_RELEASE = "v0.2.0"
TEMPLATE_BRANCH = "renovate/template-update"
# pino's levels: 40 is WARN, 50 ERROR.
WARN = 40
BASE_DIGEST_LABEL = "org.opencontainers.image.base.digest="
DIGEST = r"sha256:[0-9a-f]{64}"
# The managers that read image references (pyenv's python, also a docker dependency, is not one).
IMAGE_MANAGERS = ("dockerfile", "regex", "kustomize", "kubernetes", "devcontainer")


def renovate_program(name: str) -> list[str]:
    """A Renovate entry point run by the Node 24 installed beside it (Renovate's engines)."""
    node = RENOVATE_PACKAGES / ".bin" / "node"
    program = RENOVATE_PACKAGES / ".bin" / name
    for path in (node, program):
        assert path.exists(), f"{path} is missing: {INSTALL_HINT}"
    return [str(node), str(program)]


def run_renovate(
    command: list[str], cwd: Path, **settings: str
) -> subprocess.CompletedProcess[str]:
    """Run a Renovate program with no RENOVATE_*, LOG_* or token of the machine's, JSON log lines
    and SETTINGS (environment variables).

    re2's native module is not built (its build downloads from GitHub): RENOVATE_X_IGNORE_RE2
    says so, and JavaScript's RegExp checks the patterns.
    """
    environment = {
        key: value
        for key, value in child_environment().items()
        if not key.startswith(("RENOVATE_", "LOG_")) and not key.endswith("_TOKEN")
    }
    environment |= {"LOG_FORMAT": "json", "RENOVATE_X_IGNORE_RE2": "true", **settings}
    return subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, check=False, timeout=300
    )


def log_records(output: str) -> list[dict[str, Any]]:
    records = []
    for line in output.splitlines():
        if line.startswith("{"):
            record: dict[str, Any] = json.loads(line)
            records.append(record)
    return records


def validate(directory: Path) -> tuple[int, list[dict[str, Any]]]:
    """renovate-config-validator --strict run inside DIRECTORY, with no file argument.

    With a file argument it checks the file as global (self-hosted) configuration, which may set
    options a repository may not, allowScripts among them (the one that lets Renovate pass
    --trust to copier). Without one it finds the file where Renovate looks in a repository, and
    checks it as repository configuration.
    """
    completed = run_renovate(
        [*renovate_program("renovate-config-validator"), "--strict"], directory, LOG_LEVEL="info"
    )
    return completed.returncode, log_records(completed.stdout + completed.stderr)


def read_config(project: Path) -> dict[str, Any]:
    config: dict[str, Any] = json.loads((project / CONFIG).read_text(encoding="utf-8"))
    return config


def project_images(project: Path) -> list[str]:
    """The image names the project's kustomization pins (none without deploy/)."""
    kustomization = project / KUSTOMIZATION
    if not kustomization.exists():
        return []
    loaded = yaml.safe_load(kustomization.read_text(encoding="utf-8"))
    return [str(image["name"]) for image in loaded["images"]]


@pytest.fixture(params=sorted(DEPLOY_VARIANTS))
def variant(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


# renovate-config-validator --strict: no error, no warning, no migration needed.


def test_renovate_validates_the_configuration_strictly(
    variant: str, rendered_variant: Callable[[str], Path]
) -> None:
    returncode, records = validate(rendered_variant(variant))
    complaints = [record for record in records if record.get("level", 0) >= WARN]
    assert returncode == 0, complaints
    assert not complaints
    assert any(record.get("msg") == f"Validating {CONFIG}" for record in records)


PLANTED_MISTAKES: dict[str, dict[str, Any]] = {
    "unknown option": {"automergeEverything": True},
    "deprecated option (needs migration)": {"stabilityDays": 3},
    # A global option: only a self-hosted admin may let copier run with --trust.
    "global-only option": {"allowScripts": True},
}


@pytest.mark.parametrize("mistake", sorted(PLANTED_MISTAKES))
def test_the_validator_rejects_a_planted_mistake(
    mistake: str, rendered_variant: Callable[[str], Path], tmp_path: Path
) -> None:
    config = read_config(rendered_variant("defaults")) | PLANTED_MISTAKES[mistake]
    (tmp_path / CONFIG).write_text(json.dumps(config, indent=2), encoding="utf-8")
    returncode, records = validate(tmp_path)
    complaints = [record for record in records if record.get("level", 0) >= WARN]
    assert returncode != 0
    # About the planted option, not something else gone wrong.
    (planted,) = PLANTED_MISTAKES[mistake]
    assert planted in json.dumps(complaints), complaints


# The configuration's content where an edit could break the fleet.


def rules_matching(config: dict[str, Any], key: str, value: str) -> list[dict[str, Any]]:
    return [rule for rule in config["packageRules"] if value in rule.get(key, [])]


def matches(pattern: str, name: str) -> bool:
    """Renovate's matchDepNames entry: an exact name, or /regex/."""
    if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
        return re.search(pattern[1:-1], name) is not None
    return pattern == name


def test_the_configuration_keeps_its_promises(
    variant: str, rendered_variant: Callable[[str], Path]
) -> None:
    project = rendered_variant(variant)
    config = read_config(project)
    # Only presets built into Renovate: nothing is fetched to read the file.
    for preset in config["extends"]:
        assert re.fullmatch(r"[a-zA-Z]*:[a-zA-Z]+", preset), preset
    assert ("helpers:pinGitHubActionDigests" in config["extends"]) == (
        read_answers(project)["ci"] == "github"
    )
    assert config["pinDigests"] is True
    assert config["lockFileMaintenance"]["enabled"] is True
    assert "copier" in config.get("enabledManagers", ["copier"])
    (copier_rule,) = rules_matching(config, "matchManagers", "copier")
    assert copier_rule.get("enabled", True) is True
    assert copier_rule["automerge"] is False
    assert copier_rule["labels"] == ["template update"]
    assert copier_rule["groupName"] == "template update"


def test_the_projects_own_images_are_excluded_wherever_they_are_pushed(
    variant: str, rendered_variant: Callable[[str], Path]
) -> None:
    project = rendered_variant(variant)
    config = read_config(project)
    images = project_images(project)
    assert bool(images) == read_answers(project)["with_k8s"]
    disabled = [rule for rule in config["packageRules"] if rule.get("enabled") is False]
    for image in images:
        # As rendered, and after a release's `kustomize edit set image` names the real registry.
        released = image.replace("registry.example.com/", "ghcr.io/acme/")
        for name in (image, released):
            assert any(
                "docker" in rule.get("matchDatasources", [])
                and any(matches(pattern, name) for pattern in rule.get("matchDepNames", []))
                for rule in disabled
            ), name


# Renovate's lookup, offline, on a rendered project.


@pytest.fixture(scope="module")
def released_template_url(template_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The session's template with a newer release tagged: a file:// URL Renovate can list."""
    clone = tmp_path_factory.mktemp("renovate-template") / "template.git"
    git("clone", "--quiet", "--bare", str(template_repo), str(clone), cwd=clone.parent)
    git("tag", NEXT_RELEASE, TEMPLATE_TAG, cwd=clone)
    return clone.as_uri()


def renovate_lookup(project: Path, workspace: Path) -> dict[str, list[dict[str, Any]]]:
    """`renovate --platform=local --dry-run=lookup` in a committed PROJECT: what Renovate found
    and would update, per manager. Every host is disabled, so only git (file://) answers."""
    report = workspace / "report.json"
    global_config = workspace / "global-config.json"
    global_config.write_text(
        json.dumps(
            {
                "platform": "local",
                "dryRun": "lookup",
                "onboarding": False,
                "baseDir": str(workspace / "base"),
                "reportType": "file",
                "reportPath": str(report),
                "hostRules": [{"enabled": False}],
            }
        ),
        encoding="utf-8",
    )
    completed = run_renovate(
        renovate_program("renovate"),
        project,
        RENOVATE_CONFIG_FILE=str(global_config),
        LOG_LEVEL="warn",
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    package_files: dict[str, list[dict[str, Any]]] = json.loads(report.read_text(encoding="utf-8"))[
        "repositories"
    ]["local"]["packageFiles"]
    return package_files


# Every rendering of the files Renovate reads: ci github and none, with and without serving and
# Kubernetes, both CUDA bases (data_source and dvc_remote change none of them).
LOOKUP_VARIANTS = ("defaults", "training-only-cuda12.6", "serving-without-k8s")


@pytest.fixture(scope="module", params=LOOKUP_VARIANTS)
def looked_up(
    request: pytest.FixtureRequest,
    rendered_variant: Callable[[str], Path],
    released_template_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, list[dict[str, Any]]]]:
    """A variant's project, recording the local template's URL, with a stand-in uv.lock,
    committed; and Renovate's report on it."""
    workspace = tmp_path_factory.mktemp(f"renovate-{request.param}")
    project = workspace / "project"
    shutil.copytree(rendered_variant(request.param), project)
    answers = project / ".copier-answers.yml"
    recorded = re.sub(
        r"(?m)^_src_path: .*$",
        f"_src_path: {released_template_url}",
        answers.read_text(encoding="utf-8"),
    )
    answers.write_text(recorded, encoding="utf-8")
    # Renovate gives pyproject.toml to pep621 (uv) when a uv.lock lies beside it; its content
    # matters only to `uv lock`, which a lookup never runs.
    (project / "uv.lock").write_text('version = 1\nrequires-python = "==3.11.*"\n', "utf-8")
    git("init", "--quiet", cwd=project)
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "-m", "rendered", cwd=project)
    return project, renovate_lookup(project, workspace)


def dependencies(
    report: dict[str, list[dict[str, Any]]], manager: str
) -> list[tuple[str, dict[str, Any]]]:
    """(package file, dependency) pairs that MANAGER found."""
    return [
        (package_file["packageFile"], dependency)
        for package_file in report.get(manager, [])
        for dependency in package_file["deps"]
    ]


def test_renovate_proposes_the_next_template_release(
    looked_up: tuple[Path, dict[str, list[dict[str, Any]]]], released_template_url: str
) -> None:
    _, report = looked_up
    ((answers_file, template),) = dependencies(report, "copier")
    assert answers_file == ".copier-answers.yml"
    assert (template["depName"], template["currentValue"]) == (released_template_url, TEMPLATE_TAG)
    assert "skipReason" not in template
    assert [(update["newValue"], update["branchName"]) for update in template["updates"]] == [
        (NEXT_RELEASE, TEMPLATE_BRANCH)
    ]


def test_every_image_is_pinned_and_every_base_followed(
    looked_up: tuple[Path, dict[str, list[dict[str, Any]]]],
) -> None:
    project, report = looked_up
    for manager in IMAGE_MANAGERS:
        for path, image in dependencies(report, manager):
            if image.get("datasource") == "docker":
                assert re.fullmatch(DIGEST, image.get("currentDigest", "")), (path, image)
    bases = [
        (path, dependency)
        for path, dependency in dependencies(report, "dockerfile")
        if dependency.get("datasource") == "docker"
    ]
    assert {path for path, _ in bases} == DOCKERFILES
    assert all("skipReason" not in base for _, base in bases), bases
    # The stage labels that repeat a base's digest are found too, and move with their FROM line.
    labels = dependencies(report, "regex")
    label_count = (project / "Dockerfile").read_text(encoding="utf-8").count(BASE_DIGEST_LABEL)
    assert len(labels) == label_count > 0
    pins = {(base["depName"], base["currentValue"], base["currentDigest"]) for _, base in bases}
    for path, label in labels:
        assert path == "Dockerfile"
        assert "skipReason" not in label
        assert (label["depName"], label["currentValue"], label["currentDigest"]) in pins


def test_actions_are_pinned_by_sha_where_the_project_has_workflows(
    looked_up: tuple[Path, dict[str, list[dict[str, Any]]]],
) -> None:
    project, report = looked_up
    actions = [
        action
        for _, action in dependencies(report, "github-actions")
        if action.get("depType") == "action"
    ]
    assert bool(actions) == (read_answers(project)["ci"] == "github")
    for action in actions:
        assert re.fullmatch(r"[0-9a-f]{40}", action.get("currentDigest", "")), action


def test_the_projects_own_images_are_left_alone(
    looked_up: tuple[Path, dict[str, list[dict[str, Any]]]],
) -> None:
    project, report = looked_up
    own = set(project_images(project))
    found = [
        dependency
        for manager in IMAGE_MANAGERS
        for _, dependency in dependencies(report, manager)
        if dependency.get("datasource") == "docker"
    ]
    assert own <= {dependency["depName"] for dependency in found}
    for dependency in found:
        disabled = dependency.get("skipReason") == "disabled"
        assert disabled == (dependency["depName"] in own), dependency


def test_uv_maintains_the_lock(looked_up: tuple[Path, dict[str, list[dict[str, Any]]]]) -> None:
    _, report = looked_up
    (package_file,) = report["pep621"]
    assert (package_file["packageFile"], package_file["lockFiles"]) == (
        "pyproject.toml",
        ["uv.lock"],
    )
    followed = [dep for dep in package_file["deps"] if "skipReason" not in dep]
    assert {dep["depName"] for dep in followed} >= {"torch", "uv_build"}
    # The Python version is a template answer: a template release moves it.
    (python,) = [dep for dep in package_file["deps"] if dep["depType"] == "requires-python"]
    assert python["skipReason"] == "disabled"
