"""The generated deploy/k8s/: every overlay builds with kustomize, its built-in kinds pass
`kubernetes-validate --strict`, checkov finds nothing, and the settings that keep the service
and training safe are where they must be. The custom resources (TrainJob, Rollout,
AnalysisTemplate, ServiceMonitor, PrometheusRule) have no schema there: they validate strictly
against their engines' CRDs (test_generated_custom_resources.py) and get the checks of what
they mean here and in test_generated_canary.py.
"""

from __future__ import annotations

import ast
import copy
import json
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from tests.dockerfile_support import read_dockerfile
from tests.helpers import (
    child_environment,
    free_port,
    git,
    http_status,
    read_answers,
    run_command,
)
from tests.kubernetes_support import (
    CUSTOM_KINDS,
    KUBERNETES_VERSION,
    TRAINJOB_NODE,
    Build,
    PodTemplate,
    argument_value,
    checkov,
    environment_tool,
    kustomize,
    local_command,
    pod_environment,
    run_pod_script,
    script_commands,
    selects,
    training_image_files,
)
from tests.rendering import render_variant

KUBERNETES_VARIANTS = (
    "defaults",
    "training-only-cuda12.6",
    "file-s3",
    "sql-gcs-training-only",
    "synthetic-azure",
)
OVERLAYS = ("base", "overlays/dev", "overlays/prod", "overlays/gpu")
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64
SERVING_KINDS = Counter(
    {
        ("Deployment", "serving"): 1,
        ("Rollout", "serving"): 1,
        ("AnalysisTemplate", "serving-canary-metrics"): 1,
        ("AnalysisTemplate", "serving-golden-set"): 1,
        ("Service", "serving"): 1,
        ("Service", "serving-stable"): 1,
        ("Service", "serving-canary"): 1,
        ("HorizontalPodAutoscaler", "serving"): 1,
        ("PodDisruptionBudget", "serving"): 1,
        ("NetworkPolicy", "serving"): 1,
        ("ServiceMonitor", "serving"): 1,
        ("PrometheusRule", "serving-alerts"): 1,
    }
)
TRAINING_KINDS = Counter(
    {
        ("NetworkPolicy", "training"): 1,
        ("ServiceAccount", "training"): 1,
        ("PersistentVolumeClaim", "train-checkpoints"): 1,
        ("PersistentVolumeClaim", "train-multinode-checkpoints"): 1,
        ("Job", "train"): 1,
        ("TrainJob", "train-multinode"): 1,
    }
)
DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


# --- Builds, once per session ------------------------------------------------------------------


@pytest.fixture(scope="session")
def built(
    rendered_variant: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str, str], Build]:
    """`kubectl kustomize` of an overlay of a rendered variant, built once."""
    outputs = tmp_path_factory.mktemp("kustomize")
    builds: dict[tuple[str, str], Build] = {}

    def build(variant: str, overlay: str) -> Build:
        if (variant, overlay) not in builds:
            directory = rendered_variant(variant) / "deploy" / "k8s" / overlay
            output = outputs / variant / f"{Path(overlay).name}.yaml"
            builds[variant, overlay] = kustomize(directory, output, variant, overlay)
        return builds[variant, overlay]

    return build


@pytest.fixture(scope="session")
def every_overlay(built: Callable[[str, str], Build]) -> Callable[[str], list[Build]]:
    """All overlays of a variant, built; their outputs share one directory."""
    return lambda variant: [built(variant, overlay) for overlay in OVERLAYS]


@pytest.fixture(params=KUBERNETES_VARIANTS)
def variant(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=OVERLAYS, ids=lambda overlay: Path(overlay).name)
def build(
    request: pytest.FixtureRequest, variant: str, built: Callable[[str, str], Build]
) -> Build:
    return built(variant, str(request.param))


@pytest.fixture(params=OVERLAYS, ids=lambda overlay: Path(overlay).name)
def serving_build(request: pytest.FixtureRequest, built: Callable[[str, str], Build]) -> Build:
    """An overlay of the variant with the service (the defaults)."""
    return built("defaults", str(request.param))


def _package(project: Path) -> str:
    return str(read_answers(project)["package_name"])


def _short_names(build: Build) -> Counter[tuple[str, str]]:
    """(kind, name without the project's prefix) of every object built."""
    job = build.one("Job")["metadata"]
    prefix = job["name"].removesuffix("train")
    assert prefix == f"{job['namespace']}-", "names start with the project's, as the namespace"
    return Counter(
        (document["kind"], document["metadata"]["name"].removeprefix(prefix))
        for document in build.documents
    )


# --- The file set and the builds ---------------------------------------------------------------


def test_no_kubernetes_files_without_k8s(rendered_variant: Callable[[str], Path]) -> None:
    project = rendered_variant("serving-without-k8s")
    package = _package(project)
    assert not (project / "deploy").exists()
    assert not (project / "src" / package / "prometheus_rule.py").exists()
    assert not (project / "tests" / "test_prometheus_rule.py").exists()
    assert "prometheus-rule" not in (project / "src" / package / "cli.py").read_text("utf-8")


def test_the_prometheus_rule_command_exists_only_with_the_service(
    rendered_variant: Callable[[str], Path],
) -> None:
    with_service = rendered_variant("defaults")
    training_only = rendered_variant("training-only-cuda12.6")
    assert (with_service / "src" / _package(with_service) / "prometheus_rule.py").is_file()
    assert (with_service / "tests" / "test_prometheus_rule.py").is_file()
    assert not (training_only / "deploy" / "k8s" / "base" / "prometheus-rule.yaml").exists()
    assert not (training_only / "src" / _package(training_only) / "prometheus_rule.py").exists()


def test_every_overlay_builds_the_objects_of_its_variant(
    build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    answers = read_answers(rendered_variant(build.variant))
    expected = TRAINING_KINDS + (SERVING_KINDS if answers["with_serving"] else Counter())
    if answers["dvc_remote"] == "local":  # the directory remote's shared volume
        expected[("PersistentVolumeClaim", "dvc-remote")] = 1
    assert _short_names(build) == expected


def _assert_dns_names(build: Build) -> None:
    """One namespace, and every name (and the pod names the operator derives) a DNS label."""
    namespaces = {document["metadata"].get("namespace") for document in build.documents}
    assert len(namespaces) == 1
    (namespace,) = namespaces
    assert namespace is not None and DNS_LABEL.match(namespace), namespace
    for document in build.documents:
        name = document["metadata"]["name"]
        # A TrainJob's JobSet names its pods' hostnames <job>-node-<job index>-<pod index>.
        longest = f"{name}-node-0-0" if document["kind"] == "TrainJob" else name
        assert DNS_LABEL.match(longest), longest


def test_names_and_namespace_are_dns_labels(build: Build) -> None:
    _assert_dns_names(build)


def test_an_awkward_project_name_still_gives_dns_labels(
    template_repo: Path, tmp_path: Path
) -> None:
    name = "3D.Vision_Model-for-Lead-Scoring-across-Every-Region"  # a digit first, 51 characters
    answers = {"distribution_name": name, "package_name": "vision_model"}
    project = render_variant(template_repo, tmp_path / "p", answers)
    build = kustomize(project / "deploy/k8s/base", tmp_path / "base.yaml", "awkward", "base")
    namespace = build.one("Job")["metadata"]["namespace"]
    assert namespace.startswith("ml-3d-vision-model"), namespace
    _assert_dns_names(build)


# --- kubernetes-validate and checkov, over every overlay of a variant at once ------------------


def test_built_in_kinds_pass_strict_validation(
    variant: str, every_overlay: Callable[[str], list[Build]]
) -> None:
    builds = every_overlay(variant)
    completed = run_command(
        [
            environment_tool("kubernetes-validate"),
            "--strict",
            "--kubernetes-version",
            KUBERNETES_VERSION,
            *(build.path for build in builds),
        ]
    )
    report = completed.stdout + completed.stderr
    assert completed.returncode == 0, report
    built_in = sum(
        1
        for build in builds
        for document in build.documents
        if document["kind"] not in CUSTOM_KINDS
    )
    assert report.count(" passed for resource ") == built_in, report
    unvalidated = set(re.findall(r"Couldn't find schema for kind (\w+)", report))
    present = {d["kind"] for build in builds for d in build.documents} & CUSTOM_KINDS
    assert unvalidated == present, "only the custom resources may go without a schema"


def test_strict_validation_rejects_a_misspelled_field(
    built: Callable[[str, str], Build], tmp_path: Path
) -> None:
    """The control: the validator above can fail (an unknown field in a Deployment)."""
    deployment = built("defaults", "base").one("Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(broken), encoding="utf-8")
    completed = run_command(
        [
            environment_tool("kubernetes-validate"),
            "--strict",
            "--kubernetes-version",
            KUBERNETES_VERSION,
            path,
        ]
    )
    assert completed.returncode != 0
    assert "replica" in completed.stdout + completed.stderr


def test_checkov_finds_nothing_and_every_skip_has_a_reason(
    variant: str, every_overlay: Callable[[str], list[Build]]
) -> None:
    builds = every_overlay(variant)
    directory = builds[0].path.parent
    assert {build.path.parent for build in builds} == {directory}
    completed = run_command(
        [
            checkov(),
            "--framework",
            "kubernetes",
            "--directory",
            directory,
            "--output",
            "json",
            "--compact",
            "--skip-download",  # no network: no guideline links
        ]
    )
    reports = json.loads(completed.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [c for r in reports for c in r["results"]["failed_checks"]]
    skipped = [c for r in reports for c in r["results"]["skipped_checks"]]
    passed = sum(r["summary"]["passed"] for r in reports)
    assert not failed, "\n".join(
        f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in failed
    )
    for check in skipped:
        assert check["check_result"].get("suppress_comment", "").strip(), (
            f"{check['check_id']}: a skip without a reason"
        )
    # It looked at every overlay's workloads: at least the Job in each, and the Deployment.
    scanned = {Path(c["file_path"]).name for r in reports for c in r["results"]["passed_checks"]}
    assert scanned == {build.path.name for build in builds}
    assert passed > 0
    assert completed.returncode == 0, completed.stderr


def test_checkov_flags_a_container_that_may_write_its_root_filesystem(
    built: Callable[[str, str], Build], tmp_path: Path
) -> None:
    """The control: the checkov run above can fail (CKV_K8S_22 on a writable root filesystem)."""
    job = copy.deepcopy(built("training-only-cuda12.6", "base").one("Job"))
    job["spec"]["template"]["spec"]["containers"][0]["securityContext"][
        "readOnlyRootFilesystem"
    ] = False
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job), encoding="utf-8")
    completed = run_command(
        [
            checkov(),
            "--framework",
            "kubernetes",
            "--directory",
            tmp_path,
            "--output",
            "json",
            "--compact",
            "--skip-download",
        ]
    )
    report = json.loads(completed.stdout)
    failed = {check["check_id"] for check in report["results"]["failed_checks"]}
    assert "CKV_K8S_22" in failed, failed
    assert completed.returncode == 1


def test_every_checkov_skip_annotation_carries_a_reason(
    rendered_variant: Callable[[str], Path],
) -> None:
    for variant in KUBERNETES_VARIANTS:
        for path in (rendered_variant(variant) / "deploy").rglob("*.yaml"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if "checkov.io/skip" in line:
                    assert re.search(r"checkov\.io/skip\d+:\s*CKV2?_K8S_\d+=\S", line), line


# --- Images ------------------------------------------------------------------------------------


def test_every_image_is_the_project_image_by_digest(
    build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    """The service and its golden-set analysis run the default target, every training container
    the `training` target."""
    project = rendered_variant(build.variant)
    image = f"registry.example.com/{read_answers(project)['distribution_name'].lower()}"
    for pod in build.pod_templates():
        serving = pod.kind in {"Deployment", "AnalysisTemplate"}
        expected = image if serving else f"{image}-training"
        for container in pod.containers:
            assert container["image"] == f"{expected}@{PLACEHOLDER_DIGEST}", pod.owner


def test_image_sources_and_the_release_step_agree(rendered_variant: Callable[[str], Path]) -> None:
    for variant in KUBERNETES_VARIANTS:
        project = rendered_variant(variant)
        k8s = project / "deploy" / "k8s"
        answers = read_answers(project)
        image = f"registry.example.com/{answers['distribution_name'].lower()}"
        images = [f"{image}-training", *([image] if answers["with_serving"] else [])]
        for path in k8s.rglob("*.yaml"):
            if "crds" in path.relative_to(k8s).parts:  # schemas, not manifests
                continue
            for line in path.read_text(encoding="utf-8").splitlines():
                if re.match(r"\s*(-\s*)?image:", line):
                    named = line.split("image:", 1)[1].strip()
                    assert named in {f"{name}@{PLACEHOLDER_DIGEST}" for name in images}, named
        kustomization = yaml.safe_load((k8s / "base" / "kustomization.yaml").read_text("utf-8"))
        assert sorted(kustomization["images"], key=str) == sorted(
            ({"name": name, "digest": PLACEHOLDER_DIGEST} for name in images), key=str
        )
        # The README's manual release pins exactly these names; the base points to that command.
        readme = (k8s / "README.md").read_text("utf-8")
        for name in images:
            release = f"--image {name}=REGISTRY/{name.rsplit('/', 1)[1]}@sha256:DIGEST"
            assert release in readme, release
        command = f"python -m {answers['package_name']}.release set-images"
        assert command in readme
        assert command in (k8s / "base" / "kustomization.yaml").read_text("utf-8")


# --- Pod security and resources ----------------------------------------------------------------


def test_every_pod_runs_locked_down(build: Build) -> None:
    pods = build.pod_templates()
    assert pods
    for pod in pods:
        spec = pod.spec
        if pod.kind == "TrainJob":  # it cannot say so in the pod: its service account does
            (account,) = [
                a
                for a in build.of_kind("ServiceAccount")
                if a["metadata"]["name"] == spec["serviceAccountName"]
            ]
            assert account["automountServiceAccountToken"] is False, pod.owner
            assert "automountServiceAccountToken" not in spec, pod.owner
        else:
            assert spec["automountServiceAccountToken"] is False, pod.owner
        pod_security = spec["securityContext"]
        assert pod_security["runAsNonRoot"] is True, pod.owner
        assert pod_security["runAsUser"] == 10001, pod.owner
        assert pod_security["seccompProfile"] == {"type": "RuntimeDefault"}, pod.owner
        volumes = {volume["name"]: volume for volume in spec["volumes"]}
        for container in pod.containers:
            where = f"{pod.owner} {container['name']}"
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, where
            assert security["readOnlyRootFilesystem"] is True, where
            assert security["runAsNonRoot"] is True, where
            assert security["runAsUser"] == 10001, where
            assert security["capabilities"] == {"drop": ["ALL"]}, where
            assert security["seccompProfile"] == {"type": "RuntimeDefault"}, where
            (tmp,) = [m for m in container["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert "emptyDir" in volumes[tmp["name"]], where


def test_every_container_has_requests_and_limits(build: Build) -> None:
    for pod in build.pod_templates():
        for container in pod.containers:
            resources = container["resources"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[kind]), f"{pod.owner} {container['name']}"


def _main_containers(build: Build) -> dict[str, dict[str, Any]]:
    """The container that does the work in each pod template (init containers aside)."""
    return {pod.owner: pod.spec["containers"][0] for pod in build.pod_templates()}


def test_gpus_only_in_the_gpu_overlay(build: Build) -> None:
    """The service and the training pods; the golden-set analysis only sends requests."""
    on_gpu = build.overlay == "overlays/gpu"
    for pod in build.pod_templates():
        gpu = on_gpu and pod.kind != "AnalysisTemplate"
        main = pod.spec["containers"][0]
        for kind in ("requests", "limits"):
            assert (main["resources"][kind].get("nvidia.com/gpu") == 1) is gpu, pod.owner
        for container in pod.spec.get("initContainers", []):
            assert "nvidia.com/gpu" not in container["resources"]["limits"], pod.owner
        assert ("nodeSelector" in pod.spec) is gpu, pod.owner
        tolerations = pod.spec.get("tolerations", [])
        assert any(t["key"] == "nvidia.com/gpu" for t in tolerations) is gpu, pod.owner
    if build.variant == "defaults":
        arguments = build.one("Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
        assert argument_value(arguments, "--device") == ("cuda" if on_gpu else "cpu")


# --- The service -------------------------------------------------------------------------------


def _serving_pod(build: Build) -> PodTemplate:
    (pod,) = [pod for pod in build.pod_templates() if pod.kind == "Deployment"]
    return pod


def _service(build: Build, short_name: str) -> dict[str, Any]:
    """The Service named SHORT_NAME, after the project's prefix."""
    prefix = build.one("Job")["metadata"]["name"].removesuffix("train")
    (service,) = [
        s for s in build.of_kind("Service") if s["metadata"]["name"] == prefix + short_name
    ]
    return service


def _routes(project: Path) -> set[str]:
    """The paths the generated FastAPI app declares (`@api.get("/path")` and friends)."""
    source = project / "src" / _package(project) / "serve" / "app.py"
    paths = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"get", "post"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).startswith("/")
        ):
            paths.add(str(node.args[0].value))
    return paths


def _settings_default(project: Path, field: str) -> float:
    """A default of ServiceSettings, read from the generated source."""
    source = project / "src" / _package(project) / "serve" / "settings.py"
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == field
            and isinstance(node.value, ast.Call)
        ):
            (default,) = [k.value for k in node.value.keywords if k.arg == "default"]
            assert isinstance(default, ast.Constant)
            assert isinstance(default.value, int | float), default.value
            return float(default.value)
    raise AssertionError(f"{field} not found in {source}")


def test_probes_hit_paths_and_ports_the_service_has(
    serving_build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    container = _serving_pod(serving_build).container("server")
    port = int(argument_value(container["args"], "--port"))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": port}
    routes = _routes(rendered_variant("defaults"))
    expected = {"startupProbe": "/health/live", "readinessProbe": "/health/ready"}
    expected["livenessProbe"] = "/health/live"
    for probe, path in expected.items():
        http = container[probe]["httpGet"]
        assert http["path"] == path and path in routes, probe
        assert ports.get(http["port"], http["port"]) == port, probe
    assert container["command"] == ["python", "-m", _package(rendered_variant("defaults"))]
    assert container["args"][0] == "serve"
    assert argument_value(container["args"], "--host") == "0.0.0.0"  # noqa: S104 - in a pod


def test_the_grace_period_covers_the_prestop_the_drain_and_the_graceful_shutdown(
    serving_build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    pod = _serving_pod(serving_build)
    container = pod.container("server")
    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = float(argument_value(container["args"], "--drain-seconds"))
    graceful = _settings_default(rendered_variant("defaults"), "graceful_timeout_seconds")
    assert pre_stop > 0 and drain > 0
    assert pod.spec["terminationGracePeriodSeconds"] >= pre_stop + drain + graceful


def test_the_service_selects_the_pods_and_names_their_port(serving_build: Build) -> None:
    pod = _serving_pod(serving_build)
    service = _service(serving_build, "serving")
    deployment = serving_build.one("Deployment")
    assert selects(service["spec"]["selector"], pod.metadata["labels"])
    assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
    container_ports = {p["name"] for p in pod.container("server")["ports"]}
    assert {p["targetPort"] for p in service["spec"]["ports"]} <= container_ports
    for other in serving_build.pod_templates():
        if other.owner != pod.owner:
            assert not selects(service["spec"]["selector"], other.metadata["labels"]), other.owner


def test_the_service_monitor_scrapes_the_service_as_the_rules_expect(serving_build: Build) -> None:
    monitor = serving_build.one("ServiceMonitor")
    service = _service(serving_build, "serving")
    assert selects(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"])
    assert "namespaceSelector" not in monitor["spec"]  # its own namespace, the service's
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert endpoint["path"] == "/metrics"
    # The rules name the scrape job (ModelNotReady): the job label must be that name.
    rules = yaml.dump(serving_build.one("PrometheusRule")["spec"])
    (job,) = set(re.findall(r'job="([^"]+)"', rules))
    assert {"action": "replace", "targetLabel": "job", "replacement": job} in endpoint[
        "relabelings"
    ]


def test_the_autoscaler_targets_the_rollout(serving_build: Build) -> None:
    autoscaler = serving_build.one("HorizontalPodAutoscaler")
    deployment = serving_build.one("Deployment")
    rollout = serving_build.one("Rollout")
    assert autoscaler["apiVersion"] == "autoscaling/v2"
    assert autoscaler["spec"]["scaleTargetRef"] == {
        "apiVersion": rollout["apiVersion"],
        "kind": "Rollout",
        "name": rollout["metadata"]["name"],
    }
    assert "replicas" not in rollout["spec"], "the autoscaler owns the replica count"
    assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
    minimum, maximum = autoscaler["spec"]["minReplicas"], autoscaler["spec"]["maxReplicas"]
    expected = {"base": (2, 6), "dev": (1, 1), "prod": (3, 12), "gpu": (3, 12)}
    assert (minimum, maximum) == expected[Path(serving_build.overlay).name]
    cpu = deployment["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"]
    assert cpu, "utilization is measured against the CPU request"


def test_the_disruption_budget_covers_the_serving_pods(serving_build: Build) -> None:
    budget = serving_build.one("PodDisruptionBudget")
    pod = _serving_pod(serving_build)
    selector = budget["spec"]["selector"]["matchLabels"]
    assert selects(selector, pod.metadata["labels"])
    assert selector == serving_build.one("Deployment")["spec"]["selector"]["matchLabels"]
    strict = Path(serving_build.overlay).name in {"prod", "gpu"}
    assert budget["spec"]["maxUnavailable"] == (1 if strict else "50%")


def test_the_prometheus_rule_holds_the_rules_file_exactly(
    serving_build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    project = rendered_variant("defaults")
    rules = yaml.safe_load((project / "monitoring/prometheus/rules.yml").read_text("utf-8"))
    resource = serving_build.one("PrometheusRule")
    assert resource["apiVersion"] == "monitoring.coreos.com/v1"
    assert resource["spec"] == {"groups": rules["groups"]}


# --- Training ----------------------------------------------------------------------------------


def _claims(build: Build) -> dict[str, dict[str, Any]]:
    return {claim["metadata"]["name"]: claim for claim in build.of_kind("PersistentVolumeClaim")}


def _mounted(pod: PodTemplate, container: dict[str, Any], path: str) -> dict[str, Any]:
    """The volume mounted at PATH in CONTAINER (the test fails if there is none)."""
    (mount,) = [m for m in container.get("volumeMounts", []) if m["mountPath"] == path]
    (volume,) = [v for v in pod.spec["volumes"] if v["name"] == mount["name"]]
    return {**volume, "readOnly": mount.get("readOnly", False)}


def _mounted_claim(
    build: Build, pod: PodTemplate, container: dict[str, Any], path: str
) -> dict[str, Any]:
    """The PersistentVolumeClaim mounted writable at PATH in CONTAINER."""
    volume = _mounted(pod, container, path)
    assert not volume["readOnly"], f"{pod.owner}: {path} is read-only"
    assert "persistentVolumeClaim" in volume, f"{pod.owner}: {path} is not on a claim"
    return _claims(build)[volume["persistentVolumeClaim"]["claimName"]]


def _training_pods(build: Build) -> list[PodTemplate]:
    return [pod for pod in build.pod_templates() if pod.kind in {"Job", "TrainJob"}]


def _stage_command(project: Path, stage: str) -> str:
    pipeline = yaml.safe_load((project / "dvc.yaml").read_text(encoding="utf-8"))
    return str(pipeline["stages"][stage]["cmd"])


def _trainer(container: dict[str, Any]) -> str:
    """The command the training script starts in the background (the one it waits for)."""
    (trainer,) = [c.removesuffix(" &") for c in script_commands(container) if c.endswith(" &")]
    return trainer


# The train command's default checkpoint directory (cli.py), relative to the workspace.
CHECKPOINTS = "checkpoints"


def test_the_training_job_checkpoints_to_a_claim_and_retries_preemption(
    build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    project = rendered_variant(build.variant)
    job = build.one("Job")
    (pod,) = [pod for pod in build.pod_templates() if pod.kind == "Job"]
    train = pod.container("train")
    # dvc.yaml's train command exactly (the console script is `python -m` in the image).
    assert _trainer(train) == f"python -m {_stage_command(project, 'train')}"
    checkpoints = _mounted_claim(build, pod, train, f"{train['workingDir']}/{CHECKPOINTS}")
    assert checkpoints["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert pod.spec["restartPolicy"] == "Never"  # required by podFailurePolicy
    assert pod.spec["terminationGracePeriodSeconds"] >= 60, "time to write a checkpoint"
    spec = job["spec"]
    assert spec["backoffLimit"] >= 1
    assert spec["podReplacementPolicy"] == "Failed"
    rules = spec["podFailurePolicy"]["rules"]
    preempted = {"containerName": "train", "operator": "In", "values": [75]}
    assert {"action": "Ignore", "onExitCodes": preempted} in rules
    assert {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]} in rules
    assert {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [2]}} in rules
    # The script passes SIGTERM on and exits with the trainer's status (75 included).
    commands = script_commands(train)
    assert """trap 'kill -TERM "$trainer"' TERM""" in commands
    assert '[ "$status" -eq 0 ] || exit "$status"' in commands
    assert [c["name"] for c in pod.spec["initContainers"]] == ["data"]


def test_the_trainjob_runs_torchrun_on_every_node_of_the_torch_runtime(
    build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    project = rendered_variant(build.variant)
    job = build.one("TrainJob")
    assert job["apiVersion"] == "trainer.kubeflow.org/v1alpha1"
    spec = job["spec"]
    assert spec["runtimeRef"] == {
        "apiGroup": "trainer.kubeflow.org",
        "kind": "ClusterTrainingRuntime",
        "name": "torch-distributed",
    }
    trainer = spec["trainer"]
    assert trainer["numNodes"] >= 2, "multi-node: the one-node case is the Job's"
    assert trainer["numProcPerNode"] >= 1
    assert spec["activeDeadlineSeconds"] > 0
    (job_pod,) = [pod for pod in build.pod_templates() if pod.kind == "Job"]
    (pod,) = [pod for pod in build.pod_templates() if pod.kind == "TrainJob"]
    (container,) = pod.spec["containers"]
    assert container["image"] == job_pod.container("train")["image"]
    assert "initContainers" not in pod.spec, "a runtime patch cannot add an init container"
    executable, *words = shlex.split(_trainer(container))
    assert executable == "torchrun"
    # The torch plugin's variables (PET_*), which torchrun would also read by itself.
    assert argument_value(words, "--nnodes") == "$PET_NNODES"
    assert argument_value(words, "--nproc-per-node") == "$PET_NPROC_PER_NODE"
    assert argument_value(words, "--node-rank") == "$PET_NODE_RANK"
    assert argument_value(words, "--rdzv-backend") == "static"
    assert argument_value(words, "--master-addr") == "$PET_MASTER_ADDR"
    assert argument_value(words, "--master-port") == "$PET_MASTER_PORT"
    # The run id model.json records: the TrainJob's name, from the label its JobSet's pods carry.
    (run_id,) = re.findall(r"^\$(\w+)$", argument_value(words, "--rdzv-id"))
    (variable,) = [v for v in container["env"] if v["name"] == run_id]
    assert variable["valueFrom"]["fieldRef"]["fieldPath"] == (
        "metadata.labels['jobset.sigs.k8s.io/jobset-name']"
    )
    module = words.index("--module")
    assert " ".join(words[module + 1 :]) == _stage_command(project, "train")
    checkpoints = _mounted_claim(build, pod, container, f"/workspace/{CHECKPOINTS}")
    assert checkpoints["spec"]["accessModes"] == ["ReadWriteMany"], "every rank reads them"
    assert pod.spec["terminationGracePeriodSeconds"] >= 60
    # Only node rank 0 (where global rank 0 writes the model) publishes.
    commands = _training_commands(pod)
    publish = commands.index("dvc commit --force train")
    assert '[ "$PET_NODE_RANK" = 0 ] || exit 0' in commands[:publish]
    # The data step stops the pod on a failure (set -e); the trainer's wait must not.
    assert script_commands(container)[:2] == ["cd /workspace", "set -eu"]


def _data_commands(pod: PodTemplate) -> list[str]:
    """The data step: the Job's `data` init container; the head of a TrainJob's one script."""
    if pod.kind == "Job":
        return script_commands(pod.container("data"))
    commands = script_commands(pod.container(TRAINJOB_NODE))
    return commands[1 : commands.index("set +e")]


def _training_commands(pod: PodTemplate) -> list[str]:
    """The training step: the Job's `train` container; the rest of a TrainJob's script."""
    if pod.kind == "Job":
        return script_commands(pod.container("train"))
    commands = script_commands(pod.container(TRAINJOB_NODE))
    return commands[commands.index("set +e") + 1 :]


def test_training_data_is_the_commits_and_the_model_goes_back_to_the_remote(
    build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    """file/sql: `dvc pull` of what the image's dvc.lock records for `prepare`; synthetic:
    `sample` and `prepare` in the pod, checked against dvc.lock. Then the run-cache is pushed."""
    answers = read_answers(rendered_variant(build.variant))
    package = answers["package_name"]
    synthetic = answers["data_source"] == "synthetic"
    for pod in _training_pods(build):
        data = _data_commands(pod)
        assert data[:3] == ["set -eu", "cp -R /app/. .", "dvc config --local core.no_scm true"]
        if synthetic:
            assert data[3:] == [
                f"python -m {package} sample",
                f"python -m {package} prepare --raw data/raw/dataset.parquet",
                "dvc commit --force sample prepare",
                "cmp -s dvc.lock /app/dvc.lock || { diff /app/dvc.lock dvc.lock; exit 1; }",
            ], pod.owner
        else:
            assert data[3:] == ["dvc pull prepare"], pod.owner
        commands = _training_commands(pod)
        publish = commands[commands.index("set -e") + 1 :]
        pushed = f"{'sample prepare ' if synthetic else ''}train published/train_loss.csv.dvc"
        assert publish[0] == "dvc commit --force train", pod.owner
        assert f"dvc push --run-cache {pushed}" in publish, pod.owner
        assert any(command.startswith("md5sum models/") for command in publish), "hashes logged"


def test_the_workspace_is_writable_and_the_root_filesystem_read_only(build: Build) -> None:
    for pod in _training_pods(build):
        for container in pod.containers:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, pod.owner
            workspace = _mounted(pod, container, container.get("workingDir", "/workspace"))
            assert "emptyDir" in workspace and not workspace["readOnly"], pod.owner


def test_training_pods_reach_the_remote_as_its_kind_needs(
    build: Build, rendered_variant: Callable[[str], Path]
) -> None:
    """A volume claim at the directory remote's path, or the `dvc-remote-credentials` Secret:
    a file the SDK is pointed at (s3, gcs), or the environment (azure). Never a value."""
    answers = read_answers(rendered_variant(build.variant))
    kind = answers["dvc_remote"]
    files = {"s3": "AWS_SHARED_CREDENTIALS_FILE", "gcs": "GOOGLE_APPLICATION_CREDENTIALS"}
    for pod in _training_pods(build):
        for container in pod.containers:
            where = f"{pod.owner} {container['name']}"
            variables = {item["name"]: item for item in container.get("env", [])}
            azure_variable = "AZURE_STORAGE_CONNECTION_STRING"
            assert set(variables) <= {"JOB_NAME", azure_variable, *files.values()}, where
            if kind == "local":
                claim = _mounted_claim(build, pod, container, answers["dvc_remote_url"])
                assert claim["metadata"]["name"].endswith("-dvc-remote"), where
                assert claim["spec"]["accessModes"] == ["ReadWriteMany"], "every node, at once"
            elif kind in files:
                path = PurePosixPath(variables[files[kind]]["value"])
                volume = _mounted(pod, container, str(path.parent))
                assert volume["readOnly"], where
                assert volume["secret"]["secretName"] == "dvc-remote-credentials", where
                assert volume["secret"]["optional"] is False, where
            elif pod.kind == "TrainJob":  # a trainer has `env`, no `envFrom`
                assert variables[azure_variable]["valueFrom"] == {
                    "secretKeyRef": {"name": "dvc-remote-credentials", "key": azure_variable}
                }, where
            else:
                assert container["envFrom"] == [
                    {"secretRef": {"name": "dvc-remote-credentials", "optional": False}}
                ], where
            if kind != "azure":
                assert "envFrom" not in container, where


def test_the_readme_names_the_secret_of_the_remote_kind(
    rendered_variant: Callable[[str], Path],
) -> None:
    keys = {
        "local": "dvc-remote",
        "s3": "--from-file=credentials=",
        "gcs": "--from-file=credentials.json=",
        "azure": "--from-literal=AZURE_STORAGE_CONNECTION_STRING=",
    }
    for variant in KUBERNETES_VARIANTS:
        project = rendered_variant(variant)
        readme = (project / "deploy" / "k8s" / "README.md").read_text(encoding="utf-8")
        assert keys[read_answers(project)["dvc_remote"]] in readme, variant
        assert "dvc repro --pull train" in readme, variant


def test_training_egress_stays_open_for_the_remote(build: Build) -> None:
    """Pulls and pushes reach the remote (HTTPS, DNS, token endpoints): no egress rules."""
    (policy,) = [
        p for p in build.of_kind("NetworkPolicy") if p["metadata"]["name"].endswith("-training")
    ]
    assert policy["spec"]["policyTypes"] == ["Ingress"]


# --- The prometheus-rule command of a generated project ----------------------------------------


@pytest.mark.slow
def test_the_prometheus_rule_command_checks_and_rebuilds(
    generated_project: Callable[[str], Path], tmp_path: Path
) -> None:
    """Run by the generated project's interpreter: its shipped file is what the command builds;
    an edited copy of the rules makes the check fail (exit 1) until it is rebuilt."""
    project = generated_project("defaults")
    command = [
        str(project / ".venv" / "bin" / "python"),
        "-m",
        _package(project),
        "prometheus-rule",
    ]

    def prometheus_rule(*arguments: str) -> subprocess.CompletedProcess[str]:
        return run_command([*command, *arguments], project)

    shipped_bytes = (project / "deploy/k8s/base/prometheus-rule.yaml").read_bytes()
    shipped = prometheus_rule("--check")
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
    rules, resource = tmp_path / "rules.yml", tmp_path / "prometheus-rule.yaml"
    shutil.copyfile(project / "monitoring/prometheus/rules.yml", rules)
    shutil.copyfile(project / "deploy/k8s/base/prometheus-rule.yaml", resource)
    paths = ("--rules", str(rules), "--output", str(resource))
    document = yaml.safe_load(rules.read_text(encoding="utf-8"))
    document["groups"][0]["rules"][0]["for"] = "30m"
    rules.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    stale = prometheus_rule("--check", *paths)
    assert stale.returncode == 1, stale.stdout + stale.stderr
    assert "stale" in stale.stderr and "prometheus-rule" in stale.stderr
    assert prometheus_rule(*paths).returncode == 0
    assert prometheus_rule("--check", *paths).returncode == 0
    rebuilt = yaml.safe_load(resource.read_text(encoding="utf-8"))
    assert rebuilt["spec"]["groups"][0]["rules"][0]["for"] == "30m"
    assert (project / "deploy/k8s/base/prometheus-rule.yaml").read_bytes() == shipped_bytes


# --- The manifests' commands, run on this machine by the generated project ----------------------


def _small_params(project: Path, destination: Path) -> Path:
    """The project's params.yaml, shortened: a few seconds of training, checkpoints on the way."""
    document = yaml.safe_load((project / "params.yaml").read_text(encoding="utf-8"))
    document["sample"]["rows"] = 1000
    document["train"].update(epochs=1, device="cpu", checkpoint_every_steps=4)
    document["golden"]["rows"] = 20
    destination.write_text(yaml.safe_dump(document), encoding="utf-8")
    return destination


def _run_container(
    project: Path, container: dict[str, Any], paths: dict[str, Path], env: dict[str, str]
) -> None:
    command = local_command(container, project / ".venv" / "bin", paths, env)
    completed = run_command(command, project, timeout=600)
    assert completed.returncode == 0, f"{command}\n{completed.stdout}\n{completed.stderr}"


@dataclass(frozen=True)
class Cluster:
    """A commit of the generated project that the cluster trains, as a training image holds it."""

    project: Path  # the generated project: its environment stands in for the image's venv
    commit: Path  # a clone at the image's commit: small params, data pushed, no model yet
    remote: Path
    root: Path

    def dvc(self, cwd: Path, *arguments: str, path: str | None = None) -> str:
        environment = {"PATH": path} if path else {}
        command: list[str | Path] = [self.project / ".venv" / "bin" / "dvc", *arguments]
        completed = run_command(command, cwd, environment=environment, timeout=600)
        output = completed.stdout + completed.stderr
        assert completed.returncode == 0, f"dvc {' '.join(arguments)}\n{output}"
        return output

    def image(self, name: str, remote: Path) -> tuple[Path, dict[str, str]]:
        """The training target's /app (its remote at REMOTE) and its pods' environment."""
        app = self.root / name / "app"
        stages = read_dockerfile(self.commit / "Dockerfile")
        training_image_files(self.commit, stages, app)
        # The remote's volume claim, mounted here at another path: this machine's setting.
        (app / ".dvc" / "config.local").write_text(
            f"['remote \"storage\"']\n    url = {remote}\n", encoding="utf-8"
        )
        (training,) = [stage for stage in stages if stage.name == "training"]
        tmp = self.root / name / "tmp"
        tmp.mkdir(parents=True)
        venv = self.project / ".venv" / "bin"
        return app, pod_environment(training.environment(), venv, app, tmp)

    def pod(self, name: str, pod: PodTemplate, remote: Path, env: dict[str, str]) -> Path:
        """Run POD's containers, in order, in a fresh workspace; return the workspace."""
        app, environment = self.image(name, remote)
        workspace = self.root / name / "workspace"
        (workspace / CHECKPOINTS).mkdir(parents=True)  # the claim's mount point
        for container in pod.containers:
            completed = run_pod_script(container, workspace, app, environment, env)
            output = completed.stdout + completed.stderr
            (self.root / name / f"{container['name']}.log").write_text(output, encoding="utf-8")
            assert completed.returncode == 0, f"{container['name']}:\n{output}"
        return workspace


@pytest.fixture(scope="module")
def cluster(
    generated_project: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory
) -> Cluster:
    """The default project (synthetic data, a directory remote), committed with small params
    after `dvc repro prepare` and `dvc push`: the data is on the remote, no model anywhere."""
    project = generated_project("defaults")
    root = tmp_path_factory.mktemp("cluster")
    commit, remote = root / "commit", root / "remote"
    git("clone", "--quiet", str(project), str(commit), cwd=root)
    found = Cluster(project, commit, remote, root)
    found.dvc(commit, "remote", "modify", "--local", "storage", "url", str(remote))
    _small_params(project, commit / "params.yaml")
    path = f"{project / '.venv' / 'bin'}:/usr/bin:/bin"
    found.dvc(commit, "repro", "prepare", path=path)
    found.dvc(commit, "push")
    git("add", "--all", cwd=commit)
    git("commit", "--quiet", "-m", "Small params; the data of this commit", cwd=commit)
    return found


@pytest.fixture(scope="module")
def job_run(cluster: Cluster, built: Callable[[str, str], Build]) -> Path:
    """The training Job's containers (`data`, then `train`), their scripts as the manifest
    words them, on the image's files of the commit; returns the pod's workspace."""
    (pod,) = [pod for pod in built("defaults", "base").pod_templates() if pod.kind == "Job"]
    return cluster.pod("job", pod, cluster.remote, {})


def _logged_hashes(log: str) -> dict[str, str]:
    """The `md5sum` lines a training pod logs: path -> md5."""
    return {path: md5 for md5, path in re.findall(r"^([0-9a-f]{32})  (\S+)$", log, re.M)}


@pytest.mark.slow
def test_the_training_job_trains_on_the_commits_data_and_pushes_the_run(
    cluster: Cluster, job_run: Path
) -> None:
    for name in ("model.safetensors", "model.json", "drift_reference.parquet"):
        assert (job_run / "models" / name).is_file(), name
    assert list((job_run / CHECKPOINTS).rglob("step-*.safetensors")), "no checkpoint written"
    for name in ("train.parquet", "validation.parquet", "test.parquet"):
        made = (job_run / "data" / "processed" / name).read_bytes()
        assert made == (cluster.commit / "data" / "processed" / name).read_bytes(), name
    hashes = _logged_hashes((cluster.root / "job" / "train.log").read_text(encoding="utf-8"))
    assert set(hashes) == {
        f"models/{n}" for n in ("model.safetensors", "model.json", "drift_reference.parquet")
    }
    for path, md5 in hashes.items():
        stored = cluster.remote / "files" / "md5" / md5[:2] / md5[2:]
        assert stored.read_bytes() == (job_run / path).read_bytes(), path
    assert list((cluster.remote / "runs").rglob("*")), "no run-cache entry pushed"


@pytest.mark.slow
def test_a_fresh_clone_restores_the_clusters_model_without_training(
    cluster: Cluster, job_run: Path, tmp_path: Path
) -> None:
    """The round trip back to git: `dvc repro --pull train` in a clone of the image's commit
    gets the cluster's run and model from the remote; with no `train` command on PATH, it
    could not have trained. dvc.lock then records the hashes the pod logged."""
    clone = tmp_path / "clone"
    git("clone", "--quiet", str(cluster.commit), str(clone), cwd=tmp_path)
    cluster.dvc(clone, "remote", "modify", "--local", "storage", "url", str(cluster.remote))
    output = cluster.dvc(clone, "repro", "--pull", "train", path="/usr/bin:/bin")
    assert "Stage 'train' is cached - skipping run, checking out outputs" in output, output
    hashes = _logged_hashes((cluster.root / "job" / "train.log").read_text(encoding="utf-8"))
    for path in hashes:
        assert (clone / path).read_bytes() == (job_run / path).read_bytes(), path
    lock = yaml.safe_load((clone / "dvc.lock").read_text(encoding="utf-8"))
    outs = {out["path"]: out["md5"] for out in lock["stages"]["train"]["outs"]}
    assert {path: outs[path] for path in hashes} == hashes
    loss = "reports/plots/train_loss.csv"
    assert (clone / loss).read_bytes() == (job_run / loss).read_bytes()
    assert "dvc.lock" in git("status", "--porcelain", cwd=clone), "a change to commit"


@pytest.mark.slow
def test_the_file_and_sql_data_step_pulls_exactly_the_locked_data(
    cluster: Cluster, built: Callable[[str, str], Build], tmp_path: Path
) -> None:
    """The `data` container of a file/sql project, run on the commit: DVC pulls the outputs of
    `prepare` that dvc.lock records, and nothing runs `sample`."""
    for variant in ("file-s3", "sql-gcs-training-only"):
        (pod,) = [pod for pod in built(variant, "base").pod_templates() if pod.kind == "Job"]
        app, environment = cluster.image(f"data-{variant}", cluster.remote)
        workspace = tmp_path / variant
        workspace.mkdir()
        completed = run_pod_script(pod.container("data"), workspace, app, environment)
        assert completed.returncode == 0, completed.stdout + completed.stderr
        for name in ("train.parquet", "validation.parquet", "test.parquet"):
            pulled = (workspace / "data" / "processed" / name).read_bytes()
            assert pulled == (cluster.commit / "data" / "processed" / name).read_bytes()
        assert not (workspace / "data" / "raw").exists(), "only prepare's outputs are pulled"


@pytest.mark.slow
def test_the_training_script_passes_sigterm_on_and_exits_75(
    cluster: Cluster, built: Callable[[str, str], Build], job_run: Path, tmp_path: Path
) -> None:
    """SIGTERM to the container's shell (PID 1 in the pod) reaches the trainer, which writes a
    checkpoint and exits 75; the shell exits 75 too, and pushes nothing."""
    (pod,) = [pod for pod in built("defaults", "base").pod_templates() if pod.kind == "Job"]
    workspace = tmp_path / "workspace"
    shutil.copytree(job_run, workspace, ignore=shutil.ignore_patterns("models", CHECKPOINTS))
    (workspace / CHECKPOINTS).mkdir()
    params = yaml.safe_load((workspace / "params.yaml").read_text(encoding="utf-8"))
    params["train"].update(min_steps=1_000_000, checkpoint_every_steps=2)  # never done in time
    (workspace / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    app, environment = cluster.image("sigterm", tmp_path / "no-remote")
    script = pod.container("train")["args"][0].replace("/app/", f"{app}/")
    log = tmp_path / "train.log"
    with log.open("wb") as output:
        shell = subprocess.Popen(
            ["/bin/sh", "-c", script], cwd=workspace, env=environment, stdout=output, stderr=output
        )
        try:
            deadline = time.monotonic() + 120
            while not list((workspace / CHECKPOINTS).rglob("step-*.safetensors")):
                assert shell.poll() is None, log.read_text(encoding="utf-8")
                assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
                time.sleep(0.2)
            shell.send_signal(signal.SIGTERM)
            status = shell.wait(timeout=pod.spec["terminationGracePeriodSeconds"])
        finally:
            if shell.poll() is None:
                shell.kill()
                shell.wait()
    assert status == 75, log.read_text(encoding="utf-8")
    assert "Pushed" not in log.read_text(encoding="utf-8")


@pytest.mark.slow
def test_the_trainjob_command_trains_with_two_processes_and_rank_0_pushes(
    cluster: Cluster, built: Callable[[str, str], Build], tmp_path: Path
) -> None:
    """Node 0's container, with the variables the runtime's torch plugin would set for one node
    of two processes (gloo on CPU); its own remote, so that the Job's run stays alone."""
    (node,) = [p for p in built("defaults", "base").pod_templates() if p.kind == "TrainJob"]
    port = str(free_port())
    env = {
        "PET_NNODES": "1",
        "PET_NPROC_PER_NODE": "2",
        "PET_NODE_RANK": "0",
        "PET_MASTER_ADDR": "127.0.0.1",
        "PET_MASTER_PORT": port,
        "JOB_NAME": "train-multinode-under-test",
    }
    remote = tmp_path / "remote"
    workspace = cluster.pod("trainjob", node, remote, env)
    metadata = json.loads((workspace / "models" / "model.json").read_text(encoding="utf-8"))
    assert metadata["training"]["world_size"] == 2
    assert "run_id" not in metadata, "the model is the same whichever run trained it"
    log = (cluster.root / "trainjob" / f"{TRAINJOB_NODE}.log").read_text("utf-8")
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert {e["run_id"] for e in entries if "run_id" in e} == {env["JOB_NAME"]}, "the logs'"
    hashes = _logged_hashes(log)
    assert hashes and all(
        (remote / "files" / "md5" / m[:2] / m[2:]).is_file() for m in hashes.values()
    )


@pytest.mark.slow
def test_the_service_drains_and_exits_within_the_grace_period(
    generated_project: Callable[[str], Path],
    built: Callable[[str, str], Build],
    job_run: Path,
    tmp_path: Path,
) -> None:
    """The Deployment's command serves the model the Job trained; on SIGTERM readiness turns
    503 at once while requests are still served, and the process exits in time."""
    project = generated_project("defaults")
    package = _package(project)
    models = tmp_path / "models"
    shutil.copytree(job_run / "models", models)
    golden = {
        "command": ["python", "-m", package],
        "args": [
            "golden",
            f"--params={job_run / 'params.yaml'}",
            f"--data-directory={job_run / 'data' / 'processed'}",
            f"--model-directory={models}",
            f"--output={models / 'golden.json'}",
        ],
    }
    _run_container(project, golden, {}, {})
    pod = _serving_pod(built("defaults", "base"))
    container = pod.container("server")
    port = free_port()
    command = [
        {"--host=0.0.0.0": "--host=127.0.0.1", "--port=8000": f"--port={port}"}.get(part, part)
        for part in local_command(container, project / ".venv" / "bin", {"/app/models": models}, {})
    ]
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "service.log"
    with log.open("wb") as output:
        service = subprocess.Popen(
            command,
            cwd=project,
            env=child_environment(TMPDIR=str(tmp_path)),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while http_status(f"{base}/health/ready") != 200:
                assert service.poll() is None, log.read_text(encoding="utf-8")
                assert time.monotonic() < deadline, log.read_text(encoding="utf-8")
                time.sleep(0.2)
            stopped_at = time.monotonic()
            service.send_signal(signal.SIGTERM)
            time.sleep(1)
            assert http_status(f"{base}/health/ready") == 503, "readiness must fail at once"
            assert http_status(f"{base}/health/live") == 200, "requests are still served"
            grace = pod.spec["terminationGracePeriodSeconds"]
            pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
            exit_code = service.wait(timeout=grace - pre_stop)
            took = time.monotonic() - stopped_at
        finally:
            if service.poll() is None:
                service.kill()
                service.wait()
    # uvicorn re-raises the SIGTERM it handled once shut down: a clean exit by that signal.
    assert exit_code in {0, -signal.SIGTERM}, log.read_text(encoding="utf-8")
    assert "Application shutdown complete" in log.read_text(encoding="utf-8")
    assert took >= float(argument_value(container["args"], "--drain-seconds")), took
