"""Render tests: the exact file set per answer combination, no Jinja left, portable names."""

from __future__ import annotations

import configparser
import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from copier import run_copy

from tests.helpers import group_requirements, read_answers, tree_files

PACKAGE = "lead_conversion"
BASE_FILES = {
    ".copier-answers.yml",
    ".hermetic/README.md",
    ".hermetic/after_update.py",
    ".hermetic/migrated",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".python-version",
    "LICENSE",
    "README.md",
    "pyproject.toml",
    "renovate.json",
    ".dvc/.gitignore",
    ".dvc/config",
    ".dvcignore",
    "dvc.yaml",
    "params.yaml",
    "data/.gitignore",
    "data/raw/.gitignore",
    "models/.gitignore",
    "benchmarks/bench_stage_memory.py",
    "benchmarks/bench_training.py",
    "tests/__init__.py",
    "tests/bad_values.py",
    "tests/conftest.py",
    "tests/contracts.py",
    "tests/strategies.py",
    "tests/support.py",
    "tests/test_checkpoint.py",
    "tests/test_cli.py",
    "tests/test_contract.py",
    "tests/test_contract_infer.py",
    "tests/test_demo_source.py",
    "tests/test_encoding.py",
    "tests/test_evaluate.py",
    "tests/test_heads.py",
    "tests/test_json_logging.py",
    "tests/test_metrics.py",
    "tests/test_params.py",
    "tests/test_split.py",
    "tests/test_streaming.py",
    "tests/test_training.py",
    "tests/test_validation.py",
    "src/{package}/__init__.py",
    "src/{package}/__main__.py",
    "src/{package}/atomic.py",
    "src/{package}/cli.py",
    "src/{package}/cli_contract.py",
    "src/{package}/cli_errors.py",
    "src/{package}/contract.py",
    "src/{package}/contract_infer.py",
    "src/{package}/contract_profile.py",
    "src/{package}/contract_source.py",
    "src/{package}/errors.py",
    "src/{package}/evaluate.py",
    "src/{package}/features.py",
    "src/{package}/golden.py",
    "src/{package}/json_logging.py",
    "src/{package}/metrics.py",
    "src/{package}/params.py",
    "src/{package}/provenance.py",
    "src/{package}/py.typed",
    "src/{package}/runtime.py",
    "src/{package}/data/__init__.py",
    "src/{package}/data/identifiers.py",
    "src/{package}/data/parquet.py",
    "src/{package}/data/prepare.py",
    "src/{package}/data/raw.py",
    "src/{package}/data/sample.py",
    "src/{package}/data/schema.py",
    "src/{package}/data/split.py",
    "src/{package}/data/streaming.py",
    "src/{package}/data/synthetic.py",
    "src/{package}/model/__init__.py",
    "src/{package}/model/encoding.py",
    "src/{package}/model/heads.py",
    "src/{package}/model/inference.py",
    "src/{package}/model/network.py",
    "src/{package}/model/weights.py",
    "src/{package}/training/__init__.py",
    "src/{package}/training/batches.py",
    "src/{package}/training/checkpoint.py",
    "src/{package}/training/distributed.py",
    "src/{package}/training/loop.py",
    "src/{package}/training/preemption.py",
    "src/{package}/training/seeding.py",
    "src/{package}/drift_reference.py",
    "Dockerfile",
    ".dockerignore",
    ".devcontainer/cpu/Dockerfile",
    ".devcontainer/cpu/devcontainer.json",
    ".devcontainer/gpu/Dockerfile",
    ".devcontainer/gpu/devcontainer.json",
    ".devcontainer/uv-requirements.txt",
    ".vulnerability-ignore.yaml",
    "src/{package}/release/__init__.py",
    "src/{package}/release/__main__.py",
    "src/{package}/release/template_audit.py",
    "src/{package}/release/vulnerability_ignores.py",
    "tests/test_release_ignores.py",
    "tests/test_release_template_audit.py",
}
SERVING_FILES = {
    "benchmarks/bench_serving.py",
    "src/{package}/canary.py",
    "src/{package}/serve/__init__.py",
    "src/{package}/serve/app.py",
    "src/{package}/serve/batching.py",
    "src/{package}/serve/drift.py",
    "src/{package}/serve/drift_statistics.py",
    "src/{package}/serve/health.py",
    "src/{package}/serve/lifecycle.py",
    "src/{package}/serve/metrics.py",
    "src/{package}/serve/middleware.py",
    "src/{package}/serve/openapi.py",
    "src/{package}/serve/predictor.py",
    "src/{package}/serve/request_model.py",
    "src/{package}/serve/runner.py",
    "src/{package}/serve/settings.py",
    "tests/serving/__init__.py",
    "tests/serving/conftest.py",
    "tests/serving/support.py",
    "tests/serving/test_batching.py",
    "tests/serving/test_bodies_of_every_contract.py",
    "tests/serving/test_canary.py",
    "tests/serving/test_drift.py",
    "tests/serving/test_headers_and_logs.py",
    "tests/serving/test_health.py",
    "tests/serving/test_openapi_contract.py",
    "tests/serving/test_process.py",
    "tests/serving/test_request_validation.py",
    "monitoring/README.md",
    "monitoring/alertmanager/alertmanager.yml",
    "monitoring/grafana/dashboard.json",
    "monitoring/prometheus/prometheus.yml",
    "monitoring/prometheus/rules.test.yml",
    "monitoring/prometheus/rules.yml",
}
KUBERNETES_FILES = {
    "deploy/k8s/README.md",
    "deploy/k8s/base/kustomization.yaml",
    "deploy/k8s/base/kustomizeconfig.yaml",
    "deploy/k8s/base/trainjob.yaml",
    "deploy/k8s/base/training-job.yaml",
    "deploy/k8s/base/training-network-policy.yaml",
    "deploy/k8s/base/training-service-account.yaml",
    "deploy/k8s/base/training-volumes.yaml",
    "deploy/k8s/check_custom_resources.py",
    "deploy/k8s/crds/trainjobs.trainer.kubeflow.org.yaml",
    "deploy/k8s/overlays/dev/kustomization.yaml",
    "deploy/k8s/overlays/gpu/kustomization.yaml",
    "deploy/k8s/overlays/prod/kustomization.yaml",
    "src/{package}/release/kustomize_images.py",
    "tests/test_release_images.py",
}
KUBERNETES_SERVING_FILES = {
    "deploy/k8s/base/analysis-templates.yaml",
    "deploy/k8s/base/canary-services.yaml",
    "deploy/k8s/base/deployment.yaml",
    "deploy/k8s/base/rollout.yaml",
    "deploy/k8s/crds/rollouts.argoproj.io.yaml",
    "deploy/k8s/crds/analysistemplates.argoproj.io.yaml",
    "deploy/k8s/crds/servicemonitors.monitoring.coreos.com.yaml",
    "deploy/k8s/crds/prometheusrules.monitoring.coreos.com.yaml",
    "deploy/k8s/base/hpa.yaml",
    "deploy/k8s/base/pdb.yaml",
    "deploy/k8s/base/prometheus-rule.yaml",
    "deploy/k8s/base/service.yaml",
    "deploy/k8s/base/servicemonitor.yaml",
    "deploy/k8s/base/serving-network-policy.yaml",
    "src/{package}/prometheus_rule.py",
    "tests/test_prometheus_rule.py",
}
# The sql data source's modules and tests.
SQL_SOURCE_FILES = {
    "src/{package}/data/demo_database.py",
    "src/{package}/data/snapshot.py",
    "tests/test_snapshot.py",
}
WORKFLOWS = (
    ".github/workflows/ci.yml",
    ".github/workflows/release.yml",
    ".github/workflows/template-update.yml",
)
# Prometheus, Alertmanager, Grafana and Argo Rollouts template their own strings with {{ }} (the
# PrometheusRule is built from monitoring/'s rules, an AnalysisTemplate takes `{{args.NAME}}`);
# Jinja's block and comment markers must still never appear.
GO_TEMPLATED = (
    "monitoring/",
    "deploy/k8s/base/prometheus-rule.yaml",
    "deploy/k8s/base/analysis-templates.yaml",
)

# Pruned matrix: every value of every question at least once, the file-changing ones paired.
MATRIX: list[dict[str, Any]] = [
    {},
    {
        "ci": "none",
        "license": "Apache-2.0",
        "with_serving": False,
        "dvc_remote": "s3",
        "data_source": "sql",
    },
    {
        "ci": "github",
        "license": "Proprietary",
        "with_k8s": False,
        "dvc_remote": "gcs",
        "data_source": "file",
    },
    {"ci": "github", "dvc_remote": "azure", "data_source": "sql"},
    {"ci": "none", "license": "MIT", "cuda_version": "12.6", "dvc_remote": "azure"},
    {
        "project_name": "Churn.Model_v2",
        "distribution_name": "Churn.Model_v2",
        "description": (
            'Say "hi" \\ to O\'Brien — ünïcode, a line well past the hundred-character limit'
        ),
        "author_name": "Seán O'Brien",
        "with_serving": False,
        "with_k8s": False,
    },
]


def expected_files(answers: dict[str, Any], package: str) -> set[str]:
    files = {path.format(package=package) for path in BASE_FILES}
    if answers.get("with_serving", True):
        files |= {path.format(package=package) for path in SERVING_FILES}
    if answers.get("with_k8s", True):
        files |= {path.format(package=package) for path in KUBERNETES_FILES}
        if answers.get("with_serving", True):
            files |= {path.format(package=package) for path in KUBERNETES_SERVING_FILES}
    if answers.get("ci", "github") == "github":
        files |= set(WORKFLOWS)
    if answers.get("data_source") == "sql":
        files |= {path.format(package=package) for path in SQL_SOURCE_FILES}
    return files


def _render(template: Path, destination: Path, answers: dict[str, Any]) -> None:
    run_copy(str(template), destination, data=answers, defaults=True, unsafe=True, quiet=True)


@pytest.fixture(scope="module", params=range(len(MATRIX)), ids=lambda i: f"combo{i}")
def rendered(
    request: pytest.FixtureRequest, template_repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Path]:
    answers = MATRIX[request.param]
    destination = tmp_path_factory.mktemp("render") / "project"
    _render(template_repo, destination, answers)
    return answers, destination


def test_exact_file_set(rendered: tuple[dict[str, Any], Path]) -> None:
    answers, project = rendered
    package = read_answers(project)["package_name"]
    assert tree_files(project) == expected_files(answers, package)


def test_the_readme_names_the_template_source_it_was_generated_from(
    rendered: tuple[dict[str, Any], Path],
) -> None:
    """Where the template lives (as .copier-answers.yml records it), never a package page."""
    _, project = rendered
    readme = (project / "README.md").read_text(encoding="utf-8")
    source = read_answers(project)["_src_path"]
    assert f"Generated from the hermetic-ml template at `{source}`" in readme
    assert "pypi.org" not in readme


def test_answers_are_recorded_for_updates(rendered: tuple[dict[str, Any], Path]) -> None:
    answers, project = rendered
    recorded = read_answers(project)
    for question, value in answers.items():
        assert recorded[question] == value
    assert recorded["_commit"] == "v0.1.0"


def test_no_jinja_survives_rendering(rendered: tuple[dict[str, Any], Path]) -> None:
    _, project = rendered
    for relative in tree_files(project):
        assert not re.search(r"[{}%]", relative), relative
        text = (project / relative).read_text(encoding="utf-8")
        if relative in WORKFLOWS:  # GitHub's own expressions, e.g. ${{ secrets.NAME }}
            text = re.sub(r"\$\{\{ [^{}]+ \}\}", "", text)
        markers: tuple[str, ...] = ("{%", "%}", "{#", "#}")
        if not relative.startswith(GO_TEMPLATED):
            markers += ("{{", "}}")
        for marker in markers:
            assert marker not in text, f"{marker!r} left in {relative}"


def test_answers_that_look_like_jinja_are_taken_literally(
    template_repo: Path, tmp_path: Path
) -> None:
    literal = "{{ 7 * 7 }} and {% raw %} stay as typed"
    _render(template_repo, tmp_path / "p", {"description": literal})
    pyproject = tomllib.loads((tmp_path / "p" / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == literal
    assert read_answers(tmp_path / "p")["description"] == literal


_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com[1-9]|lpt[1-9])(\..*)?$", re.IGNORECASE)
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"|?*\\\x00-\x1f]')


def assert_windows_safe(relative: str) -> None:
    for part in PurePosixPath(relative).parts:
        assert not _WINDOWS_FORBIDDEN.search(part), f"{relative}: forbidden character"
        assert not _WINDOWS_RESERVED.match(part), f"{relative}: reserved name"
        assert not part.endswith((".", " ")), f"{relative}: trailing dot or space"
    assert len(relative) < 200, f"{relative}: too long for Windows paths"


def test_rendered_names_are_windows_safe(rendered: tuple[dict[str, Any], Path]) -> None:
    _, project = rendered
    names = tree_files(project)
    for relative in names:
        assert_windows_safe(relative)
    lowered = [name.lower() for name in names]
    assert len(lowered) == len(set(lowered)), "names that differ only in case"


def test_template_source_names_are_windows_safe(template_repo: Path) -> None:
    for relative in tree_files(template_repo):
        assert_windows_safe(relative)


def test_pyproject_carries_the_answers_exactly(rendered: tuple[dict[str, Any], Path]) -> None:
    _, project = rendered
    recorded = read_answers(project)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["name"] == recorded["distribution_name"]
    assert pyproject["project"]["description"] == recorded["description"]
    assert pyproject["project"]["authors"] == [
        {"name": recorded["author_name"], "email": recorded["author_email"]}
    ]
    assert pyproject["project"]["requires-python"] == f"=={recorded['python_version']}.*"
    assert pyproject["tool"]["uv"]["exclude-newer"] == f"{recorded['exclude_newer']}T00:00:00Z"
    assert pyproject["project"]["scripts"] == {
        recorded["package_name"]: f"{recorded['package_name']}.__main__:main"
    }
    assert (project / ".python-version").read_text(encoding="utf-8").strip() == "3.11"


def test_every_dependency_is_pinned_exactly(rendered: tuple[dict[str, Any], Path]) -> None:
    answers, project = rendered
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = [
        *pyproject["project"]["dependencies"],
        *group_requirements(pyproject, "dev"),
        *pyproject["build-system"]["requires"],
    ]
    for requirement in requirements:
        pinned = r"[A-Za-z0-9_.\-]+(\[[a-z,]+\])?==[0-9][0-9A-Za-z.]*"
        marker = r"( ?; [a-z_]+ (==|!=) '[a-z0-9]+')?"
        assert re.fullmatch(pinned + marker, requirement), requirement
    names = {re.split(r"[\[=]", requirement)[0] for requirement in requirements}
    serving = {"fastapi", "uvicorn", "prometheus-client", "schemathesis", "httpx2"}
    assert serving <= names if answers.get("with_serving", True) else not serving & names
    assert {"torch", "numpy", "pandas", "pyarrow", "pandera", "safetensors", "dvc"} <= names


def test_license_follows_the_answer(rendered: tuple[dict[str, Any], Path]) -> None:
    _, project = rendered
    recorded = read_answers(project)
    text = (project / "LICENSE").read_text(encoding="utf-8")
    declared = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    headline = {
        "MIT": "MIT License",
        "Apache-2.0": "Apache License",
        "Proprietary": "All rights reserved.",
    }[recorded["license"]]
    assert headline in text
    assert sum(word in text for word in ("MIT License", "Apache License", "rights reserved")) == 1
    spdx = "LicenseRef-Proprietary" if recorded["license"] == "Proprietary" else recorded["license"]
    assert declared["project"]["license"] == spdx
    if recorded["license"] != "Apache-2.0":
        assert f"{recorded['exclude_newer'][:4]} {recorded['author_name']}" in text


def test_pre_commit_hooks_are_local_only(rendered: tuple[dict[str, Any], Path]) -> None:
    _, project = rendered
    config = yaml.safe_load((project / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = {hook["id"]: hook for hook in config["repos"][0]["hooks"]}
    assert {"ruff-format", "ruff-check", "mypy", "uv-lock-check", "no-notebooks"} <= set(hooks)
    assert hooks["no-notebooks"]["language"] == "fail"
    assert re.search(hooks["no-notebooks"]["files"], "analysis/explore.ipynb")
    assert hooks["uv-lock-check"]["entry"] == "uv lock --check"


def test_workflow_actions_are_pinned_by_commit_sha(rendered: tuple[dict[str, Any], Path]) -> None:
    answers, project = rendered
    if answers.get("ci", "github") != "github":
        assert not (project / ".github").exists()
        return
    for relative in WORKFLOWS:
        workflow = yaml.safe_load((project / relative).read_text(encoding="utf-8"))
        # Least privilege: read at the top; a job that writes says so itself.
        assert workflow["permissions"] == {"contents": "read"}, relative
        for job in workflow["jobs"].values():
            assert set(job.get("permissions", {}).values()) <= {"read", "write"}, relative
        steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
        uses = [step["uses"] for step in steps if "uses" in step]
        assert uses, "the workflow checks out the repository"
        for action in uses:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action
        commands = " ".join(step.get("run", "") for step in steps)
        # The uv of the DevContainers (tests/test_generated_containers.py checks its pins).
        assert "--require-hashes --requirement .devcontainer/uv-requirements.txt" in commands
        if relative == WORKFLOWS[0]:
            assert "uv sync --locked" in commands


_DVC_PLUGINS = {"s3": "dvc-s3", "gcs": "dvc-gs", "azure": "dvc-azure"}


def test_the_dvc_remote_follows_the_answers(rendered: tuple[dict[str, Any], Path]) -> None:
    _, project = rendered
    recorded = read_answers(project)
    config = configparser.ConfigParser()
    config.read(project / ".dvc" / "config", encoding="utf-8")
    assert config["core"]["remote"] == "storage"
    # DVC writes section names quoted: ['remote "storage"']
    assert config["'remote \"storage\"'"]["url"] == recorded["dvc_remote_url"]
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    plugins = {
        re.split(r"==", requirement)[0]
        for requirement in group_requirements(pyproject, "dev")
        if requirement.startswith("dvc-")
    }
    expected = _DVC_PLUGINS.get(recorded["dvc_remote"])
    assert plugins == ({expected} if expected else set())


def test_every_pipeline_stage_runs_a_command_of_the_package(
    rendered: tuple[dict[str, Any], Path],
) -> None:
    _, project = rendered
    package = read_answers(project)["package_name"]
    pipeline = yaml.safe_load((project / "dvc.yaml").read_text(encoding="utf-8"))
    sources = {"synthetic": ["sample"], "file": [], "sql": ["sample", "snapshot"]}
    source = read_answers(project)["data_source"]
    assert list(pipeline["stages"]) == [*sources[source], "prepare", "train", "evaluate", "golden"]
    params = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    for name, stage in pipeline["stages"].items():
        # The sql demo's snapshot sets the database URL before its command.
        command = stage["cmd"].removeprefix(f"{package.upper()}_DATABASE_URL=").split(" ", 1)
        command = command[1] if "://" in command[0] else " ".join(command)
        assert command.split(" --")[0] == f"{package} {name}"
        for dependency in stage["deps"]:
            if dependency.startswith("src/"):
                assert (project / dependency).exists(), dependency
        assert set(stage["params"]) <= set(params)


@pytest.mark.parametrize(
    "answers",
    [
        {"project_name": "LC"},
        {"project_name": "X " + "Y" * 30, "package_name": "p" * 32},
    ],
    ids=["shortest-package", "longest-package"],
)
def test_formatting_and_lint_hold_for_any_package_name_length(
    template_repo: Path, tmp_path: Path, answers: dict[str, Any]
) -> None:
    """The package name lands in imports and strings: no length may break the line limit."""
    _render(template_repo, tmp_path / "p", answers)
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent))
    assert ruff is not None, "ruff is in the tool's dev environment, pinned like the template's"
    for command in (["format", "--check", "--diff"], ["check", "--no-cache"]):
        completed = subprocess.run(
            [ruff, *command, "."], cwd=tmp_path / "p", capture_output=True, text=True, check=False
        )
        assert completed.returncode == 0, completed.stdout + completed.stderr


def test_the_demo_contract_carries_its_hash_so_contract_infer_may_replace_it(
    rendered: tuple[dict[str, Any], Path],
) -> None:
    """`contract infer` replaces features.py only while its last line is the hash of the rest."""
    _, project = rendered
    package = read_answers(project)["package_name"]
    text = (project / "src" / package / "features.py").read_text(encoding="utf-8")
    body, marker = text.rsplit("# contract-sha256: ", 1)
    assert marker == hashlib.sha256(body.encode()).hexdigest()[:16] + "\n"
